package onnxgraph

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
)

// ValueInfo is a flat view of a graph input or output.
type ValueInfo struct {
	Name     string
	ElemType int32 // TensorProto data type, 0 for non-tensor values
	Dims     []Dim // nil when the rank is unknown
}

// Dim is one dimension: Value is -1 when the size is symbolic or unknown,
// in which case Param holds the symbol if there is one.
type Dim struct {
	Value int64
	Param string
}

// Inputs lists the graph inputs a caller must feed: initializers that are
// also listed as inputs (IR version < 4 style) are left out.
func (m *Model) Inputs() []ValueInfo {
	if m.Graph == nil {
		return nil
	}
	inits := make(map[string]bool, len(m.Graph.Initializers))
	for _, t := range m.Graph.Initializers {
		inits[t.Name] = true
	}
	var out []ValueInfo
	for _, v := range m.Graph.Inputs {
		if !inits[v.Name] {
			out = append(out, v.Info())
		}
	}
	return out
}

// Outputs lists the graph outputs.
func (m *Model) Outputs() []ValueInfo {
	if m.Graph == nil {
		return nil
	}
	out := make([]ValueInfo, len(m.Graph.Outputs))
	for i, v := range m.Graph.Outputs {
		out[i] = v.Info()
	}
	return out
}

// Info flattens a ValueInfoProto.
func (v *Value) Info() ValueInfo {
	info := ValueInfo{Name: v.Name}
	if v.Type == nil || v.Type.Tensor == nil {
		return info
	}
	info.ElemType = v.Type.Tensor.ElemType
	if s := v.Type.Tensor.Shape; s != nil {
		info.Dims = make([]Dim, len(s.Dims))
		for i, d := range s.Dims {
			if d.HasValue {
				info.Dims[i] = Dim{Value: d.Value}
			} else {
				info.Dims[i] = Dim{Value: -1, Param: d.Param}
			}
		}
	}
	return info
}

// TensorValue builds a ValueInfoProto for a tensor. A dim given as a string
// is symbolic, an int or int64 is fixed.
func TensorValue(name string, elemType int32, dims ...any) *Value {
	s := &Shape{Dims: make([]Dimension, len(dims))}
	for i, d := range dims {
		switch d := d.(type) {
		case string:
			s.Dims[i] = Dimension{Param: d}
		case int:
			s.Dims[i] = Dimension{Value: int64(d), HasValue: true}
		case int64:
			s.Dims[i] = Dimension{Value: d, HasValue: true}
		default:
			panic(fmt.Sprintf("onnxgraph: dimension %v of %s is neither a name nor an integer", d, name))
		}
	}
	return &Value{Name: name, Type: &Type{Tensor: &TensorType{ElemType: elemType, Shape: s}}}
}

// Initializer returns the named initializer, or nil.
func (g *Graph) Initializer(name string) *Tensor {
	for _, t := range g.Initializers {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// Attr returns the named attribute, or nil.
func (n *Node) Attr(name string) *Attribute {
	for _, a := range n.Attributes {
		if a.Name == name {
			return a
		}
	}
	return nil
}

// Attribute constructors, for building graphs.

// IntAttr is an INT attribute.
func IntAttr(name string, v int64) *Attribute {
	return &Attribute{Name: name, Type: AttrInt, I: v}
}

// IntsAttr is an INTS attribute.
func IntsAttr(name string, vs ...int64) *Attribute {
	return &Attribute{Name: name, Type: AttrInts, Ints: vs}
}

// FloatAttr is a FLOAT attribute.
func FloatAttr(name string, v float32) *Attribute {
	return &Attribute{Name: name, Type: AttrFloat, F: v}
}

// StringAttr is a STRING attribute.
func StringAttr(name, v string) *Attribute {
	return &Attribute{Name: name, Type: AttrString, S: []byte(v)}
}

// TensorAttr is a TENSOR attribute (as used by Constant's "value").
func TensorAttr(name string, t *Tensor) *Attribute {
	return &Attribute{Name: name, Type: AttrTensor, T: t}
}

// NumElements is the product of the dimensions (1 for a scalar).
func (t *Tensor) NumElements() int64 {
	n := int64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// Float32s returns the elements of a FLOAT tensor.
func (t *Tensor) Float32s() ([]float32, error) {
	if t.DataType != TypeFloat {
		return nil, fmt.Errorf("tensor %q: data type %d, not float", t.Name, t.DataType)
	}
	n := t.NumElements()
	if t.RawData == nil {
		if int64(len(t.FloatData)) != n {
			return nil, fmt.Errorf("tensor %q: %d values for %d elements", t.Name, len(t.FloatData), n)
		}
		return t.FloatData, nil
	}
	if int64(len(t.RawData)) != 4*n {
		return nil, fmt.Errorf("tensor %q: %d raw bytes for %d floats", t.Name, len(t.RawData), n)
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.RawData[4*i:]))
	}
	return out, nil
}

// Int64s returns the elements of an INT64 tensor.
func (t *Tensor) Int64s() ([]int64, error) {
	if t.DataType != TypeInt64 {
		return nil, fmt.Errorf("tensor %q: data type %d, not int64", t.Name, t.DataType)
	}
	n := t.NumElements()
	if t.RawData == nil {
		if int64(len(t.Int64Data)) != n {
			return nil, fmt.Errorf("tensor %q: %d values for %d elements", t.Name, len(t.Int64Data), n)
		}
		return t.Int64Data, nil
	}
	if int64(len(t.RawData)) != 8*n {
		return nil, fmt.Errorf("tensor %q: %d raw bytes for %d int64s", t.Name, len(t.RawData), n)
	}
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(binary.LittleEndian.Uint64(t.RawData[8*i:]))
	}
	return out, nil
}

