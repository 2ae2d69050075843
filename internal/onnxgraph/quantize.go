package onnxgraph

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
)

// Int8Recipe versions the int8 derivation. Derived graphs are cached by the
// identity of their source and Int8Options.Recipe, which starts with this:
// change it whenever QuantizeInt8 writes a different graph for the same input.
const Int8Recipe = "int8-v1"

// Int8Form selects the operators QuantizeInt8 writes for a quantized MatMul.
type Int8Form int

const (
	// Int8Standard writes standard ONNX operators only: DynamicQuantizeLinear
	// (one per distinct activation, shared by the MatMuls that read it, such
	// as q, k and v), MatMulInteger, Cast, Mul by the scales and Add of the
	// bias. ONNX Runtime fuses these into its integer kernels.
	Int8Standard Int8Form = iota
	// Int8Fused writes one com.microsoft DynamicQuantizeMatMul per weight,
	// which quantizes its activation itself (so once per MatMul).
	Int8Fused
)

func (f Int8Form) String() string {
	switch f {
	case Int8Standard:
		return "standard"
	case Int8Fused:
		return "fused"
	}
	return fmt.Sprintf("Int8Form(%d)", int(f))
}

// Int8Options tune QuantizeInt8. The zero value is the recommended recipe
// for CPUs with VNNI (AVX-512 VNNI, AVX-VNNI or AMX).
type Int8Options struct {
	Form Int8Form
	// ReduceRange stores MatMul weights in 7 bits (±63). On x86 CPUs without
	// VNNI, ONNX Runtime multiplies uint8 activations by int8 weights with an
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

// Int8Op describes one MatMul, Gemm or Conv that QuantizeInt8 looked at.
type Int8Op struct {
	Node   string // node name, or its first output when it has none
	OpType string
	Weight string // the constant weight, "" when it is computed
	// K and N are the weight's shape as multiplied (after Gemm's transB); a
	// Conv has N output channels of K inputs each.
	K, N int64
	// Bias says a following Add (Gemm's C, Conv's B) went into the rewrite.
	Bias bool
	// Reason says why a node stayed float; empty for quantized ones.
	Reason string
}

// Int8Report lists what QuantizeInt8 rewrote and what it left float.
type Int8Report struct {
	Quantized []Int8Op
	Float     []Int8Op
	// FloatBytes counts the float weights replaced, Int8Bytes the 8-bit
	// weights and float scales that replace them.
	FloatBytes, Int8Bytes int64
}

// ErrNothingToQuantize reports a graph with no MatMul, Gemm or Conv by a
// constant weight: an int8 derivation of it would be the float graph again.
var ErrNothingToQuantize = errors.New("no MatMul, Gemm or Conv multiplies by a constant weight")

const msDomain = "com.microsoft"

// QuantizeInt8 derives a dynamically quantized graph. Every MatMul, and
// every Gemm without transA, whose B is a constant 2-D float tensor (an
// initializer or a Constant node) multiplies int8 weights with one
// symmetric scale per output column; every Conv with a constant weight
// becomes a ConvInteger over uint8 weights (zero point 128) with one scale
// per output channel. Activations are quantized to uint8 on every run, with
// one scale per tensor. A bias Add that only follows such a MatMul (or
// Gemm's C, or Conv's B) moves into the quantized form.
//
// Everything else keeps its float form: normalisations, softmax, gathers
// (embeddings), scalar multiplications (the logit scale) and products of two
// computed tensors such as attention scores. Subgraphs are left as they are.
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
	if v := m.defaultOpset(); v < 11 {
		return nil, nil, fmt.Errorf("onnxgraph: quantize: opset %d is older than DynamicQuantizeLinear (11)", v)
	}
	q := newQuantizer(m.Graph, opts)
	plans := q.plan()
	if len(plans) == 0 {
		return nil, &q.report, fmt.Errorf("onnxgraph: quantize: %w", ErrNothingToQuantize)
	}
	nm := *m
	nm.Graph = q.rewrite(plans)
	if q.usesMS && !slices.ContainsFunc(m.OpsetImports, func(o OpsetID) bool { return o.Domain == msDomain }) {
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
	reader map[string]int     // the node index of a value's last reader
	names  map[string]bool    // every name in use, for fresh ones
	report Int8Report
	usesMS bool   // a com.microsoft op was written
	convZP string // the shared Conv weight zero point, once made

	weights map[weightKey]quantWeight // one quantized copy per (weight, layout)
	newInit []*Tensor
	dql     map[string][3]string // activation → its DynamicQuantizeLinear outputs
}

type weightKey struct {
	name   string
	conv   bool
	transB bool
	alpha  float32
}

type quantWeight struct{ q, scale string }

// plan says how one node is rewritten.
type plan struct {
	node    int    // index of the MatMul, Gemm or Conv
	at      int    // index where the new nodes go (the bias Add when folded)
	a, out  string // activation in, value out
	w       *Tensor
	key     weightKey
	qw      quantWeight
	bias    string  // a bias of N elements, or ""
	scale   float32 // Gemm's beta for its C; 1 for other biases
	addC    string  // Gemm's C when it cannot be a bias: added after
	beta    float32
	k, n    int64
	dropped string // a value no longer produced (the output of a folded MatMul)
}

func newQuantizer(g *Graph, opts Int8Options) *quantizer {
	q := &quantizer{
		g: g, opts: opts,
		consts:  map[string]*Tensor{},
		uses:    map[string]int{},
		reader:  map[string]int{},
		names:   map[string]bool{"": true},
		weights: map[weightKey]quantWeight{},
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
		if n.OpType == "Constant" && isDefaultDomain(n) && len(n.Outputs) == 1 && len(n.Attributes) == 1 {
			if a := n.Attributes[0]; a.Name == "value" && a.T != nil {
				q.consts[n.Outputs[0]] = a.T
			}
		}
		for _, name := range n.reads() {
			if name != "" {
				q.uses[name]++
				q.reader[name] = i
			}
		}
	}
	for _, v := range g.Outputs {
		q.uses[v.Name] += 2 // a graph output is never folded away
	}
	return q
}

func isDefaultDomain(n *Node) bool { return n.Domain == "" || n.Domain == "ai.onnx" }

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
// float32, the protobuf limit), so dimension products cannot overflow.
const maxWeightElements = 1 << 29

// checkWeight says why a constant cannot be a float weight of the given
// rank range, or returns "" (its values are checked when quantized).
func (q *quantizer) checkWeight(name string, minRank, maxRank int) string {
	t := q.consts[name]
	switch {
	case t == nil:
		return "weight is computed, not a constant"
	case t.DataType != TypeFloat:
		return fmt.Sprintf("weight has data type %d, not float", t.DataType)
	case len(t.Dims) < minRank || len(t.Dims) > maxRank:
		return fmt.Sprintf("weight has rank %d", len(t.Dims))
	}
	n := int64(1)
	for _, d := range t.Dims {
		if d <= 0 {
			return "weight is empty"
		}
		if d > maxWeightElements/n {
			return "weight is too large"
		}
		n *= d
	}
	if (t.RawData != nil && int64(len(t.RawData)) != 4*n) || (t.RawData == nil && int64(len(t.FloatData)) != n) {
		return "weight data does not match its shape"
	}
	return ""
}

// floats returns a FLOAT tensor's elements (a copy when stored raw); false
// when the data does not match the shape.
func floats(t *Tensor) ([]float32, bool) {
	n := t.NumElements()
	if t.RawData == nil {
		return t.FloatData, int64(len(t.FloatData)) == n
	}
	if n < 0 || int64(len(t.RawData)) != 4*n {
		return nil, false
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.RawData[4*i:]))
	}
	return out, true
}

