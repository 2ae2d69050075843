// Package benchtest writes tiny datasets in every format internal/bench
// loads, for tests: Fashion-MNIST idx files (gzipped or not), a Kaggle
// styles.csv with the real file's quirks, a DeepFashion tree, a class-folder
// tree and a path,label CSV. Each writer returns what a loader should find.
package benchtest

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Expect is what loading a written dataset should give.
type Expect struct {
	// Path is what to pass as --data.
	Path string
	// IDs and Labels are the usable items, in dataset order.
	IDs, Labels []string
	// Classes are the candidate classes, in the loader's order.
	Classes []string
	// Skipped are the IDs left out while loading, in order.
	Skipped []string
}

// Colour per class, so that pictures of a class look alike.
func classColor(i int) color.RGBA {
	return color.RGBA{uint8(40 + 53*i%200), uint8(220 - 37*i%180), uint8(90 + 71*i%160), 255}
}

// WriteImage writes a small picture of colour c (with a lighter square in
// the middle) as a JPEG, or a PNG when the name ends in .png.
func WriteImage(t testing.TB, path string, c color.RGBA) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 36, 48))
	for y := range 48 {
		for x := range 36 {
			p := c
			if x > 9 && x < 27 && y > 12 && y < 36 {
				p = color.RGBA{c.R/2 + 120, c.G/2 + 120, c.B/2 + 120, 255}
			}
			img.SetRGBA(x, y, p)
		}
	}
	var buf bytes.Buffer
	var err error
	if strings.EqualFold(filepath.Ext(path), ".png") {
		err = png.Encode(&buf, img)
	} else {
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90})
	}
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, buf.Bytes())
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// IDX encodes an idx file of unsigned bytes.
func IDX(dims []int, data []byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, 0x08, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(data)
	return b.Bytes()
}

// FMNISTLabel is the label FMNIST gives item i: every class appears, in
// an order that is not simply i mod 10.
func FMNISTLabel(i int) int { return (i*7 + i/10) % 10 }

// FMNIST writes a Fashion-MNIST split ("train" or "test") of n 28×28
// images into dir, gzipped or not. Image i has label FMNISTLabel(i) and a
// class-dependent shape.
func FMNIST(t testing.TB, dir, split string, n int, gz bool) Expect {
	t.Helper()
	prefix := "t10k"
	if split == "train" {
		prefix = "train"
	}
	pix := make([]byte, n*28*28)
	labels := make([]byte, n)
	e := Expect{Path: dir, Classes: []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}}
	for i := range n {
		l := FMNISTLabel(i)
		labels[i] = byte(l)
		for y := range 28 {
			for x := range 28 {
				// A bright band whose position and slope depend on the class.
				if (x+l*y/3+2*l)%28 < 6+l {
					pix[i*784+y*28+x] = byte(120 + 13*l)
				}
			}
		}
		e.IDs = append(e.IDs, strconv.Itoa(i))
		e.Labels = append(e.Labels, e.Classes[l])
	}
	for name, data := range map[string][]byte{
		prefix + "-images-idx3-ubyte": IDX([]int{n, 28, 28}, pix),
		prefix + "-labels-idx1-ubyte": IDX([]int{n}, labels),
	} {
		if gz {
			var b bytes.Buffer
			zw := gzip.NewWriter(&b)
			zw.Write(data)
			zw.Close()
			name, data = name+".gz", b.Bytes()
		}
		writeFile(t, filepath.Join(dir, name), data)
	}
	return e
}

// Kaggle writes a Fashion Product Images folder: styles.csv (unquoted, with
// productDisplayName values holding commas) and images/<id>.jpg, with one
// row whose image is missing. The label column is articleType.
func Kaggle(t testing.TB, dir string) Expect {
	t.Helper()
	type row struct {
		id, article, name string
		noImage           bool
	}
	rows := []row{
		{id: "15970", article: "Shirts", name: "Turtle Check Men Navy Blue Shirt"},
		{id: "39386", article: "Jeans", name: "Peter England Men Party Blue Jeans"},
		{id: "59263", article: "Watches", name: "Titan Women Silver Watch"},
		{id: "21379", article: "Tshirts", name: "Puma Men, Grey, T-shirt"}, // two extra commas
		{id: "53759", article: "Tshirts", name: "Inkfruit Mens Chain Reaction T-shirt"},
		{id: "1855", article: "Shirts", name: "Fabindia Men Striped Green Shirt, Slim"},
		{id: "30805", article: "Jeans", name: "Jealous 21 Women Blue Jeans", noImage: true},
		{id: "26960", article: "Heels", name: `Catwalk Women Black 3" Heels, Gold`}, // a bare quote too
		{id: "29114", article: "Shirts", name: "Puma Men Pack of 3 Shirts"},
		{id: "30039", article: "Watches", name: "Skagen Men Black Watch"},
	}
	var b strings.Builder
	b.WriteString("id,gender,masterCategory,subCategory,articleType,baseColour,season,year,usage,productDisplayName\n")
	e := Expect{Path: dir}
	classIndex := map[string]int{}
	for _, r := range rows {
		fmt.Fprintf(&b, "%s,Men,Apparel,Topwear,%s,Blue,Summer,2012,Casual,%s\n", r.id, r.article, r.name)
		if _, ok := classIndex[r.article]; !ok {
			classIndex[r.article] = len(classIndex)
		}
		if r.noImage {
			e.Skipped = append(e.Skipped, r.id)
			continue
		}
		WriteImage(t, filepath.Join(dir, "images", r.id+".jpg"), classColor(classIndex[r.article]))
		e.IDs = append(e.IDs, r.id)
		e.Labels = append(e.Labels, r.article)
	}
	writeFile(t, filepath.Join(dir, "styles.csv"), []byte(b.String()))
	e.Classes = []string{"Heels", "Jeans", "Shirts", "Tshirts", "Watches"}
	return e
}