// FloatTensor builds a FLOAT tensor stored as raw little-endian bytes.
func FloatTensor(name string, dims []int64, vs []float32) *Tensor {
	raw := make([]byte, 4*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return &Tensor{Name: name, DataType: TypeFloat, Dims: dims, RawData: raw}
}

// Int64Tensor builds an INT64 tensor stored as raw little-endian bytes.
func Int64Tensor(name string, dims []int64, vs []int64) *Tensor {
	raw := make([]byte, 8*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
	}
	return &Tensor{Name: name, DataType: TypeInt64, Dims: dims, RawData: raw}
}

// outerRefs lists the names a subgraph reads from enclosing scopes: inputs
// of its nodes (and of nested subgraphs) that it does not define itself.
func (g *Graph) outerRefs() []string {
	defined := map[string]bool{"": true}
	for _, v := range g.Inputs {
		defined[v.Name] = true
	}
	for _, t := range g.Initializers {
		defined[t.Name] = true
	}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			defined[o] = true
		}
	}
	seen := map[string]bool{}
	var refs []string
	use := func(name string) {
		if !defined[name] && !seen[name] {
			seen[name] = true
			refs = append(refs, name)
		}
	}
	for _, n := range g.Nodes {
		for _, in := range n.reads() {
			use(in)
		}
	}
	for _, v := range g.Outputs {
		use(v.Name)
	}
	return refs
}

// reads lists the values a node reads: its inputs, and what its subgraphs
// take from enclosing scopes.
func (n *Node) reads() []string {
	out := n.Inputs
	for _, sub := range n.subgraphs() {
		out = append(slices.Clip(out), sub.outerRefs()...)
	}
	return out
}

func (n *Node) subgraphs() []*Graph {
	var gs []*Graph
	for _, a := range n.Attributes {
		if a.G != nil {
			gs = append(gs, a.G)
		}
		gs = append(gs, a.Graphs...)
	}
	return gs
}

// Prune returns a model that computes only the named outputs: nodes they do
// not depend on are dropped, and so are the graph inputs, initializers and
// value infos left unused. Opset imports and metadata are kept. The result
// shares tensors and nodes with m.
func (m *Model) Prune(outputs []string) (*Model, error) {
	if m.Graph == nil {
		return nil, errors.New("onnxgraph: prune: model has no graph")
	}
	if len(outputs) == 0 {
		return nil, errors.New("onnxgraph: prune: no outputs named")
	}
	g := m.Graph
	producer := make(map[string]int, len(g.Nodes))
	for i, n := range g.Nodes {
		for _, o := range n.Outputs {
			if o != "" {
				producer[o] = i
			}
		}
	}
	sources := make(map[string]bool, len(g.Inputs)+len(g.Initializers))
	for _, v := range g.Inputs {
		sources[v.Name] = true
	}
	for _, t := range g.Initializers {
		sources[t.Name] = true
	}

	needed := map[string]bool{}
	keep := make([]bool, len(g.Nodes))
	var stack []string
	requested := map[string]bool{}
	for _, name := range outputs {
		if requested[name] {
			return nil, fmt.Errorf("onnxgraph: prune: output %q named twice", name)
		}
		requested[name] = true
		if _, ok := producer[name]; !ok && !sources[name] {
			return nil, fmt.Errorf("onnxgraph: prune: no node, input or initializer gives %q", name)
		}
		stack = append(stack, name)
	}
	for len(stack) > 0 {
		name := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if name == "" || needed[name] {
			continue
		}
		needed[name] = true
		i, ok := producer[name]
		if !ok || keep[i] {
			continue
		}
		keep[i] = true
		stack = append(stack, g.Nodes[i].reads()...)
	}

	ng := *g
	ng.Nodes = nil
	for i, n := range g.Nodes {
		if keep[i] {
			ng.Nodes = append(ng.Nodes, n)
			// Outputs of a kept node stay defined even if unused.
			for _, o := range n.Outputs {
				needed[o] = needed[o] || o != ""
			}
		}
	}
	ng.Initializers = nil
	for _, t := range g.Initializers {
		if needed[t.Name] {
			ng.Initializers = append(ng.Initializers, t)
		}
	}
	ng.Inputs = nil
	for _, v := range g.Inputs {
		if needed[v.Name] {
			ng.Inputs = append(ng.Inputs, v)
		}
	}
	ng.ValueInfo = nil
	for _, v := range g.ValueInfo {
		if needed[v.Name] && !requested[v.Name] {
			ng.ValueInfo = append(ng.ValueInfo, v)
		}
	}
	ng.Outputs = make([]*Value, len(outputs))
	for i, name := range outputs {
		ng.Outputs[i] = findValue(name, g.Outputs, g.ValueInfo, g.Inputs)
	}
	nm := *m
	nm.Graph = &ng
	return &nm, nil
}

