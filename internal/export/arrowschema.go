package export

import (
	"encoding/base64"
	"encoding/binary"
)

// The ARROW:schema value of a Parquet file: the base64 of an Arrow IPC
// message (continuation marker, length, flatbuffer) whose header is the
// Arrow schema of the file. Arrow readers (pyarrow, arrow-rs and so
// LanceDB and Lance, arrow-go and so Milvus) take column types from it
// that Parquet cannot express, here the fixed size of the embedding list.
//
// No flatbuffers library is needed for one small message: fbObj below
// lays out tables, strings and vectors front to back, each child after
// its parent, so that every offset points forward as the format wants.

// Arrow type ids (the Type union of Schema.fbs).
const (
	arrowInt           = 2
	arrowFloatingPoint = 3
	arrowUtf8          = 5
	arrowTimestamp     = 10
	arrowFixedSizeList = 16
)

// arrowField describes one column.
type arrowField struct {
	name     string
	nullable bool
	typ      byte  // an arrow type id
	params   fbObj // the type's table
	children []arrowField
}

func arrowUtf8Field(name string, nullable bool) arrowField {
	return arrowField{name: name, nullable: nullable, typ: arrowUtf8, params: fbTable()}
}

func arrowInt64Field(name string, nullable bool) arrowField {
	return arrowField{name: name, nullable: nullable, typ: arrowInt,
		params: fbTable(fbI32(64), fbBool(true))} // bitWidth, is_signed
}

func arrowTimestampMicrosUTC(name string, nullable bool) arrowField {
	return arrowField{name: name, nullable: nullable, typ: arrowTimestamp,
		params: fbTable(fbI16(2), fbString("UTC"))} // unit MICROSECOND, timezone
}

// arrowVectorField is fixed_size_list<element: float32 or float16>[dim].
func arrowVectorField(name string, dim int, half bool) arrowField {
	precision := int16(1) // SINGLE
	if half {
		precision = 0 // HALF
	}
	elem := arrowField{name: "element", typ: arrowFloatingPoint, params: fbTable(fbI16(precision))}
	return arrowField{name: name, typ: arrowFixedSizeList, params: fbTable(fbI32(int32(dim))), children: []arrowField{elem}}
}

func (f arrowField) obj() fbObj {
	children := make([]fbObj, len(f.children))
	for i, c := range f.children {
		children[i] = c.obj()
	}
	// Field: name, nullable, type_type, type, dictionary, children.
	return fbTable(fbString(f.name), fbBool(f.nullable), fbU8(f.typ), f.params, fbAbsent(), fbVector(children...))
}

// arrowSchemaMetadata returns the ARROW:schema value for fields.
func arrowSchemaMetadata(fields []arrowField) string {
	objs := make([]fbObj, len(fields))
	for i, f := range fields {
		objs[i] = f.obj()
	}
	schema := fbTable(fbI16(0), fbVector(objs...)) // endianness Little, fields
	// Message: version V5, header_type Schema, header, bodyLength 0.
	msg := fbTable(fbI16(4), fbU8(1), schema, fbI64(0))
	fb := fbFinish(msg)
	for len(fb)%8 != 0 {
		fb = append(fb, 0)
	}
	ipc := binary.LittleEndian.AppendUint32(nil, 0xffffffff)
	ipc = binary.LittleEndian.AppendUint32(ipc, uint32(len(fb)))
	ipc = append(ipc, fb...)
	return base64.StdEncoding.EncodeToString(ipc)
}

// fbObj is a flatbuffer value: a scalar (inline in its table), or a table,
// string or vector (referenced by offset).
type fbObj struct {
	kind    byte // 's' scalar, 't' table, 'S' string, 'v' vector of tables, 0 absent
	scalar  []byte
	str     string
	members []fbObj
}

