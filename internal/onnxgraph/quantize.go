package onnxgraph

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
)

// Int8Recipe versions the int8 derivation. Derived graphs are cached by the
// identity of their source and Int8Options.Recipe, which starts with this:
// change it whenever QuantizeInt8 writes a different graph for the same input.
const Int8Recipe = "int8-v1"

// Int8Form selects the operators QuantizeInt8 writes for a quantized MatMul.
type Int8Form int

const (
	// Int8Fused writes one com.microsoft DynamicQuantizeMatMul per weight:
	// ONNX Runtime quantizes the activation, multiplies in integers and
	// applies scales and bias in one kernel.
	Int8Fused Int8Form = iota
	// Int8Standard writes standard ONNX operators only: DynamicQuantizeLinear
	// (one per distinct activation, shared by the MatMuls that read it),
	// MatMulInteger, Cast, Mul by the scales and Add of the bias.
	Int8Standard
)

func (f Int8Form) String() string {
	switch f {
	case Int8Fused:
		return "fused"
	case Int8Standard:
		return "standard"
	}
	return fmt.Sprintf("Int8Form(%d)", int(f))
}

// Int8Options tune QuantizeInt8. The zero value is the recommended recipe
// for CPUs with VNNI (AVX-512 VNNI, AVX-VNNI or AMX).
type Int8Options struct {
	Form Int8Form
	// ReduceRange stores weights in 7 bits (±63). On x86 CPUs without VNNI,
	// ONNX Runtime multiplies uint8 activations by int8 weights with an
	// instruction whose 16-bit pair sums can saturate at full range; 7-bit
	// weights cannot saturate, at some cost in precision.
	ReduceRange bool
}

// Recipe names the derivation these options produce, for cache keys.
func (o Int8Options) Recipe() string {
	r := Int8Recipe + "-" + o.Form.String()
	if o.ReduceRange {
		r += "-rr"
	}
	return r
}

// Int8Op describes one MatMul or Gemm that QuantizeInt8 looked at.
type Int8Op struct {
	Node   string // node name, or its first output when it has none
	OpType string // MatMul or Gemm
	Weight string // the constant weight, "" when B is computed
	K, N   int64  // weight shape as multiplied (after Gemm's transB)
	// Bias says a following Add (or Gemm's C) went into the quantized op.
	Bias bool
	// Reason says why a node stayed float; empty for quantized ones.
	Reason string
}

// Int8Report lists what QuantizeInt8 rewrote and what it left float.
type Int8Report struct {
	Quantized []Int8Op
	Float     []Int8Op
	// FloatBytes counts the float weights replaced, Int8Bytes the int8
	// weights and float scales that replace them.
	FloatBytes, Int8Bytes int64
}

// ErrNothingToQuantize reports a graph with no MatMul or Gemm by a constant
// weight: an int8 derivation of it would be the float graph again.
var ErrNothingToQuantize = errors.New("no MatMul or Gemm multiplies by a constant weight")

const msDomain = "com.microsoft"

// QuantizeInt8 derives a dynamically quantized graph: every MatMul, and every
// Gemm without transA, whose B is a constant 2-D float tensor (an
// initializer or a Constant node) is rewritten to multiply by int8 weights
// with one symmetric scale per output column, the activation being
// quantized to uint8 on every run. A bias Add that only follows such a
// MatMul (or Gemm's C) moves into the quantized op. Everything else keeps
// its float form: normalisations, softmax, gathers (embeddings), scalar
// multiplications (the logit scale), convolutions and products of two
// computed tensors such as attention scores. Subgraphs are left as they
// are.
//
// The result shares unchanged nodes and tensors with m, which is not
// modified.
func (m *Model) QuantizeInt8(opts Int8Options) (*Model, *Int8Report, error) {
	if m.Graph == nil {
		return nil, nil, errors.New("onnxgraph: quantize: model has no graph")
	}
	switch opts.Form {
	case Int8Fused, Int8Standard:
	default:
		return nil, nil, fmt.Errorf("onnxgraph: quantize: unknown form %v", opts.Form)
	}
	if opts.Form == Int8Standard && m.defaultOpset() < 11 {
		return nil, nil, fmt.Errorf("onnxgraph: quantize: opset %d is older than DynamicQuantizeLinear (11)", m.defaultOpset())
	}
	q := newQuantizer(m.Graph, opts)
	plans := q.plan()
	if len(q.report.Quantized) == 0 {
		return nil, &q.report, fmt.Errorf("onnxgraph: quantize: %w", ErrNothingToQuantize)
	}
	g, err := q.rewrite(plans)
	if err != nil {
		return nil, nil, err
	}
	nm := *m
	nm.Graph = g
	if opts.Form == Int8Fused && !slices.ContainsFunc(m.OpsetImports, func(o OpsetID) bool { return o.Domain == msDomain }) {
		nm.OpsetImports = append(slices.Clip(m.OpsetImports), OpsetID{Domain: msDomain, Version: 1})
	}
	return &nm, &q.report, nil
}