// isBias reports a constant float vector of n finite elements, or, when
// scalarOK, a single one to broadcast.
func (q *quantizer) isBias(name string, n int64, scalarOK bool) bool {
	t := q.consts[name]
	if t == nil || t.DataType != TypeFloat {
		return false
	}
	if !(len(t.Dims) == 1 && t.Dims[0] == n) && !(scalarOK && len(t.Dims) <= 2 && t.NumElements() == 1) {
		return false
	}
	vs, ok := floats(t)
	return ok && !slices.ContainsFunc(vs, isNotFinite)
}

func isNotFinite(v float32) bool { return math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) }

func (q *quantizer) plan() []plan {
	var plans []plan
	for i, n := range q.g.Nodes {
		if !isDefaultDomain(n) {
			continue
		}
		var p plan
		var reason string
		switch n.OpType {
		case "MatMul":
			p, reason = q.planMatMul(i, n)
		case "Gemm":
			p, reason = q.planGemm(i, n)
		case "Conv":
			p, reason = q.planConv(i, n)
		default:
			continue
		}
		op := Int8Op{Node: nodeLabel(n), OpType: n.OpType, K: p.k, N: p.n, Reason: reason}
		if len(n.Inputs) > 1 && q.consts[n.Inputs[1]] != nil {
			op.Weight = n.Inputs[1]
		}
		if reason != "" {
			q.report.Float = append(q.report.Float, op)
			continue
		}
		op.Bias = p.bias != ""
		q.report.Quantized = append(q.report.Quantized, op)
		plans = append(plans, p)
	}
	return q.quantizeWeights(plans)
}