func fbAbsent() fbObj     { return fbObj{} }
func fbU8(v byte) fbObj   { return fbObj{kind: 's', scalar: []byte{v}} }
func fbBool(v bool) fbObj { return fbU8(map[bool]byte{false: 0, true: 1}[v]) }
func fbI16(v int16) fbObj {
	return fbObj{kind: 's', scalar: binary.LittleEndian.AppendUint16(nil, uint16(v))}
}
func fbI32(v int32) fbObj {
	return fbObj{kind: 's', scalar: binary.LittleEndian.AppendUint32(nil, uint32(v))}
}
func fbI64(v int64) fbObj {
	return fbObj{kind: 's', scalar: binary.LittleEndian.AppendUint64(nil, uint64(v))}
}
func fbString(s string) fbObj        { return fbObj{kind: 'S', str: s} }
func fbTable(fields ...fbObj) fbObj  { return fbObj{kind: 't', members: fields} }
func fbVector(tables ...fbObj) fbObj { return fbObj{kind: 'v', members: tables} }

// fbFinish lays out root and everything it references.
func fbFinish(root fbObj) []byte {
	b := make([]byte, 4) // the root offset
	pos := fbPlace(&b, root)
	binary.LittleEndian.PutUint32(b[0:], uint32(pos))
	return b
}

func fbAlign(b *[]byte, n int) {
	for len(*b)%n != 0 {
		*b = append(*b, 0)
	}
}

// fbPlace appends o (and, after it, what it references) and returns its
// position.
func fbPlace(b *[]byte, o fbObj) int {
	switch o.kind {
	case 'S':
		fbAlign(b, 4)
		pos := len(*b)
		*b = binary.LittleEndian.AppendUint32(*b, uint32(len(o.str)))
		*b = append(append(*b, o.str...), 0)
		return pos
	case 'v':
		fbAlign(b, 4)
		pos := len(*b)
		*b = binary.LittleEndian.AppendUint32(*b, uint32(len(o.members)))
		slots := len(*b)
		*b = append(*b, make([]byte, 4*len(o.members))...)
		for i, m := range o.members {
			at := slots + 4*i
			target := fbPlace(b, m)
			binary.LittleEndian.PutUint32((*b)[at:], uint32(target-at))
		}
		return pos
	}
	// A table: its vtable, then the table (soffset back to the vtable,
	// then fields, largest first, each aligned to its size), then the
	// objects its offset fields reference.
	type slot struct{ id, size int }
	var order []slot
	for id, m := range o.members {
		switch m.kind {
		case 's':
			order = append(order, slot{id, len(m.scalar)})
		case 't', 'S', 'v':
			order = append(order, slot{id, 4})
		}
	}
	for i := 1; i < len(order); i++ { // stable insertion sort, largest first
		for j := i; j > 0 && order[j].size > order[j-1].size; j-- {
			order[j], order[j-1] = order[j-1], order[j]
		}
	}
	// Field offsets inside the table, for a table starting 8-aligned.
	offs := make([]int, len(o.members))
	size := 4
	for _, s := range order {
		for size%s.size != 0 {
			size++
		}
		offs[s.id] = size
		size += s.size
	}
	vt := make([]byte, 4+2*len(o.members))
	binary.LittleEndian.PutUint16(vt[0:], uint16(len(vt)))
	binary.LittleEndian.PutUint16(vt[2:], uint16(size))
	for id, m := range o.members {
		if m.kind != 0 {
			binary.LittleEndian.PutUint16(vt[4+2*id:], uint16(offs[id]))
		}
	}
	fbAlign(b, 2)
	vtPos := len(*b)
	*b = append(*b, vt...)
	fbAlign(b, 8)
	pos := len(*b)
	*b = append(*b, make([]byte, size)...)
	binary.LittleEndian.PutUint32((*b)[pos:], uint32(int32(pos-vtPos)))
	for id, m := range o.members {
		if m.kind == 's' {
			copy((*b)[pos+offs[id]:], m.scalar)
		}
	}
	for id, m := range o.members {
		switch m.kind {
		case 't', 'S', 'v':
			at := pos + offs[id]
			target := fbPlace(b, m)
			binary.LittleEndian.PutUint32((*b)[at:], uint32(target-at))
		}
	}
	return pos
}