// DeepFashion writes a Category and Attribute Prediction tree with six
// categories (Cape without any image) and twelve images over the train,
// val and test partitions. The returned Expect is the test partition's.
func DeepFashion(t testing.TB, dir string) Expect {
	t.Helper()
	cats := []struct {
		name string
		typ  int
	}{{"Anorak", 1}, {"Blazer", 1}, {"Jeans", 2}, {"Shorts", 2}, {"Cape", 3}, {"Dress", 3}}
	var cloth strings.Builder
	fmt.Fprintf(&cloth, "%d\ncategory_name  category_type\n", len(cats))
	for _, c := range cats {
		fmt.Fprintf(&cloth, "%-29s%d\n", c.name, c.typ)
	}
	type img struct {
		folder string
		cat    int // 1-based
		part   string
	}
	imgs := []img{
		{"Hooded_Anorak", 1, "train"}, {"Hooded_Anorak", 1, "test"}, {"Wool_Blazer", 2, "test"},
		{"Skinny_Jeans", 3, "val"}, {"Skinny_Jeans", 3, "test"}, {"Denim_Shorts", 4, "train"},
		{"Denim_Shorts", 4, "test"}, {"Floral_Dress", 6, "test"}, {"Floral_Dress", 6, "train"},
		{"Wool_Blazer", 2, "train"}, {"Floral_Dress", 6, "test"}, {"Hooded_Anorak", 1, "test"},
	}
	var list, parts strings.Builder
	fmt.Fprintf(&list, "%d\nimage_name  category_label\n", len(imgs))
	fmt.Fprintf(&parts, "%d\nimage_name  evaluation_status\n", len(imgs))
	e := Expect{Path: dir}
	for i, im := range imgs {
		name := fmt.Sprintf("img/%s/img_%08d.jpg", im.folder, i+1)
		fmt.Fprintf(&list, "%-63s%d\n", name, im.cat)
		fmt.Fprintf(&parts, "%-63s%s\n", name, im.part)
		WriteImage(t, filepath.Join(dir, filepath.FromSlash(name)), classColor(im.cat))
		if im.part == "test" {
			e.IDs = append(e.IDs, name)
			e.Labels = append(e.Labels, cats[im.cat-1].name)
		}
	}
	writeFile(t, filepath.Join(dir, "Anno", "list_category_cloth.txt"), []byte(cloth.String()))
	writeFile(t, filepath.Join(dir, "Anno", "list_category_img.txt"), []byte(list.String()))
	writeFile(t, filepath.Join(dir, "Eval", "list_eval_partition.txt"), []byte(parts.String()))
	e.Classes = []string{"Anorak", "Blazer", "Jeans", "Shorts", "Dress"}
	return e
}

// Folder writes a class-per-folder tree: three classes, one image nested a
// level deeper, and files the loader must ignore (a hidden image, a text
// file, an image directly in the root).
func Folder(t testing.TB, dir string) Expect {
	t.Helper()
	files := []struct{ rel, class string }{
		{"boot/a.jpg", "boot"}, {"boot/b.png", "boot"}, {"boot/winter/c.jpg", "boot"},
		{"dress/d.jpg", "dress"}, {"dress/e.jpg", "dress"},
		{"sneaker/f.jpg", "sneaker"},
	}
	e := Expect{Path: dir, Classes: []string{"boot", "dress", "sneaker"}}
	for i, f := range files {
		WriteImage(t, filepath.Join(dir, filepath.FromSlash(f.rel)), classColor(i/2))
		e.IDs = append(e.IDs, f.rel)
		e.Labels = append(e.Labels, f.class)
	}
	WriteImage(t, filepath.Join(dir, "dress", ".hidden.jpg"), classColor(1))
	WriteImage(t, filepath.Join(dir, "loose.jpg"), classColor(1))
	writeFile(t, filepath.Join(dir, "sneaker", "notes.txt"), []byte("not an image"))
	return e
}

// CSV writes dir/list.csv (path,label with a header) naming images by
// relative and absolute paths, a label holding a quoted comma, and a row
// whose image is missing.
func CSV(t testing.TB, dir string) Expect {
	t.Helper()
	abs := filepath.Join(dir, "elsewhere", "abs.jpg")
	rows := []struct {
		path, label string
		missing     bool
	}{
		{"imgs/1.jpg", "t-shirt, cotton", false},
		{"imgs/2.jpg", "dress", false},
		{"imgs/sub/3.png", "dress", false},
		{"imgs/gone.jpg", "dress", true},
		{abs, "boot", false},
		{"imgs/4.jpg", "t-shirt, cotton", false},
	}
	var b strings.Builder
	b.WriteString("path,label\n")
	e := Expect{Path: filepath.Join(dir, "list.csv"), Classes: []string{"boot", "dress", "t-shirt, cotton"}}
	for i, r := range rows {
		fmt.Fprintf(&b, "%s,%q\n", r.path, r.label)
		if r.missing {
			e.Skipped = append(e.Skipped, r.path)
			continue
		}
		p := r.path
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, filepath.FromSlash(p))
		}
		WriteImage(t, p, classColor(i%3))
		e.IDs = append(e.IDs, r.path)
		e.Labels = append(e.Labels, r.label)
	}
	writeFile(t, e.Path, []byte(b.String()))
	return e
}
