// Package onnxgraph reads, edits and writes ONNX models at the protobuf wire
// level, without generated code. It models the parts of onnx.proto that
// fashionclip needs (graphs, nodes, tensors, attributes, value infos) and
// keeps every other field as raw bytes that are written back unchanged, so a
// parse and marshal round trip yields an equivalent model.
//
// A parsed Model aliases the bytes it was parsed from (initializer data is
// not copied): keep that buffer unchanged while the Model is in use.
package onnxgraph

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"google.golang.org/protobuf/encoding/protowire"
)

// Tensor element types (TensorProto.DataType) used by this project.
const (
	TypeFloat   int32 = 1
	TypeUint8   int32 = 2
	TypeInt8    int32 = 3
	TypeInt32   int32 = 6
	TypeInt64   int32 = 7
	TypeString  int32 = 8
	TypeBool    int32 = 9
	TypeFloat16 int32 = 10
	TypeDouble  int32 = 11
)

// AttrType is AttributeProto.AttributeType.
type AttrType int32

// Attribute types.
const (
	AttrUndefined AttrType = 0
	AttrFloat     AttrType = 1
	AttrInt       AttrType = 2
	AttrString    AttrType = 3
	AttrTensor    AttrType = 4
	AttrGraph     AttrType = 5
	AttrFloats    AttrType = 6
	AttrInts      AttrType = 7
	AttrStrings   AttrType = 8
	AttrTensors   AttrType = 9
	AttrGraphs    AttrType = 10
)

// MaxSubgraphDepth bounds how deeply subgraphs (If branches, Loop and Scan
// bodies) may nest. Real models nest a few levels; a hostile file nesting a
// million would otherwise exhaust the reader's stack.
const MaxSubgraphDepth = 64

// ErrTooDeep reports subgraphs nested deeper than MaxSubgraphDepth.
var ErrTooDeep = fmt.Errorf("subgraphs nested deeper than %d levels", MaxSubgraphDepth)

// ErrExternalData reports a tensor whose bytes live in a separate file, the
// layout used for models over the 2 GB protobuf limit.
var ErrExternalData = errors.New("tensor data is stored in an external file (models over 2 GB); external data is not supported")

// Model is ModelProto.
type Model struct {
	IRVersion       int64
	OpsetImports    []OpsetID
	ProducerName    string
	ProducerVersion string
	Domain          string
	ModelVersion    int64
	DocString       string
	Graph           *Graph
	MetadataProps   []StringEntry
	Unknown         []byte // training_info, functions, newer fields
}

// OpsetID is OperatorSetIdProto.
type OpsetID struct {
	Domain  string
	Version int64
	Unknown []byte
}

// StringEntry is StringStringEntryProto.
type StringEntry struct {
	Key, Value string
	Unknown    []byte
}

// Graph is GraphProto.
type Graph struct {
	Nodes        []*Node
	Name         string
	Initializers []*Tensor
	DocString    string
	Inputs       []*Value
	Outputs      []*Value
	ValueInfo    []*Value
	Unknown      []byte // sparse initializers, quantization annotations, metadata
}

// Node is NodeProto.
type Node struct {
	Inputs     []string
	Outputs    []string
	Name       string
	OpType     string
	Attributes []*Attribute
	DocString  string
	Domain     string
	Unknown    []byte
}

// Attribute is AttributeProto. Type says which value field is meaningful.
type Attribute struct {
	Name        string
	F           float32
	I           int64
	S           []byte
	T           *Tensor
	G           *Graph
	Floats      []float32
	Ints        []int64
	Strings     [][]byte
	Tensors     []*Tensor
	Graphs      []*Graph
	DocString   string
	Type        AttrType
	RefAttrName string
	Unknown     []byte // sparse tensors, type protos
}