func (q *quantizer) planMatMul(i int, n *Node) (plan, string) {
	if len(n.Inputs) != 2 || len(n.Outputs) != 1 || n.Inputs[0] == "" {
		return plan{}, "malformed node"
	}
	p := plan{node: i, at: i, a: n.Inputs[0], out: n.Outputs[0], key: weightKey{name: n.Inputs[1], alpha: 1}}
	if why := q.matrixShape(&p); why != "" {
		return p, why
	}
	q.foldBias(&p)
	return p, ""
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
	if isNotFinite(alpha) || isNotFinite(beta) {
		return plan{}, "alpha or beta is not finite"
	}
	p := plan{node: i, at: i, a: n.Inputs[0], out: n.Outputs[0], beta: beta,
		key: weightKey{name: n.Inputs[1], transB: transB != 0, alpha: alpha}}
	if why := q.matrixShape(&p); why != "" {
		return p, why
	}
	c := ""
	if len(n.Inputs) == 3 {
		c = n.Inputs[2]
	}
	switch {
	case c == "" || beta == 0:
		q.foldBias(&p)
	case q.isBias(c, p.n, true):
		p.bias, p.scale = c, beta
	default:
		p.addC = c
	}
	return p, ""
}

func (q *quantizer) planConv(i int, n *Node) (plan, string) {
	if len(n.Inputs) < 2 || len(n.Inputs) > 3 || len(n.Outputs) != 1 || n.Inputs[0] == "" {
		return plan{}, "malformed node"
	}
	for _, a := range n.Attributes {
		switch a.Name {
		case "auto_pad", "dilations", "group", "kernel_shape", "pads", "strides":
		default:
			return plan{}, "unknown attribute " + a.Name
		}
	}
	p := plan{node: i, at: i, a: n.Inputs[0], out: n.Outputs[0], key: weightKey{name: n.Inputs[1], conv: true}}
	if why := q.checkWeight(p.key.name, 3, 5); why != "" {
		return p, why
	}
	p.w = q.consts[p.key.name]
	p.n = p.w.Dims[0]
	p.k = p.w.NumElements() / p.n
	if len(n.Inputs) == 3 && n.Inputs[2] != "" {
		if !q.isBias(n.Inputs[2], p.n, false) {
			return p, "bias is not a constant vector"
		}
		p.bias, p.scale = n.Inputs[2], 1
	}
	return p, ""
}

// matrixShape checks a MatMul's or Gemm's weight and sets K and N.
func (q *quantizer) matrixShape(p *plan) string {
	if why := q.checkWeight(p.key.name, 2, 2); why != "" {
		return why
	}
	p.w = q.consts[p.key.name]
	p.k, p.n = p.w.Dims[0], p.w.Dims[1]
	if p.key.transB {
		p.k, p.n = p.n, p.k
	}
	return ""
}

