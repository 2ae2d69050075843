// Package npy reads and writes NumPy's .npy files: the preprocessed tensors
// of `fashionclip preprocess` and the embedding chunks of an index.
//
// Layout (format 1.0, as numpy writes it): the magic "\x93NUMPY", the version
// bytes, a little-endian header length (uint16; uint32 from version 2), then
// a Python dict literal padded with spaces and a final '\n' so the data
// starts on a 64-byte boundary — which also lets mapped data be viewed as
// []float32 in place.
package npy

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
)

const (
	magic = "\x93NUMPY"
	align = 64
	// maxHeader bounds the header dict: numpy writes a few hundred bytes.
	maxHeader = 1 << 20
	// maxDims is numpy 2's NPY_MAXDIMS.
	maxDims = 64
)

// MaxValues is the most values a header may declare (2^40): any larger shape
// is refused as absurd before anything is allocated.
const MaxValues = 1 << 40

// Little-endian type strings for the dtypes we use.
const (
	Float32 = "<f4"
	Float16 = "<f2"
)

// Header is what precedes a .npy file's data.
type Header struct {
	Descr      string // numpy type string, e.g. "<f4"
	Shape      []int
	DataOffset int // bytes from the start of the file to the data
}

// Len is the number of values the shape holds.
func (h Header) Len() int {
	n := 1
	for _, d := range h.Shape {
		n *= d
	}
	return n
}

// EncodeHeader returns the bytes that precede C-ordered data of the given
// type and shape.
func EncodeHeader(descr string, shape ...int) ([]byte, error) {
	dims := make([]string, len(shape))
	for i, d := range shape {
		if d < 0 {
			return nil, fmt.Errorf("npy: negative dimension %d", d)
		}
		dims[i] = strconv.Itoa(d)
	}
	tuple := strings.Join(dims, ", ")
	if len(shape) == 1 {
		tuple += "," // a one-element Python tuple
	}
	dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, tuple)
	const pre = len(magic) + 2 + 2
	total := pre + len(dict) + 1 // +1 for the final newline
	if r := total % align; r != 0 {
		total += align - r
	}
	if total-pre > math.MaxUint16 {
		return nil, errors.New("npy: shape too long for format 1.0")
	}
	b := make([]byte, 0, total)
	b = append(b, magic...)
	b = append(b, 1, 0)
	b = binary.LittleEndian.AppendUint16(b, uint16(total-pre))
	b = append(b, dict...)
	for len(b) < total-1 {
		b = append(b, ' ')
	}
	return append(b, '\n'), nil
}

var (
	descrRe = regexp.MustCompile(`'descr'\s*:\s*'([^']*)'`)
	orderRe = regexp.MustCompile(`'fortran_order'\s*:\s*(True|False)`)
	shapeRe = regexp.MustCompile(`'shape'\s*:\s*\(([^)]*)\)`)
)

// prefixLen tells how many bytes of b are the magic, version and header length,
// and the header's length.
func prefixLen(b []byte) (pre, hlen int, err error) {
	if len(b) < 10 || !bytes.Equal(b[:6], []byte(magic)) {
		return 0, 0, errors.New("npy: not a .npy file")
	}
	switch b[6] {
	case 1:
		return 10, int(binary.LittleEndian.Uint16(b[8:10])), nil
	case 2, 3:
		if len(b) < 12 {
			return 0, 0, errors.New("npy: truncated header")
		}
		return 12, int(binary.LittleEndian.Uint32(b[8:12])), nil
	}
	return 0, 0, fmt.Errorf("npy: format version %d.%d is not supported", b[6], b[7])
}

