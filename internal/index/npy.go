package index

import (
	"fmt"

	"github.com/fashionclip/fashionclip/pkg/npy"
)

// Chunks are plain .npy files (see pkg/npy); their 64-byte-aligned data can
// be mapped and viewed as []float32 or []uint16 in place.

// npyDescr maps our dtype names to numpy's little-endian type strings.
var npyDescr = map[string]string{DTypeFloat32: npy.Float32, DTypeFloat16: npy.Float16}

// npyHeader returns the bytes that precede rows×dim values of dtype.
func npyHeader(dtype string, rows, dim int) []byte {
	h, err := npy.EncodeHeader(npyDescr[dtype], rows, dim)
	if err != nil {
		panic(err) // rows and dim are never negative here
	}
	return h
}

// npyInfo is what a chunk file's header says.
type npyInfo struct {
	dtype      string
	rows, dim  int
	dataOffset int
}

// parseNpyHeader reads the header at the start of b. Only what we write is
// accepted: a C-ordered 2-D little-endian float32 or float16 array.
func parseNpyHeader(b []byte) (npyInfo, error) {
	var info npyInfo
	h, err := npy.ParseHeader(b)
	if err != nil {
		return info, err
	}
	switch h.Descr {
	case npy.Float32:
		info.dtype = DTypeFloat32
	case npy.Float16:
		info.dtype = DTypeFloat16
	default:
		return info, fmt.Errorf(".npy dtype %q is not float32 or float16", h.Descr)
	}
	if len(h.Shape) != 2 {
		return info, fmt.Errorf(".npy array is not two-dimensional (shape %v)", h.Shape)
	}
	info.rows, info.dim, info.dataOffset = h.Shape[0], h.Shape[1], h.DataOffset
	return info, nil
}
