package onnxgraph

import (
	"errors"
	"fmt"
	"io"
	"os"

	"google.golang.org/protobuf/encoding/protowire"
)

// maxValueInfoBytes bounds one input or output declaration: real ones are a
// few dozen bytes.
const maxValueInfoBytes = 1 << 20

// ReadFileSignature reads a model file's graph inputs (without initializers)
// and outputs, as Model.Inputs and Model.Outputs give them, touching only
// the bytes that declare them: a 600 MB model costs a few hundred small
// reads, not a parse. Asking ONNX Runtime instead builds a whole session.
func ReadFileSignature(path string) (inputs, outputs []ValueInfo, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	inputs, outputs, err = ReadSignature(f, st.Size())
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return inputs, outputs, nil
}

// ReadSignature is ReadFileSignature over size bytes of r.
func ReadSignature(r io.ReaderAt, size int64) (inputs, outputs []ValueInfo, err error) {
	s := sigReader{r: r}
	var g *Graph
	err = s.fields(0, size, func(num protowire.Number, typ protowire.Type, start, end int64) error {
		if num != 7 || typ != protowire.BytesType {
			return nil
		}
		g = &Graph{} // as in Parse, the last graph field is the graph
		return s.graph(g, start, end)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("onnxgraph: read signature: %w", err)
	}
	if g == nil {
		return nil, nil, errors.New("onnxgraph: read signature: no graph (not an ONNX model?)")
	}
	m := &Model{Graph: g}
	return m.Inputs(), m.Outputs(), nil
}

type sigReader struct {
	r   io.ReaderAt
	buf [2 * binaryVarintLen]byte
}

const binaryVarintLen = 10

// header decodes the tag and, for a length-delimited field, the length at
// off; it returns where the value starts and ends.
func (s *sigReader) header(off, limit int64) (protowire.Number, protowire.Type, int64, int64, error) {
	n, err := s.r.ReadAt(s.buf[:min(int64(len(s.buf)), limit-off)], off)
	if n == 0 && err != nil {
		return 0, 0, 0, 0, err
	}
	b := s.buf[:n]
	num, typ, tl := protowire.ConsumeTag(b)
	if tl < 0 {
		return 0, 0, 0, 0, protowire.ParseError(tl)
	}
	start := off + int64(tl)
	var length int64
	switch typ {
	case protowire.VarintType:
		_, vl := protowire.ConsumeVarint(b[tl:])
		if vl < 0 {
			return 0, 0, 0, 0, protowire.ParseError(vl)
		}
		length = int64(vl)
	case protowire.Fixed32Type:
		length = 4
	case protowire.Fixed64Type:
		length = 8
	case protowire.BytesType:
		v, vl := protowire.ConsumeVarint(b[tl:])
		if vl < 0 {
			return 0, 0, 0, 0, protowire.ParseError(vl)
		}
		if v > uint64(limit) {
			return 0, 0, 0, 0, fmt.Errorf("field %d: length %d past the end", num, v)
		}
		start += int64(vl)
		length = int64(v)
	default:
		// Groups: no ONNX field is one, but a reader must step over them.
		b, err := s.bytes(start, min(limit, start+maxValueInfoBytes))
		if err != nil {
			return 0, 0, 0, 0, fmt.Errorf("field %d: %w", num, err)
		}
		gl := protowire.ConsumeFieldValue(num, typ, b)
		if gl < 0 {
			return 0, 0, 0, 0, fmt.Errorf("field %d: %w", num, protowire.ParseError(gl))
		}
		length = int64(gl)
	}
	end := start + length
	if end > limit {
		return 0, 0, 0, 0, fmt.Errorf("field %d: runs past the end of its message", num)
	}
	return num, typ, start, end, nil
}

// fields calls fn for every field of the message in [off, end).
func (s *sigReader) fields(off, end int64, fn func(num protowire.Number, typ protowire.Type, start, end int64) error) error {
	for off < end {
		num, typ, start, stop, err := s.header(off, end)
		if err != nil {
			return err
		}
		if err := fn(num, typ, start, stop); err != nil {
			return err
		}
		off = stop
	}
	return nil
}

func (s *sigReader) bytes(start, end int64) ([]byte, error) {
	if end-start > maxValueInfoBytes {
		return nil, fmt.Errorf("a declaration of %d bytes", end-start)
	}
	b := make([]byte, end-start)
	if _, err := s.r.ReadAt(b, start); err != nil {
		return nil, err
	}
	return b, nil
}

func (s *sigReader) graph(g *Graph, off, end int64) error {
	return s.fields(off, end, func(num protowire.Number, typ protowire.Type, start, stop int64) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case 5: // initializer: only its name matters here
			t := &Tensor{}
			err := s.fields(start, stop, func(n protowire.Number, ty protowire.Type, a, b int64) error {
				if n != 8 || ty != protowire.BytesType {
					return nil
				}
				name, err := s.bytes(a, b)
				t.Name = string(name)
				return err
			})
			g.Initializers = append(g.Initializers, t)
			return err
		case 11, 12:
			b, err := s.bytes(start, stop)
			if err != nil {
				return err
			}
			v, err := parseValue(b)
			if err != nil {
				return err
			}
			if num == 11 {
				g.Inputs = append(g.Inputs, v)
			} else {
				g.Outputs = append(g.Outputs, v)
			}
		}
		return nil
	})
}