// defaultOpset is the version of the ai.onnx domain the model imports.
func (m *Model) defaultOpset() int64 {
	for _, o := range m.OpsetImports {
		if o.Domain == "" || o.Domain == "ai.onnx" {
			return o.Version
		}
	}
	return 0
}

type quantizer struct {
	g      *Graph
	opts   Int8Options
	consts map[string]*Tensor // initializers and Constant outputs a run cannot change
	uses   map[string]int     // readers of each value (nodes, subgraphs, graph outputs)
	reader map[string]int     // the node index of a value's only reader
	names  map[string]bool    // every name in use, for fresh ones
	report Int8Report

	weights map[weightKey]quantWeight // one int8 copy per (weight, layout)
	counted map[string]bool           // float weights counted in the report
	newInit []*Tensor
	dql     map[string][3]string // activation → its DynamicQuantizeLinear outputs
}

type weightKey struct {
	name   string
	transB bool
	alpha  float32
}

type quantWeight struct{ q, scale string }

// plan says how one MatMul or Gemm is rewritten.
type plan struct {
	node      int     // index of the MatMul/Gemm
	at        int     // index where the new nodes go (the bias Add when folded)
	a, out    string  // activation in, value out
	w         *Tensor // constant B
	key       weightKey
	bias      string  // a [N] float constant, or ""
	biasScale float32 // Gemm's beta applied to bias (1 for an Add)
	addC      string  // Gemm's C when it cannot be a [N] bias: added after
	k, n      int64
	dropped   []string // values no longer produced (MatMul output of a folded Add)
}

func newQuantizer(g *Graph, opts Int8Options) *quantizer {
	q := &quantizer{
		g: g, opts: opts,
		consts:  map[string]*Tensor{},
		uses:    map[string]int{},
		reader:  map[string]int{},
		names:   map[string]bool{"": true},
		weights: map[weightKey]quantWeight{},
		counted: map[string]bool{},
		dql:     map[string][3]string{},
	}
	inputs := map[string]bool{}
	for _, v := range g.Inputs {
		inputs[v.Name] = true
		q.names[v.Name] = true
	}
	for _, t := range g.Initializers {
		q.names[t.Name] = true
		// An initializer that is also a graph input is a default the
		// caller may override (IR version < 4): not a constant.
		if !inputs[t.Name] {
			q.consts[t.Name] = t
		}
	}
	for i, n := range g.Nodes {
		for _, o := range n.Outputs {
			q.names[o] = true
		}
		q.names[n.Name] = true
		if n.OpType == "Constant" && n.Domain == "" && len(n.Outputs) == 1 {
			if a := n.Attr("value"); a != nil && a.T != nil && len(n.Attributes) == 1 {
				q.consts[n.Outputs[0]] = a.T
			}
		}
		read := func(name string) {
			if name == "" {
				return
			}
			q.uses[name]++
			q.reader[name] = i
		}
		for _, in := range n.Inputs {
			read(in)
		}
		for _, sub := range n.subgraphs() {
			for _, r := range sub.outerRefs() {
				read(r)
			}
		}
	}
	for _, v := range g.Outputs {
		q.uses[v.Name] += 2 // a graph output is never folded away
	}
	return q
}

func (q *quantizer) fresh(base string) string {
	name := base
	for i := 1; q.names[name]; i++ {
		name = fmt.Sprintf("%s_%d", base, i)
	}
	q.names[name] = true
	return name
}

func nodeLabel(n *Node) string {
	if n.Name != "" || len(n.Outputs) == 0 {
		return n.Name
	}
	return n.Outputs[0]
}

// maxWeightElements bounds a weight QuantizeInt8 will rewrite (2 GB of
// float32, the protobuf limit), so dimensions cannot overflow.
const maxWeightElements = 1 << 29

