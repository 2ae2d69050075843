package bench_test

import (
	"bytes"
	"image"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/fashionclip/fashionclip/internal/bench"
	"github.com/fashionclip/fashionclip/internal/bench/benchtest"
)

func ids(d *bench.Dataset) (ids, labels []string) {
	for _, it := range d.Items {
		ids = append(ids, it.ID)
		labels = append(labels, it.Label)
	}
	return ids, labels
}

func skippedIDs(d *bench.Dataset) []string {
	var out []string
	for _, s := range d.Skipped {
		out = append(out, s.ID)
	}
	return out
}

func TestLoadFormats(t *testing.T) {
	tests := []struct {
		kind  string
		opts  bench.LoadOptions
		write func(t testing.TB, dir string) benchtest.Expect
	}{
		{"fmnist", bench.LoadOptions{}, func(t testing.TB, dir string) benchtest.Expect {
			return benchtest.FMNIST(t, dir, "test", 23, true)
		}},
		{"fmnist", bench.LoadOptions{}, func(t testing.TB, dir string) benchtest.Expect {
			return benchtest.FMNIST(t, dir, "test", 12, false)
		}},
		{"fmnist", bench.LoadOptions{Split: "train"}, func(t testing.TB, dir string) benchtest.Expect {
			benchtest.FMNIST(t, dir, "test", 5, true) // must not be read
			return benchtest.FMNIST(t, dir, "train", 14, false)
		}},
		{"kagl", bench.LoadOptions{}, benchtest.Kaggle},
		{"deepfashion", bench.LoadOptions{}, benchtest.DeepFashion},
		{"folder", bench.LoadOptions{}, benchtest.Folder},
		{"csv", bench.LoadOptions{}, benchtest.CSV},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			want := tt.write(t, t.TempDir())
			d, err := bench.Load(tt.kind, want.Path, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			gotIDs, gotLabels := ids(d)
			if !reflect.DeepEqual(gotIDs, want.IDs) {
				t.Errorf("ids = %q, want %q", gotIDs, want.IDs)
			}
			if !reflect.DeepEqual(gotLabels, want.Labels) {
				t.Errorf("labels = %q, want %q", gotLabels, want.Labels)
			}
			if !reflect.DeepEqual(d.Classes, want.Classes) {
				t.Errorf("classes = %q, want %q", d.Classes, want.Classes)
			}
			if got := skippedIDs(d); !reflect.DeepEqual(got, want.Skipped) {
				t.Errorf("skipped = %q, want %q", got, want.Skipped)
			}
			for _, it := range d.Items {
				if it.Image == nil {
					if _, err := os.Stat(it.Path); err != nil {
						t.Errorf("item %s: %v", it.ID, err)
					}
				}
			}
		})
	}
}