// Tensor is TensorProto. Element data sits in RawData (little-endian) or in
// one of the typed slices.
type Tensor struct {
	Dims       []int64
	DataType   int32
	FloatData  []float32
	Int32Data  []int32
	StringData [][]byte
	Int64Data  []int64
	Name       string
	RawData    []byte
	DoubleData []float64
	Uint64Data []uint64
	DocString  string
	Unknown    []byte // segment, metadata
}

// Value is ValueInfoProto.
type Value struct {
	Name      string
	Type      *Type
	DocString string
	Unknown   []byte
}

// Type is TypeProto. Only tensor types are modelled; sequences, maps and
// the like stay in Unknown.
type Type struct {
	Tensor     *TensorType
	Denotation string
	Unknown    []byte
}

// TensorType is TypeProto.Tensor. A nil Shape means the rank is unknown.
type TensorType struct {
	ElemType int32
	Shape    *Shape
	Unknown  []byte
}

// Shape is TensorShapeProto.
type Shape struct {
	Dims    []Dimension
	Unknown []byte
}

// Dimension is TensorShapeProto.Dimension. HasValue tells a literal 0 from
// an unset (unknown) dimension.
type Dimension struct {
	Value      int64
	HasValue   bool
	Param      string
	Denotation string
	Unknown    []byte
}

// Parse decodes a serialized ModelProto. Initializer bytes stay sub-slices
// of data.
func Parse(data []byte) (*Model, error) {
	m, err := parseModel(data)
	if err != nil {
		return nil, fmt.Errorf("onnxgraph: parse model: %w", err)
	}
	if m.Graph == nil {
		return nil, errors.New("onnxgraph: parse model: no graph (not an ONNX model?)")
	}
	return m, nil
}