// foldBias moves an Add of a constant [N] vector into the quantized op when
// that Add is the only reader of the MatMul.
func (q *quantizer) foldBias(p *plan) {
	if q.uses[p.out] != 1 {
		return
	}
	j := q.reader[p.out]
	add := q.g.Nodes[j]
	if j <= p.node || add.OpType != "Add" || !isDefaultDomain(add) || len(add.Inputs) != 2 || len(add.Outputs) != 1 {
		return
	}
	other := add.Inputs[0]
	if other == p.out {
		other = add.Inputs[1]
	}
	if other == p.out || !q.isBias(other, p.n, false) {
		return
	}
	p.bias, p.scale, p.at, p.dropped, p.out = other, 1, j, p.out, add.Outputs[0]
}

// quantized is a weight in 8 bits with its scales, or why it cannot be.
type quantized struct {
	w         *Tensor // unnamed until the rewrite names it
	scales    []float32
	scaleDims []int64
	why       string
}

// quantizeWeights quantizes the distinct weights of the plans on all cores
// and drops the plans whose weight turned out unfit (a value that is not
// finite), reporting those nodes float. Names are given later, in plan
// order, so the output does not depend on scheduling.
func (q *quantizer) quantizeWeights(plans []plan) []plan {
	jobs := map[weightKey]*Tensor{}
	var keys []weightKey
	for _, p := range plans {
		if _, ok := jobs[p.key]; !ok {
			jobs[p.key] = p.w
			keys = append(keys, p.key)
		}
	}
	results := make([]quantized, len(keys))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(keys)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i] = quantizeWeight(keys[i], jobs[keys[i]], q.opts.ReduceRange)
			}
		}()
	}
	for i := range keys {
		next <- i
	}
	close(next)
	wg.Wait()
	done := map[weightKey]*quantized{}
	for i, k := range keys {
		done[k] = &results[i]
	}

	kept := plans[:0]
	report := q.report.Quantized[:0]
	for i, p := range plans {
		r := done[p.key]
		if r.why != "" {
			op := q.report.Quantized[i]
			op.Reason, op.Bias = r.why, false
			q.report.Float = append(q.report.Float, op)
			continue
		}
		p.qw = q.addWeight(p.key, r)
		kept, report = append(kept, p), append(report, q.report.Quantized[i])
	}
	q.report.Quantized = report
	return kept
}

// quantizeWeight makes the 8-bit form of one weight: for a MatMul or Gemm
// int8 [K, N] with per-column scales [N]; for a Conv uint8 (zero point
// 128, as ONNX Runtime's ConvInteger takes one zero point only) with
// per-channel scales [C, 1, …].
func quantizeWeight(key weightKey, w *Tensor, reduceRange bool) quantized {
	vs, _ := floats(w) // shape checked by checkWeight
	if slices.ContainsFunc(vs, isNotFinite) {
		return quantized{why: "weight holds a value that is not finite"}
	}
	if key.conv {
		return quantizeKernel(w, vs)
	}
	k, n := w.Dims[0], w.Dims[1]
	if key.transB {
		k, n = n, k
		t := make([]float32, len(vs))
		for r := range k {
			for c := range n {
				t[r*n+c] = vs[c*k+r]
			}
		}
		vs = t
	}
	qmax := 127.0
	if reduceRange {
		qmax = 63
	}
	alpha := float64(key.alpha)
	amax := make([]float64, n)
	for r := range k {
		for c, v := range vs[r*n : (r+1)*n] {
			amax[c] = max(amax[c], math.Abs(float64(v)*alpha))
		}
	}
	scales, why := columnScales(amax, qmax)
	if why != "" {
		return quantized{why: why}
	}
	raw := make([]byte, k*n)
	for r := range k {
		for c, v := range vs[r*n : (r+1)*n] {
			raw[r*n+int64(c)] = byte(int8(quantize(float64(v)*alpha, scales[c], qmax)))
		}
	}
	return quantized{w: &Tensor{DataType: TypeInt8, Dims: []int64{k, n}, RawData: raw}, scales: scales, scaleDims: []int64{n}}
}

