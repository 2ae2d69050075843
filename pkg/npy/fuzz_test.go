package npy

import (
	"bytes"
	"testing"

	"github.com/fashionclip/fashionclip/internal/fuzzseed"
)

// npySeeds are well-formed files and the hostile headers of issue 13.
func npySeeds(t testing.TB) map[string][]byte {
	var ok bytes.Buffer
	if err := WriteFloat32(&ok, []float32{1, 2, 3, 4, 5, 6}, 2, 3); err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{
		"valid":       ok.Bytes(),
		"scalar":      hostileHeader("()"),
		"negative":    hostileHeader("-1, 3"),
		"huge":        hostileHeader("1099511627777,"),
		"wraps":       hostileHeader("4294967296, 4294967296"),
		"v2":          append([]byte("\x93NUMPY\x02\x00\x10\x00\x00\x00"), []byte("{'descr': '<f4',")...),
		"big hlen v3": []byte("\x93NUMPY\x03\x00\xff\xff\xff\x7f{"),
	}
}

// hostileHeader is a version 1.0 float32 header with the given shape tuple
// and no data.
func hostileHeader(tuple string) []byte {
	dict := "{'descr': '<f4', 'fortran_order': False, 'shape': (" + tuple + "), }\n"
	b := []byte("\x93NUMPY\x01\x00")
	b = append(b, byte(len(dict)), byte(len(dict)>>8))
	return append(b, dict...)
}

func TestWriteFuzzSeeds(t *testing.T) {
	fuzzseed.SkipUnlessWriting(t)
	for name, b := range npySeeds(t) {
		if err := fuzzseed.Write("testdata/fuzz", "FuzzReadFloat32", name, b); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzReadFloat32 feeds arbitrary bytes to both readers: they may refuse,
// never panic, and what they accept must agree with itself.
func FuzzReadFloat32(f *testing.F) {
	for _, b := range npySeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, herr := ParseHeader(b)
		if herr == nil {
			if h.Len() < 0 || h.Len() > MaxValues || h.DataOffset > len(b) {
				t.Fatalf("header %+v accepted", h)
			}
		}
		vals, shape, err := ReadFloat32(bytes.NewReader(b))
		if err != nil {
			return
		}
		if n := (Header{Shape: shape}).Len(); n != len(vals) {
			t.Fatalf("shape %v holds %d values, read %d", shape, n, len(vals))
		}
	})
}