func TestFMNISTPixels(t *testing.T) {
	dir := t.TempDir()
	benchtest.FMNIST(t, dir, "test", 3, true)
	d, err := bench.LoadFMNIST(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	g, ok := d.Items[2].Image.(*image.Gray)
	if !ok || g.Bounds() != image.Rect(0, 0, 28, 28) {
		t.Fatalf("image = %T %v, want 28×28 *image.Gray", d.Items[2].Image, d.Items[2].Image.Bounds())
	}
	// Item 2's label is FMNISTLabel(2); the generator paints 120+13·label.
	l := benchtest.FMNISTLabel(2)
	var maxv uint8
	for _, p := range g.Pix {
		maxv = max(maxv, p)
	}
	if int(maxv) != 120+13*l {
		t.Errorf("brightest pixel %d, want %d", maxv, 120+13*l)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, kind string
		opts       bench.LoadOptions
		setup      func(t *testing.T, dir string) string
		want       string
	}{
		{"unknown kind", "mnist", bench.LoadOptions{}, func(t *testing.T, dir string) string { return dir }, "unknown dataset"},
		{"fmnist missing", "fmnist", bench.LoadOptions{}, func(t *testing.T, dir string) string { return dir }, "data pull fmnist"},
		{"fmnist bad split", "fmnist", bench.LoadOptions{Split: "val"}, func(t *testing.T, dir string) string { return dir }, "want train or test"},
		{"split on folder", "folder", bench.LoadOptions{Split: "test"}, func(t *testing.T, dir string) string { return dir }, "has no splits"},
		{"fmnist count mismatch", "fmnist", bench.LoadOptions{}, func(t *testing.T, dir string) string {
			os.WriteFile(filepath.Join(dir, "t10k-images-idx3-ubyte"), benchtest.IDX([]int{2, 28, 28}, make([]byte, 2*784)), 0o644)
			os.WriteFile(filepath.Join(dir, "t10k-labels-idx1-ubyte"), benchtest.IDX([]int{3}, []byte{1, 2, 3}), 0o644)
			return dir
		}, "has 2 images but"},
		{"fmnist truncated", "fmnist", bench.LoadOptions{}, func(t *testing.T, dir string) string {
			os.WriteFile(filepath.Join(dir, "t10k-images-idx3-ubyte"), benchtest.IDX([]int{2, 28, 28}, make([]byte, 784)), 0o644)
			os.WriteFile(filepath.Join(dir, "t10k-labels-idx1-ubyte"), benchtest.IDX([]int{2}, []byte{1, 2}), 0o644)
			return dir
		}, "truncated"},
		{"fmnist label range", "fmnist", bench.LoadOptions{}, func(t *testing.T, dir string) string {
			os.WriteFile(filepath.Join(dir, "t10k-images-idx3-ubyte"), benchtest.IDX([]int{1, 28, 28}, make([]byte, 784)), 0o644)
			os.WriteFile(filepath.Join(dir, "t10k-labels-idx1-ubyte"), benchtest.IDX([]int{1}, []byte{10}), 0o644)
			return dir
		}, "out of range"},
		{"kagl label column", "kagl", bench.LoadOptions{LabelColumn: "colour"}, func(t *testing.T, dir string) string {
			return benchtest.Kaggle(t, dir).Path
		}, `no column "colour"`},
		{"deepfashion truncated list", "deepfashion", bench.LoadOptions{}, func(t *testing.T, dir string) string {
			benchtest.DeepFashion(t, dir)
			p := filepath.Join(dir, "Eval", "list_eval_partition.txt")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:bytes.LastIndexByte(b[:len(b)-1], '\n')+1], 0o644) // drop the last row
			return dir
		}, "count line says 12 rows"},
		{"folder empty", "folder", bench.LoadOptions{}, func(t *testing.T, dir string) string { return dir }, "no usable example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.setup(t, t.TempDir())
			_, err := bench.Load(tt.kind, path, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestKaggleOptions(t *testing.T) {
	dir := t.TempDir()
	benchtest.Kaggle(t, dir)
	// Naming styles.csv itself works, and another column can be the label.
	d, err := bench.Load("kagl", filepath.Join(dir, "styles.csv"), bench.LoadOptions{LabelColumn: "baseColour"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(d.Classes, []string{"Blue"}) || len(d.Items) != 9 {
		t.Errorf("classes %q, %d items", d.Classes, len(d.Items))
	}
	// productDisplayName as the label shows the extra commas joined back.
	d, err = bench.Load("kagl", dir, bench.LoadOptions{LabelColumn: "productDisplayName"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, it := range d.Items {
		got[it.ID] = it.Label
	}
	for id, want := range map[string]string{"21379": "Puma Men, Grey, T-shirt", "26960": `Catwalk Women Black 3" Heels, Gold`} {
		if got[id] != want {
			t.Errorf("item %s name = %q, want %q", id, got[id], want)
		}
	}
}

func TestDeepFashionSplitsAndLayout(t *testing.T) {
	dir := t.TempDir()
	benchtest.DeepFashion(t, dir)
	tests := []struct {
		split string
		n     int
	}{{"train", 4}, {"val", 1}, {"test", 7}, {"", 7}}
	for _, tt := range tests {
		d, err := bench.LoadDeepFashion(dir, tt.split)
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Items) != tt.n {
			t.Errorf("split %q: %d items, want %d", tt.split, len(d.Items), tt.n)
		}
	}
	// The archive's own layout: Anno_coarse/ and Img/img/.
	if err := os.Rename(filepath.Join(dir, "Anno"), filepath.Join(dir, "Anno_coarse")); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(filepath.Join(dir, "Img"), 0o755)
	if err := os.Rename(filepath.Join(dir, "img"), filepath.Join(dir, "Img", "img")); err != nil {
		t.Fatal(err)
	}
	d, err := bench.LoadDeepFashion(dir, "val")
	if err != nil || len(d.Items) != 1 || len(d.Skipped) != 0 {
		t.Fatalf("archive layout: %v, %+v", err, d)
	}
	// A missing image is skipped, not fatal.
	os.Remove(filepath.Join(dir, "Img", filepath.FromSlash(d.Items[0].ID)))
	if d, err = bench.LoadDeepFashion(dir, "test"); err != nil || len(d.Skipped) != 0 {
		t.Fatalf("test split: %v %+v", err, d.Skipped)
	}
	if _, err = bench.Load("deepfashion", dir, bench.LoadOptions{Split: "val"}); err == nil {
		t.Fatal("val split with its only image gone should have no usable example")
	}
}

func TestMapLabelsAndDropRare(t *testing.T) {
	mk := func() *bench.Dataset {
		d := &bench.Dataset{Classes: []string{"Tshirts", "Tops", "Shirts", "Jeans"}}
		for _, l := range []string{"Tshirts", "Tops", "Shirts", "Shirts", "Jeans", "Tshirts"} {
			d.Items = append(d.Items, bench.Item{ID: l, Label: l})
		}
		return d
	}
	tests := []struct {
		name        string
		m           bench.LabelsMap
		min         int
		classes     []string
		labels      []string
		unused      []string
		dropC, drop int
	}{
		{"no map", nil, 0, []string{"Tshirts", "Tops", "Shirts", "Jeans"},
			[]string{"Tshirts", "Tops", "Shirts", "Shirts", "Jeans", "Tshirts"}, nil, 0, 0},
		{"rename and merge", bench.LabelsMap{"Tshirts": "t-shirt", "Tops": "t-shirt", "Skirts": "skirt"}, 0,
			[]string{"t-shirt", "Shirts", "Jeans"},
			[]string{"t-shirt", "t-shirt", "Shirts", "Shirts", "Jeans", "t-shirt"}, []string{"Skirts"}, 0, 0},
		{"min count after merge", bench.LabelsMap{"Tshirts": "t-shirt", "Tops": "t-shirt"}, 3,
			[]string{"t-shirt"}, []string{"t-shirt", "t-shirt", "t-shirt"}, nil, 2, 3},
		{"min count 2", nil, 2, []string{"Tshirts", "Shirts"},
			[]string{"Tshirts", "Shirts", "Shirts", "Tshirts"}, nil, 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := mk()
			unused := d.MapLabels(tt.m)
			dc, di := d.DropRare(tt.min)
			_, labels := ids(d)
			if !reflect.DeepEqual(d.Classes, tt.classes) || !reflect.DeepEqual(labels, tt.labels) ||
				!reflect.DeepEqual(unused, tt.unused) || dc != tt.dropC || di != tt.drop {
				t.Errorf("classes %q labels %q unused %q dropped %d/%d", d.Classes, labels, unused, dc, di)
			}
		})
	}
}