// floatMatrix returns a constant as a finite float matrix, or why not.
func (q *quantizer) floatMatrix(name string) (*Tensor, string) {
	t := q.consts[name]
	switch {
	case t == nil:
		return nil, "B is computed, not a constant"
	case t.DataType != TypeFloat:
		return nil, fmt.Sprintf("B has data type %d, not float", t.DataType)
	case len(t.Dims) != 2:
		return nil, fmt.Sprintf("B has rank %d, not 2", len(t.Dims))
	case t.Dims[0] <= 0 || t.Dims[1] <= 0:
		return nil, "B is empty"
	case t.Dims[0] > maxWeightElements/t.Dims[1]:
		return nil, "B is too large"
	}
	at, ok := floatReader(t)
	if !ok {
		return nil, "B's data does not match its shape"
	}
	for i := range t.NumElements() {
		if isNotFinite(at(i)) {
			return nil, "B holds a value that is not finite"
		}
	}
	return t, ""
}

// floatReader gives indexed access to a FLOAT tensor's elements without
// decoding a copy of them; false when the data does not match the shape.
func floatReader(t *Tensor) (func(int64) float32, bool) {
	n := t.NumElements()
	if t.RawData != nil {
		if int64(len(t.RawData)) != 4*n {
			return nil, false
		}
		return func(i int64) float32 {
			return math.Float32frombits(binary.LittleEndian.Uint32(t.RawData[4*i:]))
		}, true
	}
	if int64(len(t.FloatData)) != n {
		return nil, false
	}
	return func(i int64) float32 { return t.FloatData[i] }, true
}

// floatVector reads a constant float bias of n elements (shape [n], or a
// single value to broadcast when scalarOK).
func (q *quantizer) floatVector(name string, n int64, scalarOK bool) bool {
	t := q.consts[name]
	if t == nil || t.DataType != TypeFloat {
		return false
	}
	if _, ok := floatReader(t); !ok {
		return false
	}
	if len(t.Dims) == 1 && t.Dims[0] == n {
		return true
	}
	return scalarOK && t.NumElements() == 1 && len(t.Dims) <= 2
}

func (q *quantizer) plan() []plan {
	var plans []plan
	for i, n := range q.g.Nodes {
		if n.Domain != "" && n.Domain != "ai.onnx" {
			continue
		}
		op := Int8Op{Node: nodeLabel(n), OpType: n.OpType}
		var p plan
		var reason string
		switch n.OpType {
		case "MatMul":
			p, reason = q.planMatMul(i, n)
		case "Gemm":
			p, reason = q.planGemm(i, n)
		default:
			continue
		}
		if p.w != nil {
			op.Weight = p.w.Name
		}
		op.K, op.N = p.k, p.n
		if reason != "" {
			op.Reason = reason
			q.report.Float = append(q.report.Float, op)
			continue
		}
		op.Bias = p.bias != ""
		q.report.Quantized = append(q.report.Quantized, op)
		plans = append(plans, p)
	}
	return plans
}

func (q *quantizer) planMatMul(i int, n *Node) (plan, string) {
	if len(n.Inputs) != 2 || len(n.Outputs) != 1 || n.Inputs[0] == "" {
		return plan{}, "malformed node"
	}
	w, why := q.floatMatrix(n.Inputs[1])
	if w == nil {
		return plan{}, why
	}
	p := plan{node: i, at: i, a: n.Inputs[0], out: n.Outputs[0], w: w,
		key: weightKey{name: n.Inputs[1], alpha: 1}, k: w.Dims[0], n: w.Dims[1], biasScale: 1}
	q.foldBias(&p)
	return p, ""
}

// foldBias moves an Add of a [N] constant into the quantized op when that
// Add is the MatMul's only reader.
func (q *quantizer) foldBias(p *plan) {
	if q.uses[p.out] != 1 {
		return
	}
	j := q.reader[p.out]
	add := q.g.Nodes[j]
	if j <= p.node || add.OpType != "Add" || (add.Domain != "" && add.Domain != "ai.onnx") ||
		len(add.Inputs) != 2 || len(add.Outputs) != 1 {
		return
	}
	other := add.Inputs[0]
	if other == p.out {
		other = add.Inputs[1]
	}
	if other == p.out || !q.floatVector(other, p.n, false) {
		return
	}
	p.bias, p.at = other, j
	p.dropped = append(p.dropped, p.out)
	p.out = add.Outputs[0]
}