// ParseHeader reads the header at the start of b (a whole file or at least
// its header). Only C-ordered arrays are accepted.
func ParseHeader(b []byte) (Header, error) {
	var h Header
	pre, hlen, err := prefixLen(b)
	if err != nil {
		return h, err
	}
	if hlen > maxHeader || len(b) < pre+hlen {
		return h, errors.New("npy: truncated or oversized header")
	}
	dict := string(b[pre : pre+hlen])
	d := descrRe.FindStringSubmatch(dict)
	if d == nil {
		return h, fmt.Errorf("npy: no descr in header %q", dict)
	}
	h.Descr = d[1]
	if o := orderRe.FindStringSubmatch(dict); o == nil || o[1] != "False" {
		return h, errors.New("npy: array is not in C order")
	}
	s := shapeRe.FindStringSubmatch(dict)
	if s == nil {
		return h, fmt.Errorf("npy: no shape in header %q", dict)
	}
	total := 1
	for _, f := range strings.Split(s[1], ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 {
			return h, fmt.Errorf("npy: bad shape %q", s[1])
		}
		if len(h.Shape) == maxDims {
			return h, fmt.Errorf("npy: shape has more than %d dimensions", maxDims)
		}
		// Checked before multiplying: a product may not wrap around.
		if n > 0 && total > MaxValues/n {
			return h, fmt.Errorf("npy: shape %v holds more than %d values", strings.TrimSpace(s[1]), MaxValues)
		}
		total *= n
		h.Shape = append(h.Shape, n)
	}
	h.DataOffset = pre + hlen
	return h, nil
}

// WriteFloat32 writes data as a little-endian float32 C-order array that
// numpy.load reads. With no shape the array is one-dimensional; otherwise the
// shape's product must equal len(data).
func WriteFloat32(w io.Writer, data []float32, shape ...int) error {
	if len(shape) == 0 {
		shape = []int{len(data)}
	}
	header, err := EncodeHeader(Float32, shape...)
	if err != nil {
		return err
	}
	if n := (Header{Shape: shape}).Len(); n != len(data) {
		return fmt.Errorf("npy: shape %v holds %d values, got %d", shape, n, len(data))
	}
	bw := bufio.NewWriter(w)
	bw.Write(header)
	var buf [4]byte
	for _, v := range data {
		binary.LittleEndian.PutUint32(buf[:], math.Float32bits(v))
		bw.Write(buf[:])
	}
	return bw.Flush()
}

// readChunk is how many values ReadFloat32 reads at a time.
const readChunk = 1 << 20

// ReadFloat32 reads a little-endian float32 C-order .npy file (any format
// version) and returns its values and shape.
func ReadFloat32(r io.Reader) ([]float32, []int, error) {
	br := bufio.NewReader(r)
	prefix, err := br.Peek(12)
	if err != nil && len(prefix) < 10 {
		return nil, nil, fmt.Errorf("npy: %w", err)
	}
	pre, hlen, err := prefixLen(prefix)
	if err != nil {
		return nil, nil, err
	}
	if hlen > maxHeader {
		return nil, nil, errors.New("npy: header too long")
	}
	head := make([]byte, pre+hlen)
	if _, err := io.ReadFull(br, head); err != nil {
		return nil, nil, fmt.Errorf("npy: %w", err)
	}
	h, err := ParseHeader(head)
	if err != nil {
		return nil, nil, err
	}
	if h.Descr != Float32 && h.Descr != "f4" {
		return nil, nil, fmt.Errorf("npy: only little-endian float32 is supported, not %q", h.Descr)
	}
	if h.Len() > 1<<31 {
		return nil, nil, errors.New("npy: array too large")
	}
	// The values are read in bounded pieces and the output grows with what
	// actually arrives, so a short file claiming a huge shape fails after
	// reading what it has, never after allocating what it claims.
	out := make([]float32, 0, min(h.Len(), readChunk))
	raw := make([]byte, 4*min(h.Len(), readChunk))
	for len(out) < h.Len() {
		n := min(h.Len()-len(out), readChunk)
		if _, err := io.ReadFull(br, raw[:4*n]); err != nil {
			return nil, nil, fmt.Errorf("npy: data ends after %d of %d values: %w", len(out), h.Len(), err)
		}
		for i := 0; i < n; i++ {
			out = append(out, math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])))
		}
	}
	return out, h.Shape, nil
}
