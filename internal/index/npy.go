package index

import (
	"fmt"
	"io"
	"path/filepath"

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

// checkChunk checks a chunk's header (at the start of head) against the
// manifest and the file's size.
func checkChunk(head []byte, size int64, man *Manifest, p Pair) (npyInfo, error) {
	info, err := parseNpyHeader(head)
	if err != nil {
		return info, err
	}
	switch {
	case info.dtype != man.DType:
		return info, fmt.Errorf("holds %s, the manifest says %s", info.dtype, man.DType)
	case info.dim != man.Dim:
		return info, fmt.Errorf("has %d dimensions, the manifest says %d", info.dim, man.Dim)
	case info.rows != p.Rows:
		return info, fmt.Errorf("has %d rows, the manifest says %d", info.rows, p.Rows)
	case info.dataOffset%4 != 0:
		return info, fmt.Errorf("data is not aligned")
	}
	// rows ≤ maxChunkRows and dim ≤ maxDim: the product cannot overflow.
	if want := int64(info.dataOffset) + int64(info.rows)*int64(info.dim)*int64(man.elemSize()); size != want {
		return info, fmt.Errorf("is %d bytes, its header says %d (truncated or damaged)", size, want)
	}
	return info, nil
}

// maxChunkHeader bounds what is read to find a chunk's header (np.save
// writes 128 bytes for a 2-D array).
const maxChunkHeader = 64 << 10

// statChunk checks the chunk file of p in dir without reading its data.
func statChunk(dir string, man *Manifest, p Pair) error {
	path := filepath.Join(dir, p.Chunk)
	f, st, err := openRegular(path)
	if err != nil {
		return &CorruptError{File: path, Err: withoutPath(err)}
	}
	defer f.Close()
	head := make([]byte, min(st.Size(), maxChunkHeader))
	if _, err := io.ReadFull(f, head); err != nil {
		return &CorruptError{File: path, Err: err}
	}
	if _, err := checkChunk(head, st.Size(), man, p); err != nil {
		return &CorruptError{File: path, Err: err}
	}
	return nil
}
