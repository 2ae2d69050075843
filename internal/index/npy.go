package index

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"regexp"
	"strconv"
)

// The .npy layout (NumPy format version 1.0): the magic "\x93NUMPY", the
// version bytes 1 0, a little-endian uint16 header length, then an ASCII
// Python dict literal padded with spaces and ended by '\n' so that the data
// starts on a 64-byte boundary, as numpy itself writes it. The boundary
// matters to us too: the mapped data can be viewed as []float32 directly.
const (
	npyMagic = "\x93NUMPY"
	npyAlign = 64
)

// npyDescr maps our dtype names to numpy's little-endian type strings.
var npyDescr = map[string]string{DTypeFloat32: "<f4", DTypeFloat16: "<f2"}

// npyHeader returns the bytes that precede rows×dim values of dtype.
func npyHeader(dtype string, rows, dim int) []byte {
	dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%d, %d), }", npyDescr[dtype], rows, dim)
	pre := len(npyMagic) + 2 + 2
	total := pre + len(dict) + 1 // +1 for the final newline
	if r := total % npyAlign; r != 0 {
		total += npyAlign - r
	}
	b := make([]byte, 0, total)
	b = append(b, npyMagic...)
	b = append(b, 1, 0)
	b = binary.LittleEndian.AppendUint16(b, uint16(total-pre))
	b = append(b, dict...)
	for len(b) < total-1 {
		b = append(b, ' ')
	}
	return append(b, '\n')
}

// npyInfo is what a chunk file's header says.
type npyInfo struct {
	dtype      string
	rows, dim  int
	dataOffset int
}

var (
	npyDescrRe = regexp.MustCompile(`'descr'\s*:\s*'([^']*)'`)
	npyOrderRe = regexp.MustCompile(`'fortran_order'\s*:\s*(True|False)`)
	npyShapeRe = regexp.MustCompile(`'shape'\s*:\s*\(\s*(\d+)\s*,\s*(\d+)\s*,?\s*\)`)
)

// parseNpyHeader reads the header at the start of b. Only what we write is
// accepted: a C-ordered 2-D little-endian float32 or float16 array.
func parseNpyHeader(b []byte) (npyInfo, error) {
	var info npyInfo
	if len(b) < 10 || !bytes.Equal(b[:6], []byte(npyMagic)) {
		return info, fmt.Errorf("not a .npy file")
	}
	var hlen, pre int
	switch b[6] {
	case 1:
		hlen, pre = int(binary.LittleEndian.Uint16(b[8:10])), 10
	case 2, 3:
		if len(b) < 12 {
			return info, fmt.Errorf("truncated .npy header")
		}
		hlen, pre = int(binary.LittleEndian.Uint32(b[8:12])), 12
	default:
		return info, fmt.Errorf(".npy format version %d.%d is not supported", b[6], b[7])
	}
	if len(b) < pre+hlen {
		return info, fmt.Errorf("truncated .npy header")
	}
	h := b[pre : pre+hlen]
	m := npyDescrRe.FindSubmatch(h)
	if m == nil {
		return info, fmt.Errorf(".npy header has no descr")
	}
	switch string(m[1]) {
	case "<f4":
		info.dtype = DTypeFloat32
	case "<f2":
		info.dtype = DTypeFloat16
	default:
		return info, fmt.Errorf(".npy dtype %q is not float32 or float16", m[1])
	}
	if o := npyOrderRe.FindSubmatch(h); o == nil || string(o[1]) != "False" {
		return info, fmt.Errorf(".npy array is not in C order")
	}
	s := npyShapeRe.FindSubmatch(h)
	if s == nil {
		return info, fmt.Errorf(".npy array is not two-dimensional")
	}
	var err error
	if info.rows, err = strconv.Atoi(string(s[1])); err != nil {
		return info, err
	}
	if info.dim, err = strconv.Atoi(string(s[2])); err != nil {
		return info, err
	}
	info.dataOffset = pre + hlen
	return info, nil
}
