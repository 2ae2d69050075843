package npy

import (
	"bytes"
	"encoding/binary"
	"math"
	"strings"
	"testing"
)

func TestWriteFloat32Layout(t *testing.T) {
	var b bytes.Buffer
	if err := WriteFloat32(&b, []float32{1, -2.5, 3, 4, 5, 6}, 2, 3); err != nil {
		t.Fatal(err)
	}
	out := b.Bytes()
	if !bytes.HasPrefix(out, []byte("\x93NUMPY\x01\x00")) {
		t.Fatalf("bad magic %q", out[:8])
	}
	hlen := int(binary.LittleEndian.Uint16(out[8:]))
	header := string(out[10 : 10+hlen])
	if (10+hlen)%64 != 0 || !strings.HasSuffix(header, "\n") {
		t.Errorf("header not padded to 64 bytes with a final newline: %q", header)
	}
	if want := "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"; strings.TrimRight(header, " \n") != want {
		t.Errorf("header %q, want %q", header, want)
	}
	data := out[10+hlen:]
	if len(data) != 24 || math.Float32frombits(binary.LittleEndian.Uint32(data[4:])) != -2.5 {
		t.Errorf("data %v", data)
	}
}

func TestNPYRoundTrip(t *testing.T) {
	tests := []struct {
		data  []float32
		shape []int
		tuple string
	}{
		{[]float32{1, 2, 3}, nil, "(3,)"},
		{make([]float32, 3*224*224), []int{3, 224, 224}, "(3, 224, 224)"},
		{[]float32{float32(math.Inf(-1)), 0, float32(math.SmallestNonzeroFloat32)}, []int{1, 3}, "(1, 3)"},
		{nil, []int{0, 5}, "(0, 5)"},
	}
	for _, tc := range tests {
		var b bytes.Buffer
		if err := WriteFloat32(&b, tc.data, tc.shape...); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), "'shape': "+tc.tuple) {
			t.Errorf("shape tuple %s missing from %q", tc.tuple, b.String()[:60])
		}
		got, shape, err := ReadFloat32(&b)
		if err != nil {
			t.Fatal(err)
		}
		want := tc.shape
		if want == nil {
			want = []int{len(tc.data)}
		}
		if len(got) != len(tc.data) || len(shape) != len(want) {
			t.Fatalf("got %d values shape %v", len(got), shape)
		}
		for i := range want {
			if shape[i] != want[i] {
				t.Errorf("shape %v, want %v", shape, want)
			}
		}
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(tc.data[i]) {
				t.Errorf("value %d: %g, want %g", i, got[i], tc.data[i])
			}
		}
	}
}

func TestNPYErrors(t *testing.T) {
	if err := WriteFloat32(&bytes.Buffer{}, []float32{1, 2}, 3); err == nil {
		t.Error("shape mismatch accepted")
	}
	header := func(h string) []byte {
		b := []byte("\x93NUMPY\x01\x00\x00\x00")
		binary.LittleEndian.PutUint16(b[8:], uint16(len(h)))
		return append(b, h...)
	}
	tests := map[string][]byte{
		"magic":    []byte("NUMPY!\x01\x00"),
		"float64":  header("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }\n"),
		"fortran":  header("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }\n"),
		"short":    append(header("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }\n"), 0, 0, 0, 0),
		"no shape": header("{'descr': '<f4', 'fortran_order': False}\n"),
		"version":  []byte("\x93NUMPY\x09\x00\x00\x00"),
	}
	for name, data := range tests {
		if _, _, err := ReadFloat32(bytes.NewReader(data)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// Issue 13: absurd or negative shapes are errors, never an allocation of
// what the header claims.
func TestHostileHeaders(t *testing.T) {
	tests := []struct {
		name, tuple, want string
	}{
		{"negative", "-1, 3", "bad shape"},
		{"negative length", "3, -5", "bad shape"},
		{"absurd", "1099511627777,", "more than"},
		{"wraps around", "4294967296, 4294967296", "more than"},
		{"not a number", "1e9,", "bad shape"},
		{"too many dims", strings.Repeat("1, ", 65), "dimensions"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := hostileHeader(tc.tuple)
			if _, err := ParseHeader(b); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseHeader: %v, want %q", err, tc.want)
			}
			if _, _, err := ReadFloat32(bytes.NewReader(b)); err == nil {
				t.Fatal("ReadFloat32 accepted it")
			}
		})
	}
	// A legal but large shape with no data behind it: the reader fails on
	// the missing data without allocating 8 GB first.
	_, _, err := ReadFloat32(bytes.NewReader(hostileHeader("2147483648,")))
	if err == nil || !strings.Contains(err.Error(), "data ends after 0 of 2147483648 values") {
		t.Fatalf("got %v", err)
	}
}