// ReadFile reads and parses an ONNX model file.
func ReadFile(path string) (*Model, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Marshal serializes the model.
func (m *Model) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(int(m.Size()))
	if _, err := m.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Size is the length of the serialized model in bytes.
func (m *Model) Size() int64 {
	var e encoder
	m.encode(&e)
	return e.n
}

// WriteTo streams the serialized model to w. Large tensor data is written
// straight from its slices, so no second copy of the weights is built.
func (m *Model) WriteTo(w io.Writer) (int64, error) {
	if m.Size() > 1<<31-1 {
		return 0, errors.New("onnxgraph: model exceeds the 2 GB protobuf limit")
	}
	e := encoder{w: w, buf: make([]byte, 0, flushAt+1024)}
	m.encode(&e)
	e.flush()
	return e.n, e.err
}

// WriteFile writes the model to path through a temporary file in the same
// folder, so readers never see a half-written model.
func (m *Model) WriteFile(path string) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = m.WriteTo(f); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// ---- decoding ----

func parseModel(b []byte) (*Model, error) {
	m := &Model{}
	var err error
	m.Unknown, err = walk(b, func(f *field) (bool, error) {
		switch {
		case f.num == 1 && f.typ == protowire.VarintType:
			m.IRVersion = int64(f.u)
		case f.num == 2 && f.typ == protowire.BytesType:
			m.ProducerName = string(f.val)
		case f.num == 3 && f.typ == protowire.BytesType:
			m.ProducerVersion = string(f.val)
		case f.num == 4 && f.typ == protowire.BytesType:
			m.Domain = string(f.val)
		case f.num == 5 && f.typ == protowire.VarintType:
			m.ModelVersion = int64(f.u)
		case f.num == 6 && f.typ == protowire.BytesType:
			m.DocString = string(f.val)
		case f.num == 7 && f.typ == protowire.BytesType:
			g, err := parseGraph(f.val, 0)
			if err != nil {
				return false, fmt.Errorf("graph: %w", err)
			}
			m.Graph = g
		case f.num == 8 && f.typ == protowire.BytesType:
			op, err := parseOpset(f.val)
			if err != nil {
				return false, fmt.Errorf("opset_import: %w", err)
			}
			m.OpsetImports = append(m.OpsetImports, op)
		case f.num == 14 && f.typ == protowire.BytesType:
			s, err := parseEntry(f.val)
			if err != nil {
				return false, fmt.Errorf("metadata_props: %w", err)
			}
			m.MetadataProps = append(m.MetadataProps, s)
		default:
			return false, nil
		}
		return true, nil
	})
	return m, err
}

func parseOpset(b []byte) (OpsetID, error) {
	var op OpsetID
	var err error
	op.Unknown, err = walk(b, func(f *field) (bool, error) {
		switch {
		case f.num == 1 && f.typ == protowire.BytesType:
			op.Domain = string(f.val)
		case f.num == 2 && f.typ == protowire.VarintType:
			op.Version = int64(f.u)
		default:
			return false, nil
		}
		return true, nil
	})
	return op, err
}

func parseEntry(b []byte) (StringEntry, error) {
	var s StringEntry
	var err error
	s.Unknown, err = walk(b, func(f *field) (bool, error) {
		switch {
		case f.num == 1 && f.typ == protowire.BytesType:
			s.Key = string(f.val)
		case f.num == 2 && f.typ == protowire.BytesType:
			s.Value = string(f.val)
		default:
			return false, nil
		}
		return true, nil
	})
	return s, err
}

// parseGraph decodes a GraphProto at the given subgraph depth (0 for the
// main graph).
func parseGraph(b []byte, depth int) (*Graph, error) {
	if depth > MaxSubgraphDepth {
		return nil, ErrTooDeep
	}
	g := &Graph{}
	var err error
	g.Unknown, err = walk(b, func(f *field) (bool, error) {
		if f.typ != protowire.BytesType {
			return false, nil
		}
		switch f.num {
		case 1:
			n, err := parseNode(f.val, depth)
			if errors.Is(err, ErrTooDeep) {
				return false, err // one message, not one per level
			}
			if err != nil {
				return false, fmt.Errorf("node %d: %w", len(g.Nodes), err)
			}
			g.Nodes = append(g.Nodes, n)
		case 2:
			g.Name = string(f.val)
		case 5:
			t, err := parseTensor(f.val)
			if err != nil {
				return false, fmt.Errorf("initializer %d: %w", len(g.Initializers), err)
			}
			g.Initializers = append(g.Initializers, t)
		case 10:
			g.DocString = string(f.val)
		case 11, 12, 13:
			v, err := parseValue(f.val)
			if err != nil {
				return false, fmt.Errorf("value info: %w", err)
			}
			switch f.num {
			case 11:
				g.Inputs = append(g.Inputs, v)
			case 12:
				g.Outputs = append(g.Outputs, v)
			default:
				g.ValueInfo = append(g.ValueInfo, v)
			}
		default:
			return false, nil
		}
		return true, nil
	})
	return g, err
}

func parseNode(b []byte, depth int) (*Node, error) {
	n := &Node{}
	var err error
	n.Unknown, err = walk(b, func(f *field) (bool, error) {
		if f.typ != protowire.BytesType {
			return false, nil
		}
		switch f.num {
		case 1:
			n.Inputs = append(n.Inputs, string(f.val))
		case 2:
			n.Outputs = append(n.Outputs, string(f.val))
		case 3:
			n.Name = string(f.val)
		case 4:
			n.OpType = string(f.val)
		case 5:
			a, err := parseAttribute(f.val, depth)
			if errors.Is(err, ErrTooDeep) {
				return false, err
			}
			if err != nil {
				return false, fmt.Errorf("attribute: %w", err)
			}
			n.Attributes = append(n.Attributes, a)
		case 6:
			n.DocString = string(f.val)
		case 7:
			n.Domain = string(f.val)
		default:
			return false, nil
		}
		return true, nil
	})
	if err != nil && n.Name != "" && !errors.Is(err, ErrTooDeep) {
		err = fmt.Errorf("%q: %w", n.Name, err)
	}
	return n, err
}

func parseAttribute(b []byte, depth int) (*Attribute, error) {
	a := &Attribute{}
	var err error
	a.Unknown, err = walk(b, func(f *field) (bool, error) {
		bytesField := f.typ == protowire.BytesType
		switch {
		case f.num == 1 && bytesField:
			a.Name = string(f.val)
		case f.num == 2 && f.typ == protowire.Fixed32Type:
			a.F = math.Float32frombits(uint32(f.u))
		case f.num == 3 && f.typ == protowire.VarintType:
			a.I = int64(f.u)
		case f.num == 4 && bytesField:
			a.S = f.val
		case (f.num == 5 || f.num == 10) && bytesField:
			t, err := parseTensor(f.val)
			if err != nil {
				return false, err
			}
			if f.num == 5 {
				a.T = t
			} else {
				a.Tensors = append(a.Tensors, t)
			}
		case (f.num == 6 || f.num == 11) && bytesField:
			g, err := parseGraph(f.val, depth+1)
			if errors.Is(err, ErrTooDeep) {
				return false, err
			}
			if err != nil {
				return false, fmt.Errorf("subgraph: %w", err)
			}
			if f.num == 6 {
				a.G = g
			} else {
				a.Graphs = append(a.Graphs, g)
			}
		case f.num == 7:
			var ok bool
			a.Floats, ok, err = appendFloats(a.Floats, f)
			return ok, err
		case f.num == 8:
			var ok bool
			a.Ints, ok, err = appendVarints(a.Ints, f)
			return ok, err
		case f.num == 9 && bytesField:
			a.Strings = append(a.Strings, f.val)
		case f.num == 13 && bytesField:
			a.DocString = string(f.val)
		case f.num == 20 && f.typ == protowire.VarintType:
			a.Type = AttrType(f.u)
		case f.num == 21 && bytesField:
			a.RefAttrName = string(f.val)
		default:
			return false, nil
		}
		return true, nil
	})
	if err != nil && a.Name != "" && !errors.Is(err, ErrTooDeep) {
		err = fmt.Errorf("%q: %w", a.Name, err)
	}
	return a, err
}

func parseTensor(b []byte) (*Tensor, error) {
	t := &Tensor{}
	external := false
	unknown, err := walk(b, func(f *field) (bool, error) {
		bytesField := f.typ == protowire.BytesType
		var ok bool
		var err error
		var vs []int64
		switch {
		case f.num == 1:
			t.Dims, ok, err = appendVarints(t.Dims, f)
		case f.num == 2 && f.typ == protowire.VarintType:
			t.DataType, ok = int32(f.u), true
		case f.num == 4:
			t.FloatData, ok, err = appendFloats(t.FloatData, f)
		case f.num == 5:
			if vs, ok, err = appendVarints(nil, f); ok {
				for _, v := range vs {
					t.Int32Data = append(t.Int32Data, int32(v))
				}
			}
		case f.num == 6 && bytesField:
			t.StringData, ok = append(t.StringData, f.val), true
		case f.num == 7:
			t.Int64Data, ok, err = appendVarints(t.Int64Data, f)
		case f.num == 8 && bytesField:
			t.Name, ok = string(f.val), true
		case f.num == 9 && bytesField:
			t.RawData, ok = f.val, true
		case f.num == 10:
			t.DoubleData, ok, err = appendDoubles(t.DoubleData, f)
		case f.num == 11:
			if vs, ok, err = appendVarints(nil, f); ok {
				for _, v := range vs {
					t.Uint64Data = append(t.Uint64Data, uint64(v))
				}
			}
		case f.num == 12 && bytesField:
			t.DocString, ok = string(f.val), true
		case f.num == 13:
			external = true
		case f.num == 14 && f.typ == protowire.VarintType:
			external = external || f.u == 1
		}
		return ok, err
	})
	if err != nil {
		return nil, err
	}
	if external {
		return nil, fmt.Errorf("tensor %q: %w", t.Name, ErrExternalData)
	}
	t.Unknown = unknown
	return t, nil
}

func parseValue(b []byte) (*Value, error) {
	v := &Value{}
	var err error
	v.Unknown, err = walk(b, func(f *field) (bool, error) {
		if f.typ != protowire.BytesType {
			return false, nil
		}
		switch f.num {
		case 1:
			v.Name = string(f.val)
		case 2:
			t, err := parseType(f.val)
			if err != nil {
				return false, err
			}
			v.Type = t
		case 3:
			v.DocString = string(f.val)
		default:
			return false, nil
		}
		return true, nil
	})
	return v, err
}

func parseType(b []byte) (*Type, error) {
	t := &Type{}
	var err error
	t.Unknown, err = walk(b, func(f *field) (bool, error) {
		if f.typ != protowire.BytesType {
			return false, nil
		}
		switch f.num {
		case 1:
			tt, err := parseTensorType(f.val)
			if err != nil {
				return false, err
			}
			t.Tensor = tt
		case 6:
			t.Denotation = string(f.val)
		default:
			return false, nil
		}
		return true, nil
	})
	return t, err
}

func parseTensorType(b []byte) (*TensorType, error) {
	tt := &TensorType{}
	var err error
	tt.Unknown, err = walk(b, func(f *field) (bool, error) {
		switch {
		case f.num == 1 && f.typ == protowire.VarintType:
			tt.ElemType = int32(f.u)
		case f.num == 2 && f.typ == protowire.BytesType:
			s, err := parseShape(f.val)
			if err != nil {
				return false, err
			}
			tt.Shape = s
		default:
			return false, nil
		}
		return true, nil
	})
	return tt, err
}

func parseShape(b []byte) (*Shape, error) {
	s := &Shape{}
	var err error
	s.Unknown, err = walk(b, func(f *field) (bool, error) {
		if f.num != 1 || f.typ != protowire.BytesType {
			return false, nil
		}
		var d Dimension
		var err error
		d.Unknown, err = walk(f.val, func(g *field) (bool, error) {
			switch {
			case g.num == 1 && g.typ == protowire.VarintType:
				d.Value, d.HasValue, d.Param = int64(g.u), true, ""
			case g.num == 2 && g.typ == protowire.BytesType:
				d.Param, d.Value, d.HasValue = string(g.val), 0, false
			case g.num == 3 && g.typ == protowire.BytesType:
				d.Denotation = string(g.val)
			default:
				return false, nil
			}
			return true, nil
		})
		s.Dims = append(s.Dims, d)
		return true, err
	})
	return s, err
}

// ---- encoding (fields in ascending number order, unknown ones last) ----

func (m *Model) encode(e *encoder) {
	e.varintField(1, uint64(m.IRVersion))
	e.stringField(2, m.ProducerName)
	e.stringField(3, m.ProducerVersion)
	e.stringField(4, m.Domain)
	e.int64Field(5, m.ModelVersion)
	e.stringField(6, m.DocString)
	if m.Graph != nil {
		e.message(7, m.Graph.encode)
	}
	for i := range m.OpsetImports {
		e.message(8, m.OpsetImports[i].encode)
	}
	for i := range m.MetadataProps {
		e.message(14, m.MetadataProps[i].encode)
	}
	e.write(m.Unknown)
}

func (op *OpsetID) encode(e *encoder) {
	e.stringField(1, op.Domain)
	e.varintField(2, uint64(op.Version))
	e.write(op.Unknown)
}

func (s *StringEntry) encode(e *encoder) {
	e.stringField(1, s.Key)
	e.stringField(2, s.Value)
	e.write(s.Unknown)
}

func (g *Graph) encode(e *encoder) {
	for _, n := range g.Nodes {
		e.message(1, n.encode)
	}
	e.stringField(2, g.Name)
	for _, t := range g.Initializers {
		e.message(5, t.encode)
	}
	e.stringField(10, g.DocString)
	for _, v := range g.Inputs {
		e.message(11, v.encode)
	}
	for _, v := range g.Outputs {
		e.message(12, v.encode)
	}
	for _, v := range g.ValueInfo {
		e.message(13, v.encode)
	}
	e.write(g.Unknown)
}

func (n *Node) encode(e *encoder) {
	for _, s := range n.Inputs {
		// Empty names mark omitted optional inputs and must be kept.
		e.bytesField(1, []byte(s))
	}
	for _, s := range n.Outputs {
		e.bytesField(2, []byte(s))
	}
	e.stringField(3, n.Name)
	e.stringField(4, n.OpType)
	for _, a := range n.Attributes {
		e.message(5, a.encode)
	}
	e.stringField(6, n.DocString)
	e.stringField(7, n.Domain)
	e.write(n.Unknown)
}

func (a *Attribute) encode(e *encoder) {
	e.stringField(1, a.Name)
	// The singular value matching Type is written even when it is zero.
	if a.Type == AttrFloat || (a.Type == AttrUndefined && a.F != 0) {
		e.tag(2, protowire.Fixed32Type)
		e.fixed32(math.Float32bits(a.F))
	}
	if a.Type == AttrInt || (a.Type == AttrUndefined && a.I != 0) {
		e.varintField(3, uint64(a.I))
	}
	if a.Type == AttrString || a.S != nil {
		e.bytesField(4, a.S)
	}
	if a.T != nil {
		e.message(5, a.T.encode)
	}
	if a.G != nil {
		e.message(6, a.G.encode)
	}
	e.packedFloats(7, a.Floats)
	e.packedVarints(8, a.Ints)
	for _, s := range a.Strings {
		e.bytesField(9, s)
	}
	for _, t := range a.Tensors {
		e.message(10, t.encode)
	}
	for _, g := range a.Graphs {
		e.message(11, g.encode)
	}
	e.stringField(13, a.DocString)
	e.int64Field(20, int64(a.Type))
	e.stringField(21, a.RefAttrName)
	e.write(a.Unknown)
}

func (t *Tensor) encode(e *encoder) {
	e.packedVarints(1, t.Dims)
	e.varintField(2, uint64(int64(t.DataType)))
	e.packedFloats(4, t.FloatData)
	if len(t.Int32Data) > 0 {
		vs := make([]int64, len(t.Int32Data))
		for i, v := range t.Int32Data {
			vs[i] = int64(v)
		}
		e.packedVarints(5, vs)
	}
	for _, s := range t.StringData {
		e.bytesField(6, s)
	}
	e.packedVarints(7, t.Int64Data)
	e.stringField(8, t.Name)
	if t.RawData != nil {
		e.bytesField(9, t.RawData)
	}
	e.packedDoubles(10, t.DoubleData)
	if len(t.Uint64Data) > 0 {
		vs := make([]int64, len(t.Uint64Data))
		for i, v := range t.Uint64Data {
			vs[i] = int64(v)
		}
		e.packedVarints(11, vs)
	}
	e.stringField(12, t.DocString)
	e.write(t.Unknown)
}

func (v *Value) encode(e *encoder) {
	e.stringField(1, v.Name)
	if v.Type != nil {
		e.message(2, v.Type.encode)
	}
	e.stringField(3, v.DocString)
	e.write(v.Unknown)
}

func (t *Type) encode(e *encoder) {
	if t.Tensor != nil {
		e.message(1, t.Tensor.encode)
	}
	e.stringField(6, t.Denotation)
	e.write(t.Unknown)
}

func (tt *TensorType) encode(e *encoder) {
	e.varintField(1, uint64(int64(tt.ElemType)))
	if tt.Shape != nil {
		e.message(2, tt.Shape.encode)
	}
	e.write(tt.Unknown)
}

func (s *Shape) encode(e *encoder) {
	for i := range s.Dims {
		e.message(1, s.Dims[i].encode)
	}
	e.write(s.Unknown)
}

func (d *Dimension) encode(e *encoder) {
	if d.HasValue {
		e.varintField(1, uint64(d.Value))
	} else if d.Param != "" {
		e.stringField(2, d.Param)
	}
	e.stringField(3, d.Denotation)
	e.write(d.Unknown)
}