func quantizeKernel(w *Tensor, vs []float32) quantized {
	n := w.Dims[0]
	k := int64(len(vs)) / n
	amax := make([]float64, n)
	for c := range n {
		for _, v := range vs[c*k : (c+1)*k] {
			amax[c] = max(amax[c], math.Abs(float64(v)))
		}
	}
	scales, why := columnScales(amax, 127)
	if why != "" {
		return quantized{why: why}
	}
	raw := make([]byte, len(vs))
	for i, v := range vs {
		raw[i] = byte(quantize(float64(v), scales[int64(i)/k], 127) + 128)
	}
	return quantized{w: &Tensor{DataType: TypeUint8, Dims: slices.Clone(w.Dims), RawData: raw},
		scales: scales, scaleDims: channelDims(n, len(w.Dims))}
}

// channelDims is [n, 1, …] shaped to broadcast over a Conv's output
// [batch, n, spatial…] for a weight of the given rank [n, in, spatial…].
func channelDims(n int64, weightRank int) []int64 {
	dims := make([]int64, weightRank-1)
	for i := range dims {
		dims[i] = 1
	}
	dims[0] = n
	return dims
}

// columnScales maps each column's largest magnitude to qmax.
func columnScales(amax []float64, qmax float64) ([]float32, string) {
	scales := make([]float32, len(amax))
	for c, a := range amax {
		switch {
		case a > math.MaxFloat32:
			return nil, "weight times alpha overflows float32"
		case a < 1e-30:
			scales[c] = 1 // a column of (near) zeros stays zero, without a denormal scale
		default:
			scales[c] = float32(a / qmax)
		}
	}
	return scales, ""
}

func quantize(v float64, scale float32, qmax float64) float64 {
	return max(-qmax, min(qmax, math.RoundToEven(v/float64(scale))))
}

// addWeight names a quantized weight and its scales (once per weight and
// layout) and adds them to the graph.
func (q *quantizer) addWeight(key weightKey, r *quantized) quantWeight {
	if qw, ok := q.weights[key]; ok {
		return qw
	}
	suffix := "_int8"
	if key.conv {
		suffix = "_uint8"
	}
	qw := quantWeight{q: q.fresh(key.name + suffix), scale: q.fresh(key.name + "_scale")}
	r.w.Name = qw.q
	q.newInit = append(q.newInit, r.w, FloatTensor(qw.scale, r.scaleDims, r.scales))
	q.weights[key] = qw
	q.report.FloatBytes += 4 * int64(len(r.w.RawData))
	q.report.Int8Bytes += int64(len(r.w.RawData)) + 4*int64(len(r.scales))
	return qw
}

// biasValue returns the name of the bias to add: the constant itself, or a
// copy scaled by Gemm's beta, broadcast from one element or shaped [C, 1, …]
// for a Conv.
func (q *quantizer) biasValue(p plan, rank int) string {
	t := q.consts[p.bias]
	if p.scale == 1 && len(t.Dims) == 1 && t.Dims[0] == p.n && !p.key.conv {
		return p.bias
	}
	vs, _ := floats(t) // checked by isBias
	out := make([]float32, p.n)
	for i := range out {
		out[i] = vs[min(i, len(vs)-1)] * p.scale
	}
	dims := []int64{p.n}
	if p.key.conv {
		dims = channelDims(p.n, rank)
	}
	name := q.fresh(p.bias + "_bias")
	q.newInit = append(q.newInit, FloatTensor(name, dims, out))
	return name
}

// quantizedInput returns the DynamicQuantizeLinear outputs of an
// activation, and the node making them the first time it is asked for.
func (q *quantizer) quantizedInput(a, prefix string) ([3]string, []*Node) {
	if aq, ok := q.dql[a]; ok {
		return aq, nil
	}
	aq := [3]string{q.fresh(prefix + "/a_quantized"), q.fresh(prefix + "/a_scale"), q.fresh(prefix + "/a_zero_point")}
	q.dql[a] = aq
	return aq, []*Node{{Name: q.fresh(prefix + "/DynamicQuantizeLinear"), OpType: "DynamicQuantizeLinear", Inputs: []string{a}, Outputs: aq[:]}}
}

