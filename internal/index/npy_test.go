package index

import (
	"strings"
	"testing"
)

func TestNpyHeaderRoundTrip(t *testing.T) {
	tests := []struct {
		dtype     string
		rows, dim int
		descr     string
	}{
		{DTypeFloat32, 1, 512, "'<f4'"},
		{DTypeFloat32, 1024, 32, "'<f4'"},
		{DTypeFloat16, 65536, 768, "'<f2'"},
		{DTypeFloat16, 123456789, 1, "'<f2'"},
	}
	for _, tt := range tests {
		h := npyHeader(tt.dtype, tt.rows, tt.dim)
		if len(h)%64 != 0 {
			t.Errorf("%v: header of %d bytes is not 64-aligned", tt, len(h))
		}
		if h[len(h)-1] != '\n' || !strings.Contains(string(h), tt.descr) {
			t.Errorf("%v: header %q", tt, h)
		}
		info, err := parseNpyHeader(h)
		if err != nil {
			t.Fatalf("%v: %v", tt, err)
		}
		if info.dtype != tt.dtype || info.rows != tt.rows || info.dim != tt.dim || info.dataOffset != len(h) {
			t.Errorf("%v: parsed %+v", tt, info)
		}
	}
}

func TestNpyHeaderRejects(t *testing.T) {
	valid := string(npyHeader(DTypeFloat32, 2, 3))
	tests := []struct {
		name, header, want string
	}{
		{"not npy", "PK\x03\x04 zip file....", "not a .npy"},
		{"float64", strings.Replace(valid, "<f4", "<f8", 1), "not float32 or float16"},
		{"big endian", strings.Replace(valid, "<f4", ">f4", 1), "not float32 or float16"},
		{"fortran", strings.Replace(valid, "False", "True ", 1), "not in C order"},
		{"one-dimensional", strings.Replace(valid, "(2, 3)", "(6,)  ", 1), "not two-dimensional"},
		{"truncated", valid[:20], "truncated"},
		{"version 9", valid[:6] + "\x09" + valid[7:], "not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseNpyHeader([]byte(tt.header))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