// findValue returns the first declaration of name, or a bare value (type
// left for the runtime to infer).
func findValue(name string, lists ...[]*Value) *Value {
	for _, l := range lists {
		for _, v := range l {
			if v.Name == name {
				return v
			}
		}
	}
	return &Value{Name: name}
}

// LogitScale finds the CLIP temperature: in Hugging Face exports the logits
// are exp(logit_scale) * text @ image.T, so it looks, among the ancestors of
// logits_per_text (or logits_per_image), for an Exp of a scalar constant and
// returns its exponential. A graph with the exponential already folded into
// a scalar Mul right after the similarity MatMul is also understood. It
// reports false when neither is found.
func (m *Model) LogitScale() (float32, bool) {
	if m.Graph == nil {
		return 0, false
	}
	g := m.Graph
	producer := map[string]*Node{}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			producer[o] = n
		}
	}
	// scalar resolves a name to a one-element float constant, if it is one.
	scalar := func(name string) (float64, bool) {
		var t *Tensor
		if n := producer[name]; n != nil {
			if n.OpType != "Constant" {
				return 0, false
			}
			if a := n.Attr("value_float"); a != nil {
				return float64(a.F), true
			}
			if a := n.Attr("value"); a != nil {
				t = a.T
			}
		} else {
			t = g.Initializer(name)
		}
		if t == nil || t.NumElements() != 1 {
			return 0, false
		}
		vs, err := t.Float32s()
		if err != nil {
			return 0, false
		}
		return float64(vs[0]), true
	}

	for _, out := range []string{"logits_per_text", "logits_per_image"} {
		if _, ok := producer[out]; !ok {
			continue
		}
		// First choice: an Exp of a scalar constant anywhere upstream.
		seen := map[string]bool{}
		stack := []string{out}
		for len(stack) > 0 {
			name := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if seen[name] {
				continue
			}
			seen[name] = true
			n := producer[name]
			if n == nil {
				continue
			}
			if n.OpType == "Exp" && len(n.Inputs) == 1 {
				if v, ok := scalar(n.Inputs[0]); ok {
					return float32(math.Exp(v)), true
				}
			}
			stack = append(stack, n.Inputs...)
		}
		// Fallback: a folded scale multiplies (or divides) the similarity
		// matrix between its MatMul and the output.
		if v, ok := foldedScale(producer, scalar, out); ok {
			return float32(v), true
		}
	}
	return 0, false
}

// foldedScale walks from out towards the similarity MatMul through
// element-wise ops only, and returns a scalar constant factor met there.
func foldedScale(producer map[string]*Node, scalar func(string) (float64, bool), out string) (float64, bool) {
	name := out
	for range 16 {
		n := producer[name]
		if n == nil {
			return 0, false
		}
		switch n.OpType {
		case "Transpose", "Identity", "Cast":
			if len(n.Inputs) == 0 {
				return 0, false
			}
			name = n.Inputs[0]
			continue
		case "Mul", "Div":
			v, rest, ok := scaledBy(n, scalar)
			if !ok {
				return 0, false
			}
			name = rest
			if p := producer[name]; p != nil && p.OpType == "MatMul" {
				return v, true
			}
			continue
		case "MatMul":
			// The factor may also scale one side before the product.
			for _, in := range n.Inputs {
				if p := producer[in]; p != nil && (p.OpType == "Mul" || p.OpType == "Div") {
					if v, _, ok := scaledBy(p, scalar); ok {
						return v, true
					}
				}
			}
		}
		return 0, false
	}
	return 0, false
}

// scaledBy reads a Mul or Div by a scalar constant as (factor, other input).
func scaledBy(n *Node, scalar func(string) (float64, bool)) (float64, string, bool) {
	if len(n.Inputs) != 2 {
		return 0, "", false
	}
	for side, in := range n.Inputs {
		v, ok := scalar(in)
		if !ok {
			continue
		}
		if n.OpType == "Div" {
			if side == 0 || v == 0 {
				return 0, "", false
			}
			v = 1 / v
		}
		return v, n.Inputs[1-side], true
	}
	return 0, "", false
}
