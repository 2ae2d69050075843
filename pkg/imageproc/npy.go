package imageproc

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

var npyMagic = []byte("\x93NUMPY")

// WriteNPY writes data as a little-endian float32 ('<f4') C-order array in
// .npy format version 1.0, loadable with numpy.load. With no shape the array
// is one-dimensional; otherwise the shape's product must equal len(data).
func WriteNPY(w io.Writer, data []float32, shape ...int) error {
	if len(shape) == 0 {
		shape = []int{len(data)}
	}
	total := 1
	dims := make([]string, len(shape))
	for i, d := range shape {
		if d < 0 {
			return fmt.Errorf("npy: negative dimension %d", d)
		}
		total *= d
		dims[i] = strconv.Itoa(d)
	}
	if total != len(data) {
		return fmt.Errorf("npy: shape %v holds %d values, got %d", shape, total, len(data))
	}
	tuple := strings.Join(dims, ", ")
	if len(shape) == 1 {
		tuple += ","
	}
	header := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }", tuple)
	// The magic, version and length take 10 bytes; numpy pads the header
	// with spaces and a final newline to a multiple of 64 bytes.
	pad := 64 - (10+len(header)+1)%64
	if pad == 64 {
		pad = 0
	}
	header += strings.Repeat(" ", pad) + "\n"
	if len(header) > math.MaxUint16 {
		return errors.New("npy: shape too long for format 1.0")
	}
	bw := bufio.NewWriter(w)
	bw.Write(npyMagic)
	bw.Write([]byte{1, 0})
	binary.Write(bw, binary.LittleEndian, uint16(len(header)))
	bw.WriteString(header)
	var buf [4]byte
	for _, v := range data {
		binary.LittleEndian.PutUint32(buf[:], math.Float32bits(v))
		bw.Write(buf[:])
	}
	return bw.Flush()
}

var (
	npyDescrRE   = regexp.MustCompile(`'descr'\s*:\s*'([^']*)'`)
	npyFortranRE = regexp.MustCompile(`'fortran_order'\s*:\s*(True|False)`)
	npyShapeRE   = regexp.MustCompile(`'shape'\s*:\s*\(([^)]*)\)`)
)

// ReadNPY reads a little-endian float32 C-order .npy file (any format
// version) and returns its values and shape.
func ReadNPY(r io.Reader) ([]float32, []int, error) {
	br := bufio.NewReader(r)
	var pre [8]byte
	if _, err := io.ReadFull(br, pre[:]); err != nil {
		return nil, nil, fmt.Errorf("npy: %w", err)
	}
	if !bytes.Equal(pre[:6], npyMagic) {
		return nil, nil, errors.New("npy: not a .npy file")
	}
	var hlen int
	switch pre[6] {
	case 1:
		var n uint16
		if err := binary.Read(br, binary.LittleEndian, &n); err != nil {
			return nil, nil, fmt.Errorf("npy: %w", err)
		}
		hlen = int(n)
	case 2, 3:
		var n uint32
		if err := binary.Read(br, binary.LittleEndian, &n); err != nil {
			return nil, nil, fmt.Errorf("npy: %w", err)
		}
		hlen = int(n)
	default:
		return nil, nil, fmt.Errorf("npy: unknown version %d.%d", pre[6], pre[7])
	}
	if hlen > 1<<20 {
		return nil, nil, errors.New("npy: header too long")
	}
	hb := make([]byte, hlen)
	if _, err := io.ReadFull(br, hb); err != nil {
		return nil, nil, fmt.Errorf("npy: %w", err)
	}
	header := string(hb)
	d := npyDescrRE.FindStringSubmatch(header)
	if d == nil || (d[1] != "<f4" && d[1] != "f4") {
		return nil, nil, fmt.Errorf("npy: only little-endian float32 is supported, header %q", header)
	}
	if f := npyFortranRE.FindStringSubmatch(header); f == nil || f[1] != "False" {
		return nil, nil, errors.New("npy: only C order is supported")
	}
	s := npyShapeRE.FindStringSubmatch(header)
	if s == nil {
		return nil, nil, fmt.Errorf("npy: no shape in header %q", header)
	}
	var shape []int
	total := 1
	for _, f := range strings.Split(s[1], ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 {
			return nil, nil, fmt.Errorf("npy: bad shape %q", s[1])
		}
		shape = append(shape, n)
		total *= n
		if total > 1<<31 {
			return nil, nil, errors.New("npy: array too large")
		}
	}
	raw := make([]byte, 4*total)
	if _, err := io.ReadFull(br, raw); err != nil {
		return nil, nil, fmt.Errorf("npy: data: %w", err)
	}
	out := make([]float32, total)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out, shape, nil
}