func (q *quantizer) planGemm(i int, n *Node) (plan, string) {
	if len(n.Inputs) < 2 || len(n.Inputs) > 3 || len(n.Outputs) != 1 || n.Inputs[0] == "" {
		return plan{}, "malformed node"
	}
	alpha, beta := float32(1), float32(1)
	var transA, transB int64
	for _, a := range n.Attributes {
		switch a.Name {
		case "alpha":
			alpha = a.F
		case "beta":
			beta = a.F
		case "transA":
			transA = a.I
		case "transB":
			transB = a.I
		default:
			return plan{}, "unknown attribute " + a.Name
		}
	}
	if transA != 0 {
		return plan{}, "transA is set"
	}
	w, why := q.floatMatrix(n.Inputs[1])
	if w == nil {
		return plan{}, why
	}
	if isNotFinite(alpha) || isNotFinite(beta) {
		return plan{}, "alpha or beta is not finite"
	}
	p := plan{node: i, at: i, a: n.Inputs[0], out: n.Outputs[0], w: w,
		key: weightKey{name: n.Inputs[1], transB: transB != 0, alpha: alpha}, k: w.Dims[0], n: w.Dims[1], biasScale: beta}
	if p.key.transB {
		p.k, p.n = p.n, p.k
	}
	c := ""
	if len(n.Inputs) == 3 {
		c = n.Inputs[2]
	}
	switch {
	case c == "" || beta == 0:
		p.biasScale = 1
		q.foldBias(&p)
	case q.floatVector(c, p.n, true):
		p.bias = c
	default:
		p.addC = c
	}
	return p, ""
}

func isNotFinite(v float32) bool { return math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) }

// quantizeWeight returns the int8 weight [K, N] and the per-column scales
// [N] for a plan, making them once per weight and layout.
func (q *quantizer) quantizeWeight(p plan) (quantWeight, error) {
	if qw, ok := q.weights[p.key]; ok {
		return qw, nil
	}
	get, _ := floatReader(p.w) // checked by floatMatrix
	k, n := p.k, p.n
	at := func(r, c int64) float32 { return get(r*n + c) } // row r of K, column c of N
	if p.key.transB {
		at = func(r, c int64) float32 { return get(c*k + r) }
	}
	qmax := float64(127)
	if q.opts.ReduceRange {
		qmax = 63
	}
	alpha := float64(p.key.alpha)
	scales := make([]float32, n)
	for c := range n {
		var amax float64
		for r := range k {
			amax = max(amax, math.Abs(float64(at(r, c))*alpha))
		}
		if math.IsInf(amax, 0) || amax > math.MaxFloat32 {
			return quantWeight{}, fmt.Errorf("weight %q times alpha overflows float32", p.w.Name)
		}
		s := float32(amax / qmax)
		if amax < 1e-30 {
			s = 1 // a column of (near) zeros stays zero, without a denormal scale
		}
		scales[c] = s
	}
	raw := make([]byte, k*n)
	for r := range k {
		for c := range n {
			v := math.RoundToEven(float64(at(r, c)) * alpha / float64(scales[c]))
			raw[r*n+c] = byte(int8(max(-qmax, min(qmax, v))))
		}
	}
	qw := quantWeight{q: q.fresh(p.w.Name + "_int8"), scale: q.fresh(p.w.Name + "_scale")}
	q.newInit = append(q.newInit,
		&Tensor{Name: qw.q, DataType: TypeInt8, Dims: []int64{k, n}, RawData: raw},
		FloatTensor(qw.scale, []int64{n}, scales))
	q.weights[p.key] = qw
	q.report.Int8Bytes += k*n + 4*n
	if !q.counted[p.key.name] {
		q.counted[p.key.name] = true
		q.report.FloatBytes += 4 * k * n
	}
	return qw, nil
}

// biasValue returns the name of a [N] bias, making a scaled or broadcast
// copy when Gemm's beta or a one-element C asks for it.
func (q *quantizer) biasValue(p plan) (string, error) {
	t := q.consts[p.bias]
	if p.biasScale == 1 && len(t.Dims) == 1 && t.Dims[0] == p.n {
		return p.bias, nil
	}
	vs, err := t.Float32s()
	if err != nil {
		return "", err
	}
	out := make([]float32, p.n)
	for i := range out {
		out[i] = vs[min(int64(i), int64(len(vs)-1))] * p.biasScale
	}
	name := q.fresh(p.bias + "_bias")
	q.newInit = append(q.newInit, FloatTensor(name, []int64{p.n}, out))
	return name, nil
}

