package export

import "encoding/binary"

// A write-only encoder of Thrift's compact protocol, which Parquet uses for
// its page headers and file footer. Only what those need is here.

const (
	tTrue   = 1
	tFalse  = 2
	tI32    = 5
	tI64    = 6
	tBinary = 8
	tList   = 9
	tStruct = 12
)

type thriftWriter struct {
	b     []byte
	last  int16   // id of the previous field of the open struct
	stack []int16 // ids of the enclosing structs' previous fields
}

func (w *thriftWriter) uvarint(v uint64) { w.b = binary.AppendUvarint(w.b, v) }
func (w *thriftWriter) varint(v int64)   { w.uvarint(uint64(v<<1) ^ uint64(v>>63)) }

func (w *thriftWriter) field(id int16, typ byte) {
	if d := id - w.last; d > 0 && d <= 15 {
		w.b = append(w.b, byte(d)<<4|typ)
	} else {
		w.b = append(w.b, typ)
		w.varint(int64(id))
	}
	w.last = id
}

func (w *thriftWriter) i32(id int16, v int32) { w.field(id, tI32); w.varint(int64(v)) }
func (w *thriftWriter) i64(id int16, v int64) { w.field(id, tI64); w.varint(v) }

func (w *thriftWriter) str(id int16, s string) {
	w.field(id, tBinary)
	w.uvarint(uint64(len(s)))
	w.b = append(w.b, s...)
}

func (w *thriftWriter) boolean(id int16, v bool) {
	if v {
		w.field(id, tTrue)
	} else {
		w.field(id, tFalse)
	}
}

// begin opens a struct-valued field; end closes it (or the top level).
func (w *thriftWriter) begin(id int16) {
	w.field(id, tStruct)
	w.push()
}

func (w *thriftWriter) push() {
	w.stack = append(w.stack, w.last)
	w.last = 0
}

func (w *thriftWriter) end() {
	w.b = append(w.b, 0)
	if n := len(w.stack); n > 0 {
		w.last = w.stack[n-1]
		w.stack = w.stack[:n-1]
	}
}

// list opens a list field of n elements of type elem. Struct elements
// are written between elem() and end(); others with the raw writers.
func (w *thriftWriter) list(id int16, elem byte, n int) {
	w.field(id, tList)
	if n < 15 {
		w.b = append(w.b, byte(n)<<4|elem)
	} else {
		w.b = append(w.b, 0xf0|elem)
		w.uvarint(uint64(n))
	}
}

// elem starts a struct element of a list.
func (w *thriftWriter) elem() { w.push() }

func (w *thriftWriter) rawI32(v int32) { w.varint(int64(v)) }
func (w *thriftWriter) rawStr(s string) {
	w.uvarint(uint64(len(s)))
	w.b = append(w.b, s...)
}