// emit returns the nodes that replace one plan.
func (q *quantizer) emit(p plan, orig *Node) []*Node {
	name := orig.Name
	if name == "" {
		name = q.fresh(p.out + "_int8")
	}
	sub := func(suffix string) string { return q.fresh(name + "/" + suffix) }
	bias := ""
	if p.bias != "" {
		bias = q.biasValue(p, len(p.w.Dims))
	}
	out := p.out
	if p.addC != "" {
		out = sub("product")
	}
	var nodes []*Node
	if q.opts.Form == Int8Fused && !p.key.conv {
		q.usesMS = true
		in := []string{p.a, p.qw.q, p.qw.scale}
		if bias != "" {
			in = append(in, "", bias)
		}
		nodes = append(nodes, &Node{Name: name, OpType: "DynamicQuantizeMatMul", Domain: msDomain, Inputs: in, Outputs: []string{out}})
	} else {
		aq, dql := q.quantizedInput(p.a, name)
		nodes = append(nodes, dql...)
		i32, f, scale, scaled := sub("int32"), sub("float"), sub("scale"), out
		if bias != "" {
			scaled = sub("scaled")
		}
		integer := &Node{Name: name, OpType: "MatMulInteger", Inputs: []string{aq[0], p.qw.q, aq[2]}, Outputs: []string{i32}}
		if p.key.conv {
			integer.OpType = "ConvInteger"
			integer.Inputs = append(integer.Inputs, q.convZeroPoint())
			integer.Attributes = orig.Attributes
		}
		nodes = append(nodes, integer,
			&Node{Name: sub("Cast"), OpType: "Cast", Inputs: []string{i32}, Outputs: []string{f}, Attributes: []*Attribute{IntAttr("to", int64(TypeFloat))}},
			&Node{Name: sub("MulScales"), OpType: "Mul", Inputs: []string{aq[1], p.qw.scale}, Outputs: []string{scale}},
			&Node{Name: sub("Mul"), OpType: "Mul", Inputs: []string{f, scale}, Outputs: []string{scaled}})
		if bias != "" {
			nodes = append(nodes, &Node{Name: sub("AddBias"), OpType: "Add", Inputs: []string{scaled, bias}, Outputs: []string{out}})
		}
	}
	if p.addC != "" {
		c := p.addC
		if p.beta != 1 {
			beta := q.fresh(name + "/beta")
			q.newInit = append(q.newInit, FloatTensor(beta, nil, []float32{p.beta}))
			c = sub("scaled_c")
			nodes = append(nodes, &Node{Name: sub("MulBeta"), OpType: "Mul", Inputs: []string{p.addC, beta}, Outputs: []string{c}})
		}
		nodes = append(nodes, &Node{Name: sub("AddC"), OpType: "Add", Inputs: []string{out, c}, Outputs: []string{p.out}})
	}
	return nodes
}

// convZeroPoint is the uint8 scalar 128 all Conv weights share.
func (q *quantizer) convZeroPoint() string {
	if q.convZP == "" {
		q.convZP = q.fresh("conv_weight_zero_point")
		q.newInit = append(q.newInit, &Tensor{Name: q.convZP, DataType: TypeUint8, RawData: []byte{128}})
	}
	return q.convZP
}

func (q *quantizer) rewrite(plans []plan) *Graph {
	g := q.g
	removed := map[int]bool{} // node indexes that go
	at := map[int]int{}       // node index → plan emitted there
	dropped := map[string]bool{}
	for i, p := range plans {
		removed[p.node], removed[p.at] = true, true
		at[p.at] = i
		if p.dropped != "" {
			dropped[p.dropped] = true
		}
	}
	var nodes []*Node
	for i, n := range g.Nodes {
		if pi, ok := at[i]; ok {
			p := plans[pi]
			nodes = append(nodes, q.emit(p, g.Nodes[p.node])...)
		} else if !removed[i] {
			nodes = append(nodes, n)
		}
	}

	// Float weights (and their Constant nodes) nobody reads any more go.
	read := map[string]bool{}
	for _, n := range nodes {
		for _, in := range n.reads() {
			read[in] = true
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
	return &ng
}
