package onnxgraph

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// field is one decoded protobuf field. raw spans the tag and the value so an
// unknown field can be written back byte for byte.
type field struct {
	num protowire.Number
	typ protowire.Type
	raw []byte
	val []byte // payload of a length-delimited field (a sub-slice of the input)
	u   uint64 // value of a varint or fixed-width field
}

// walk calls fn for every field of a message. Fields fn does not claim are
// collected raw so that the caller can re-emit them unchanged.
func walk(b []byte, fn func(f *field) (known bool, err error)) (unknown []byte, err error) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		f := field{num: num, typ: typ}
		var m int
		switch typ {
		case protowire.VarintType:
			f.u, m = protowire.ConsumeVarint(b[n:])
		case protowire.Fixed32Type:
			var v uint32
			v, m = protowire.ConsumeFixed32(b[n:])
			f.u = uint64(v)
		case protowire.Fixed64Type:
			f.u, m = protowire.ConsumeFixed64(b[n:])
		case protowire.BytesType:
			f.val, m = protowire.ConsumeBytes(b[n:])
		default:
			// Groups and anything newer are never ONNX fields we model.
			m = protowire.ConsumeFieldValue(num, typ, b[n:])
		}
		if m < 0 {
			return nil, fmt.Errorf("field %d: %w", num, protowire.ParseError(m))
		}
		f.raw = b[:n+m]
		b = b[n+m:]
		known, err := fn(&f)
		if err != nil {
			return nil, err
		}
		if !known {
			unknown = append(unknown, f.raw...)
		}
	}
	return unknown, nil
}

// The helpers below accept both the packed and the one-value-per-field
// encodings of repeated scalars, as any conforming protobuf reader must.

func appendVarints(dst []int64, f *field) ([]int64, bool, error) {
	switch f.typ {
	case protowire.VarintType:
		return append(dst, int64(f.u)), true, nil
	case protowire.BytesType:
		b := f.val
		for len(b) > 0 {
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return nil, false, protowire.ParseError(n)
			}
			dst = append(dst, int64(v))
			b = b[n:]
		}
		return dst, true, nil
	}
	return dst, false, nil
}

func appendFloats(dst []float32, f *field) ([]float32, bool, error) {
	switch f.typ {
	case protowire.Fixed32Type:
		return append(dst, math.Float32frombits(uint32(f.u))), true, nil
	case protowire.BytesType:
		if len(f.val)%4 != 0 {
			return nil, false, fmt.Errorf("packed floats: %d bytes", len(f.val))
		}
		for i := 0; i < len(f.val); i += 4 {
			dst = append(dst, math.Float32frombits(binary.LittleEndian.Uint32(f.val[i:])))
		}
		return dst, true, nil
	}
	return dst, false, nil
}

func appendDoubles(dst []float64, f *field) ([]float64, bool, error) {
	switch f.typ {
	case protowire.Fixed64Type:
		return append(dst, math.Float64frombits(f.u)), true, nil
	case protowire.BytesType:
		if len(f.val)%8 != 0 {
			return nil, false, fmt.Errorf("packed doubles: %d bytes", len(f.val))
		}
		for i := 0; i < len(f.val); i += 8 {
			dst = append(dst, math.Float64frombits(binary.LittleEndian.Uint64(f.val[i:])))
		}
		return dst, true, nil
	}
	return dst, false, nil
}

// encoder writes protobuf to w, or only counts bytes when w is nil. One code
// path serves both, so a message's length prefix always matches its body.
type encoder struct {
	w   io.Writer
	buf []byte
	n   int64
	err error
}

const (
	flushAt  = 64 << 10
	directAt = 32 << 10 // byte fields this large bypass the buffer
)

func (e *encoder) flush() {
	if e.w == nil || e.err != nil || len(e.buf) == 0 {
		e.buf = e.buf[:0]
		return
	}
	_, e.err = e.w.Write(e.buf)
	e.buf = e.buf[:0]
}

func (e *encoder) uvarint(v uint64) {
	if e.w == nil {
		e.n += int64(protowire.SizeVarint(v))
		return
	}
	before := len(e.buf)
	e.buf = protowire.AppendVarint(e.buf, v)
	e.n += int64(len(e.buf) - before)
	if len(e.buf) >= flushAt {
		e.flush()
	}
}

func (e *encoder) write(p []byte) {
	e.n += int64(len(p))
	if e.w == nil {
		return
	}
	if len(p) >= directAt {
		e.flush()
		if e.err == nil {
			_, e.err = e.w.Write(p)
		}
		return
	}
	e.buf = append(e.buf, p...)
	if len(e.buf) >= flushAt {
		e.flush()
	}
}

func (e *encoder) fixed32(v uint32) {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], v)
	e.write(b[:])
}

func (e *encoder) fixed64(v uint64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	e.write(b[:])
}

func (e *encoder) tag(num protowire.Number, typ protowire.Type) {
	e.uvarint(protowire.EncodeTag(num, typ))
}

func (e *encoder) varintField(num protowire.Number, v uint64) {
	e.tag(num, protowire.VarintType)
	e.uvarint(v)
}

// int64Field skips zero, which proto readers treat the same as absent.
func (e *encoder) int64Field(num protowire.Number, v int64) {
	if v != 0 {
		e.varintField(num, uint64(v))
	}
}

func (e *encoder) stringField(num protowire.Number, s string) {
	if s == "" {
		return
	}
	e.tag(num, protowire.BytesType)
	e.uvarint(uint64(len(s)))
	if e.w == nil {
		e.n += int64(len(s))
		return
	}
	e.write([]byte(s))
}

func (e *encoder) bytesField(num protowire.Number, b []byte) {
	e.tag(num, protowire.BytesType)
	e.uvarint(uint64(len(b)))
	e.write(b)
}

func (e *encoder) packedVarints(num protowire.Number, vs []int64) {
	if len(vs) == 0 {
		return
	}
	size := 0
	for _, v := range vs {
		size += protowire.SizeVarint(uint64(v))
	}
	e.tag(num, protowire.BytesType)
	e.uvarint(uint64(size))
	for _, v := range vs {
		e.uvarint(uint64(v))
	}
}

func (e *encoder) packedFloats(num protowire.Number, vs []float32) {
	if len(vs) == 0 {
		return
	}
	e.tag(num, protowire.BytesType)
	e.uvarint(uint64(4 * len(vs)))
	for _, v := range vs {
		e.fixed32(math.Float32bits(v))
	}
}

func (e *encoder) packedDoubles(num protowire.Number, vs []float64) {
	if len(vs) == 0 {
		return
	}
	e.tag(num, protowire.BytesType)
	e.uvarint(uint64(8 * len(vs)))
	for _, v := range vs {
		e.fixed64(math.Float64bits(v))
	}
}

// message writes a length-delimited sub-message; its size is counted first
// by running the same encode function without a writer.
func (e *encoder) message(num protowire.Number, encode func(*encoder)) {
	var c encoder
	encode(&c)
	e.tag(num, protowire.BytesType)
	e.uvarint(uint64(c.n))
	if e.w == nil {
		e.n += c.n
		return
	}
	encode(e)
}
