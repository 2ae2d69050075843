package bench

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// FMNISTClasses are Fashion-MNIST's class names, indexed by label.
var FMNISTClasses = []string{
	"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
	"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
}

// FMNISTFileNames returns the canonical image and label file names of a
// split ("train" or "test"), without the .gz suffix.
func FMNISTFileNames(split string) (images, labels string, err error) {
	prefix := ""
	switch split {
	case "", "test":
		prefix = "t10k"
	case "train":
		prefix = "train"
	default:
		return "", "", fmt.Errorf("fmnist split %q: want train or test", split)
	}
	return prefix + "-images-idx3-ubyte", prefix + "-labels-idx1-ubyte", nil
}

// LoadFMNIST reads a Fashion-MNIST split from dir, holding the canonical idx
// files, gzipped or not. Items carry their pictures as image.Gray; IDs are
// the indexes within the split.
func LoadFMNIST(dir, split string) (*Dataset, error) {
	imgName, lblName, err := FMNISTFileNames(split)
	if err != nil {
		return nil, err
	}
	imgDims, pix, err := readIDXFile(dir, imgName)
	if err != nil {
		return nil, err
	}
	lblDims, labels, err := readIDXFile(dir, lblName)
	if err != nil {
		return nil, err
	}
	if len(imgDims) != 3 {
		return nil, fmt.Errorf("%s: want 3 dimensions (count, rows, columns), got %d", imgName, len(imgDims))
	}
	if len(lblDims) != 1 {
		return nil, fmt.Errorf("%s: want 1 dimension, got %d", lblName, len(lblDims))
	}
	n, rows, cols := imgDims[0], imgDims[1], imgDims[2]
	if lblDims[0] != n {
		return nil, fmt.Errorf("%s has %d images but %s has %d labels", imgName, n, lblName, lblDims[0])
	}
	d := &Dataset{Kind: "fmnist", Classes: append([]string(nil), FMNISTClasses...), Items: make([]Item, n)}
	size := rows * cols
	for i := range n {
		l := int(labels[i])
		if l >= len(FMNISTClasses) {
			return nil, fmt.Errorf("%s: label %d of item %d is out of range 0-9", lblName, l, i)
		}
		// The images share the file's buffer: no copy per item.
		img := &image.Gray{Pix: pix[i*size : (i+1)*size : (i+1)*size], Stride: cols, Rect: image.Rect(0, 0, cols, rows)}
		d.Items[i] = Item{ID: strconv.Itoa(i), Label: FMNISTClasses[l], Image: img}
	}
	return d, nil
}

// readIDXFile opens dir/name, or dir/name.gz when only that exists.
func readIDXFile(dir, name string) ([]int, []byte, error) {
	path := filepath.Join(dir, name)
	fh, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		path += ".gz"
		fh, err = os.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("Fashion-MNIST file %s[.gz] not found in %s (fetch it with `fashionclip data pull fmnist --to %s`)", name, dir, dir)
		}
	}
	if err != nil {
		return nil, nil, err
	}
	defer fh.Close()
	dims, data, err := ReadIDX(fh)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return dims, data, nil
}

// maxIDXBytes bounds what a header may ask us to allocate (the largest
// Fashion-MNIST file holds 47 MB).
const maxIDXBytes = 1 << 31

// ReadIDX reads an idx file of unsigned bytes (the MNIST format), gzipped or
// not: the magic 0x00 0x00 0x08 D, D big-endian uint32 dimensions, then the
// data in row-major order.
func ReadIDX(r io.Reader) (dims []int, data []byte, err error) {
	br := bufio.NewReader(r)
	if head, _ := br.Peek(2); len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, err
		}
		defer zr.Close()
		br = bufio.NewReader(zr)
	}
	var magic [4]byte
	if _, err := io.ReadFull(br, magic[:]); err != nil {
		return nil, nil, fmt.Errorf("not an idx file: %w", err)
	}
	if magic[0] != 0 || magic[1] != 0 {
		return nil, nil, fmt.Errorf("not an idx file (magic %x)", magic)
	}
	if magic[2] != 0x08 {
		return nil, nil, fmt.Errorf("idx element type 0x%02x is not unsigned byte", magic[2])
	}
	nd := int(magic[3])
	if nd == 0 {
		return nil, nil, fmt.Errorf("idx file has no dimensions")
	}
	total := 1
	dims = make([]int, nd)
	for i := range dims {
		var v uint32
		if err := binary.Read(br, binary.BigEndian, &v); err != nil {
			return nil, nil, fmt.Errorf("idx header: %w", err)
		}
		dims[i] = int(v)
		if v == 0 {
			total = 0
		} else if total > maxIDXBytes/int(v) {
			return nil, nil, fmt.Errorf("idx dimensions %v are implausibly large", dims[:i+1])
		}
		total *= int(v)
	}
	data = make([]byte, total)
	if _, err := io.ReadFull(br, data); err != nil {
		return nil, nil, fmt.Errorf("idx data truncated (want %d bytes): %w", total, err)
	}
	return dims, data, nil
}