// emit returns the nodes that replace one plan.
func (q *quantizer) emit(p plan, orig *Node) ([]*Node, error) {
	qw, err := q.quantizeWeight(p)
	if err != nil {
		return nil, err
	}
	bias := ""
	if p.bias != "" {
		if bias, err = q.biasValue(p); err != nil {
			return nil, err
		}
	}
	name := orig.Name
	if name == "" {
		name = q.fresh(p.out + "_int8")
	}
	sub := func(suffix string) string { return q.fresh(name + "/" + suffix) }
	out := p.out
	if p.addC != "" {
		out = sub("product")
	}
	var nodes []*Node
	switch q.opts.Form {
	case Int8Fused:
		in := []string{p.a, qw.q, qw.scale}
		if bias != "" {
			in = append(in, "", bias)
		}
		nodes = append(nodes, &Node{Name: name, OpType: "DynamicQuantizeMatMul", Domain: msDomain, Inputs: in, Outputs: []string{out}})
	case Int8Standard:
		aq, ok := q.dql[p.a]
		if !ok {
			aq = [3]string{sub("a_quantized"), sub("a_scale"), sub("a_zero_point")}
			q.dql[p.a] = aq
			nodes = append(nodes, &Node{Name: sub("DynamicQuantizeLinear"), OpType: "DynamicQuantizeLinear", Inputs: []string{p.a}, Outputs: aq[:]})
		}
		i32, f, scale := sub("int32"), sub("float"), sub("scale")
		scaled := out
		if bias != "" {
			scaled = sub("scaled")
		}
		nodes = append(nodes,
			&Node{Name: name, OpType: "MatMulInteger", Inputs: []string{aq[0], qw.q, aq[2]}, Outputs: []string{i32}},
			&Node{Name: sub("Cast"), OpType: "Cast", Inputs: []string{i32}, Outputs: []string{f}, Attributes: []*Attribute{IntAttr("to", int64(TypeFloat))}},
			&Node{Name: sub("MulScales"), OpType: "Mul", Inputs: []string{aq[1], qw.scale}, Outputs: []string{scale}},
			&Node{Name: sub("Mul"), OpType: "Mul", Inputs: []string{f, scale}, Outputs: []string{scaled}})
		if bias != "" {
			nodes = append(nodes, &Node{Name: sub("AddBias"), OpType: "Add", Inputs: []string{scaled, bias}, Outputs: []string{out}})
		}
	}
	if p.addC != "" {
		c := p.addC
		if p.biasScale != 1 {
			beta := q.fresh(name + "/beta")
			q.newInit = append(q.newInit, FloatTensor(beta, nil, []float32{p.biasScale}))
			c = sub("scaled_c")
			nodes = append(nodes, &Node{Name: sub("MulBeta"), OpType: "Mul", Inputs: []string{p.addC, beta}, Outputs: []string{c}})
		}
		nodes = append(nodes, &Node{Name: sub("AddC"), OpType: "Add", Inputs: []string{out, c}, Outputs: []string{p.out}})
	}
	return nodes, nil
}

func (q *quantizer) rewrite(plans []plan) (*Graph, error) {
	g := q.g
	byNode := map[int]int{} // node index → plan, for the node that goes
	byAt := map[int]int{}   // node index → plan, emitted there
	for i, p := range plans {
		byNode[p.node] = i
		byAt[p.at] = i
	}
	dropped := map[string]bool{}
	var nodes []*Node
	for i, n := range g.Nodes {
		if pi, ok := byAt[i]; ok {
			p := plans[pi]
			emitted, err := q.emit(p, g.Nodes[p.node])
			if err != nil {
				return nil, fmt.Errorf("onnxgraph: quantize %s: %w", nodeLabel(g.Nodes[p.node]), err)
			}
			nodes = append(nodes, emitted...)
			for _, d := range p.dropped {
				dropped[d] = true
			}
			continue
		}
		if _, ok := byNode[i]; ok {
			continue // folded: emitted at its Add
		}
		nodes = append(nodes, n)
	}

	// Float weights (and Constant nodes) nobody reads any more go.
	read := map[string]bool{}
	for _, n := range nodes {
		for _, in := range n.Inputs {
			read[in] = true
		}
		for _, sub := range n.subgraphs() {
			for _, r := range sub.outerRefs() {
				read[r] = true
			}
		}
	}
	for _, v := range g.Outputs {
		read[v.Name] = true
	}
	replaced := map[string]bool{}
	for _, p := range plans {
		replaced[p.key.name] = true
		if p.bias != "" {
			replaced[p.bias] = true
		}
	}
	gone := func(name string) bool { return replaced[name] && !read[name] }
	ng := *g
	ng.Nodes = slices.DeleteFunc(nodes, func(n *Node) bool {
		return n.OpType == "Constant" && len(n.Outputs) == 1 && gone(n.Outputs[0])
	})
	ng.Initializers = nil
	for _, t := range g.Initializers {
		if !gone(t.Name) {
			ng.Initializers = append(ng.Initializers, t)
		}
	}
	ng.Initializers = append(ng.Initializers, q.newInit...)
	ng.ValueInfo = slices.DeleteFunc(slices.Clone(g.ValueInfo), func(v *Value) bool { return dropped[v.Name] || gone(v.Name) })
	return &ng, nil
}
