package onnxgraph_test

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/fashionclip/fashionclip/internal/onnxgraph"
	"github.com/fashionclip/fashionclip/internal/testutil"
)

// pb builds protobuf bytes by hand, for inputs Marshal would never write.
type pb []byte

func (b pb) varint(num protowire.Number, v uint64) pb {
	return protowire.AppendVarint(protowire.AppendTag(b, num, protowire.VarintType), v)
}

func (b pb) fixed32(num protowire.Number, v uint32) pb {
	return protowire.AppendFixed32(protowire.AppendTag(b, num, protowire.Fixed32Type), v)
}

func (b pb) bytes(num protowire.Number, v []byte) pb {
	return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), v)
}

func (b pb) str(num protowire.Number, s string) pb { return b.bytes(num, []byte(s)) }

// modelWithGraph wraps graph fields into ModelProto bytes (IR 8, opset 17).
func modelWithGraph(graph pb) []byte {
	return pb(nil).varint(1, 8).bytes(7, graph).bytes(8, pb(nil).varint(2, 17))
}

func TestParseWireForms(t *testing.T) {
	// dims and float_data one value per field rather than packed; a shape
	// with a literal 0, an unset and a named dimension.
	tensor := pb(nil).varint(1, 2).varint(1, 1).varint(2, 1).
		fixed32(4, math.Float32bits(1.5)).fixed32(4, math.Float32bits(-2.5)).str(8, "w")
	shape := pb(nil).bytes(1, pb(nil).varint(1, 0)).bytes(1, nil).bytes(1, pb(nil).str(2, "n"))
	typ := pb(nil).bytes(1, pb(nil).varint(1, 1).bytes(2, shape))
	graph := pb(nil).bytes(5, tensor).bytes(12, pb(nil).str(1, "w").bytes(2, typ))
	m, err := onnxgraph.Parse(modelWithGraph(graph))
	if err != nil {
		t.Fatal(err)
	}
	w := m.Graph.Initializers[0]
	vs, err := w.Float32s()
	if err != nil || !slices.Equal(w.Dims, []int64{2, 1}) || !slices.Equal(vs, []float32{1.5, -2.5}) {
		t.Errorf("tensor dims %v values %v (%v), want [2 1] [1.5 -2.5]", w.Dims, vs, err)
	}
	wantDims := []onnxgraph.Dim{{Value: 0}, {Value: -1}, {Value: -1, Param: "n"}}
	if got := m.Outputs()[0].Dims; !slices.Equal(got, wantDims) {
		t.Errorf("output dims %+v, want %+v", got, wantDims)
	}
	again, err := onnxgraph.Parse(mustMarshal(t, m))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m, again) {
		t.Error("round trip changed the model (dim presence lost?)")
	}
}

func TestUnknownFieldsSurvive(t *testing.T) {
	extra := pb(nil).varint(99, 42).str(98, "kept")
	node := pb(nil).str(1, "x").str(2, "y").str(4, "Identity").bytes(1000, extra)
	tensor := pb(nil).varint(2, 1).str(8, "c").bytes(9, make([]byte, 4)).bytes(3, pb(nil).varint(1, 0).varint(2, 1))
	xInfo := pb(nil).str(1, "x").bytes(2, pb(nil).bytes(1, pb(nil).varint(1, 1)))
	// TypeProto.sequence_type (4) is not modelled.
	seqInfo := pb(nil).str(1, "s").bytes(2, pb(nil).bytes(4, pb(nil).bytes(1, pb(nil).bytes(1, pb(nil).varint(1, 1)))))
	graph := pb(nil).bytes(1, node).bytes(5, tensor).bytes(11, xInfo).bytes(12, pb(nil).str(1, "y")).
		bytes(13, seqInfo).bytes(14, pb(nil).str(1, "annotated"))
	data := append(modelWithGraph(graph), pb(nil).bytes(25, pb(nil).str(1, "a_function"))...)

	m, err := onnxgraph.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		where string
		got   []byte
	}{
		{"model (functions)", m.Unknown},
		{"graph (quantization_annotation)", m.Graph.Unknown},
		{"node", m.Graph.Nodes[0].Unknown},
		{"tensor (segment)", m.Graph.Initializers[0].Unknown},
		{"type (sequence)", m.Graph.ValueInfo[0].Type.Unknown},
	}
	out := mustMarshal(t, m)
	again, err := onnxgraph.Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	againChecks := [][]byte{again.Unknown, again.Graph.Unknown, again.Graph.Nodes[0].Unknown,
		again.Graph.Initializers[0].Unknown, again.Graph.ValueInfo[0].Type.Unknown}
	for i, c := range checks {
		if len(c.got) == 0 {
			t.Errorf("%s: unknown field not kept", c.where)
		}
		if !slices.Equal(c.got, againChecks[i]) {
			t.Errorf("%s: unknown bytes changed in the round trip", c.where)
		}
	}
	if len(out) != len(data) {
		t.Errorf("re-marshalled %d bytes from %d: something was dropped or added", len(out), len(data))
	}
}

func TestAttributesRoundTrip(t *testing.T) {
	sub := &onnxgraph.Graph{Name: "body", Nodes: []*onnxgraph.Node{{OpType: "Identity", Inputs: []string{"a"}, Outputs: []string{"b"}}}}
	attrs := []*onnxgraph.Attribute{
		onnxgraph.FloatAttr("f", 0), // zero values must still be written
		onnxgraph.IntAttr("i", 0),
		onnxgraph.IntAttr("neg", -3),
		onnxgraph.StringAttr("s", ""),
		onnxgraph.TensorAttr("t", onnxgraph.FloatTensor("", []int64{2}, []float32{1, 2})),
		{Name: "g", Type: onnxgraph.AttrGraph, G: sub},
		onnxgraph.IntsAttr("ints", -1, 0, 1<<40),
		{Name: "floats", Type: onnxgraph.AttrFloats, Floats: []float32{0.5, -1}},
		{Name: "strings", Type: onnxgraph.AttrStrings, Strings: [][]byte{[]byte("x"), []byte("yz")}},
		{Name: "graphs", Type: onnxgraph.AttrGraphs, Graphs: []*onnxgraph.Graph{sub, sub}},
		{Name: "tensors", Type: onnxgraph.AttrTensors, Tensors: []*onnxgraph.Tensor{onnxgraph.Int64Tensor("k", nil, []int64{7})}},
	}
	m := &onnxgraph.Model{IRVersion: 8, OpsetImports: []onnxgraph.OpsetID{{Version: 17}}, Graph: &onnxgraph.Graph{
		Nodes: []*onnxgraph.Node{{OpType: "Custom", Domain: "test", Outputs: []string{"o"}, Attributes: attrs}},
	}}
	got, err := onnxgraph.Parse(mustMarshal(t, m))
	if err != nil {
		t.Fatal(err)
	}
	gotAttrs := got.Graph.Nodes[0].Attributes
	if len(gotAttrs) != len(attrs) {
		t.Fatalf("%d attributes came back, want %d", len(gotAttrs), len(attrs))
	}
	for i, want := range attrs {
		a := gotAttrs[i]
		// Parsing yields empty, non-nil byte slices where the builders had nil.
		if len(want.S) == 0 && len(a.S) == 0 {
			a.S = want.S
		}
		if !reflect.DeepEqual(a, want) {
			t.Errorf("attribute %s = %+v, want %+v", want.Name, a, want)
		}
	}
}

func TestExternalDataRejected(t *testing.T) {
	location := pb(nil).str(1, "location").str(2, "weights.bin")
	tests := []struct {
		name  string
		graph pb
	}{
		{"data_location", pb(nil).bytes(5, pb(nil).varint(2, 1).str(8, "w").varint(14, 1))},
		{"external_data entries", pb(nil).bytes(5, pb(nil).varint(2, 1).str(8, "w").bytes(13, location))},
		{"inside a Constant node", pb(nil).bytes(1, pb(nil).str(2, "c").str(4, "Constant").
			bytes(5, pb(nil).str(1, "value").varint(20, 4).bytes(5, pb(nil).varint(2, 1).varint(14, 1))))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := onnxgraph.Parse(modelWithGraph(tc.graph))
			if !errors.Is(err, onnxgraph.ErrExternalData) {
				t.Errorf("Parse error = %v, want ErrExternalData", err)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	valid := modelWithGraph(pb(nil).str(2, "g"))
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"no graph", pb(nil).varint(1, 8)},
		{"truncated", valid[:len(valid)-3]},
		{"bad tag", []byte{0xff, 0xff, 0xff}},
		{"length past the end", pb(nil).varint(1, 8).bytes(7, []byte{0x0a, 0x20, 0x01})},
		{"text file", []byte("this is not a model\n")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := onnxgraph.Parse(tc.data); err == nil {
				t.Error("Parse succeeded")
			}
		})
	}
	if _, err := onnxgraph.Parse(valid); err != nil {
		t.Errorf("control: valid model fails: %v", err)
	}
	if _, err := onnxgraph.ReadFile(filepath.Join(t.TempDir(), "missing.onnx")); err == nil {
		t.Error("ReadFile of a missing file succeeded")
	}
}

func TestInputsSkipInitializers(t *testing.T) {
	m := &onnxgraph.Model{Graph: &onnxgraph.Graph{
		Initializers: []*onnxgraph.Tensor{onnxgraph.FloatTensor("w", []int64{1}, []float32{1})},
		Inputs: []*onnxgraph.Value{
			onnxgraph.TensorValue("x", onnxgraph.TypeFloat, "batch", 4),
			onnxgraph.TensorValue("w", onnxgraph.TypeFloat, 1),
		},
	}}
	want := []onnxgraph.ValueInfo{{Name: "x", ElemType: onnxgraph.TypeFloat, Dims: []onnxgraph.Dim{{Value: -1, Param: "batch"}, {Value: 4}}}}
	if got := m.Inputs(); !reflect.DeepEqual(got, want) {
		t.Errorf("Inputs() = %+v, want %+v", got, want)
	}
}

// ifModel computes y = If(cond, c, -c) with c = x·x made outside the If:
// the branches read c from the enclosing scope. z = x+x is unrelated.
func ifModel() *onnxgraph.Model {
	branch := func(op string) *onnxgraph.Graph {
		return &onnxgraph.Graph{
			Name:    op,
			Nodes:   []*onnxgraph.Node{{OpType: op, Inputs: []string{"c"}, Outputs: []string{op + "_out"}}},
			Outputs: []*onnxgraph.Value{onnxgraph.TensorValue(op+"_out", onnxgraph.TypeFloat, 2)},
		}
	}
	return &onnxgraph.Model{IRVersion: 8, OpsetImports: []onnxgraph.OpsetID{{Version: 17}}, Graph: &onnxgraph.Graph{
		Name: "if",
		Nodes: []*onnxgraph.Node{
			{OpType: "Mul", Inputs: []string{"x", "x"}, Outputs: []string{"c"}},
			{OpType: "Add", Inputs: []string{"x", "x"}, Outputs: []string{"z"}},
			{OpType: "If", Inputs: []string{"cond"}, Outputs: []string{"y"}, Attributes: []*onnxgraph.Attribute{
				{Name: "then_branch", Type: onnxgraph.AttrGraph, G: branch("Identity")},
				{Name: "else_branch", Type: onnxgraph.AttrGraph, G: branch("Neg")},
			}},
		},
		Inputs: []*onnxgraph.Value{
			onnxgraph.TensorValue("x", onnxgraph.TypeFloat, 2),
			onnxgraph.TensorValue("cond", onnxgraph.TypeBool, 1),
		},
		Outputs: []*onnxgraph.Value{
			onnxgraph.TensorValue("y", onnxgraph.TypeFloat, 2),
			onnxgraph.TensorValue("z", onnxgraph.TypeFloat, 2),
		},
	}}
}

func TestPrune(t *testing.T) {
	tests := []struct {
		name    string
		outputs []string
		ops     []string // op types kept, in order
		inputs  []string
		wantErr bool
	}{
		{"subgraph reads outer scope", []string{"y"}, []string{"Mul", "If"}, []string{"x", "cond"}, false},
		{"plain", []string{"z"}, []string{"Add"}, []string{"x"}, false},
		{"both", []string{"z", "y"}, []string{"Mul", "Add", "If"}, []string{"x", "cond"}, false},
		{"intermediate value", []string{"c"}, []string{"Mul"}, []string{"x"}, false},
		{"an input", []string{"x"}, nil, []string{"x"}, false},
		{"unknown name", []string{"nope"}, nil, nil, true},
		{"named twice", []string{"y", "y"}, nil, nil, true},
		{"nothing", nil, nil, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := ifModel()
			p, err := m.Prune(tc.outputs)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Prune(%v) error = %v, want error %v", tc.outputs, err, tc.wantErr)
			}
			if err != nil {
				return
			}
			var ops []string
			for _, n := range p.Graph.Nodes {
				ops = append(ops, n.OpType)
			}
			if !slices.Equal(ops, tc.ops) {
				t.Errorf("kept ops %v, want %v", ops, tc.ops)
			}
			if got := inputNames(p); !slices.Equal(got, tc.inputs) {
				t.Errorf("inputs %v, want %v", got, tc.inputs)
			}
			var outs []string
			for _, o := range p.Outputs() {
				outs = append(outs, o.Name)
			}
			if !slices.Equal(outs, tc.outputs) {
				t.Errorf("outputs %v, want %v", outs, tc.outputs)
			}
			if len(m.Graph.Nodes) != 3 || len(m.Graph.Outputs) != 2 {
				t.Error("Prune modified the original model")
			}
		})
	}
}

func TestPrunedSubgraphRuns(t *testing.T) {
	p, err := ifModel().Prune([]string{"y"})
	if err != nil {
		t.Fatal(err)
	}
	data := mustMarshal(t, p)
	x := []float32{2, -3}
	for _, c := range []struct {
		cond bool
		want []float32
	}{{true, []float32{4, 9}}, {false, []float32{-4, -9}}} {
		got := testutil.RunONNX(t, data, []testutil.ORTInput{
			{Name: "x", Shape: []int64{2}, F32: x},
			{Name: "cond", Shape: []int64{1}, Bool: []bool{c.cond}},
		}, "y")
		if !slices.Equal(got["y"].Data, c.want) {
			t.Errorf("cond %v: y = %v, want %v", c.cond, got["y"].Data, c.want)
		}
	}
}

// logitsGraph builds logits_per_text from text t and image i embeddings
// with the given nodes and initializers placed before the output.
func logitsGraph(nodes []*onnxgraph.Node, inits ...*onnxgraph.Tensor) *onnxgraph.Model {
	all := append([]*onnxgraph.Node{{OpType: "Transpose", Inputs: []string{"i"}, Outputs: []string{"iT"}}}, nodes...)
	return &onnxgraph.Model{Graph: &onnxgraph.Graph{Nodes: all, Initializers: inits,
		Outputs: []*onnxgraph.Value{{Name: "logits_per_text"}}}}
}

func scalarF(name string, v float32) *onnxgraph.Tensor {
	return onnxgraph.FloatTensor(name, nil, []float32{v})
}

func TestLogitScale(t *testing.T) {
	mm := func(a, b, out string) *onnxgraph.Node {
		return &onnxgraph.Node{OpType: "MatMul", Inputs: []string{a, b}, Outputs: []string{out}}
	}
	op := func(typ, a, b, out string) *onnxgraph.Node {
		return &onnxgraph.Node{OpType: typ, Inputs: []string{a, b}, Outputs: []string{out}}
	}
	exp := func(in string) *onnxgraph.Node {
		return &onnxgraph.Node{OpType: "Exp", Inputs: []string{in}, Outputs: []string{"scale"}}
	}
	constant := func(out string, a *onnxgraph.Attribute) *onnxgraph.Node {
		return &onnxgraph.Node{OpType: "Constant", Outputs: []string{out}, Attributes: []*onnxgraph.Attribute{a}}
	}
	ln50 := float32(math.Log(50))
	tests := []struct {
		name string
		m    *onnxgraph.Model
		want float32
		ok   bool
	}{
		{"exp of initializer after matmul", logitsGraph([]*onnxgraph.Node{
			exp("ls"), mm("t", "iT", "sim"), op("Mul", "sim", "scale", "logits_per_text")}, scalarF("ls", ln50)), 50, true},
		{"exp of initializer before matmul", logitsGraph([]*onnxgraph.Node{
			exp("ls"), op("Mul", "scale", "t", "ts"), mm("ts", "iT", "logits_per_text")}, scalarF("ls", ln50)), 50, true},
		{"exp of Constant tensor", logitsGraph([]*onnxgraph.Node{
			constant("ls", onnxgraph.TensorAttr("value", scalarF("", ln50))), exp("ls"),
			mm("t", "iT", "sim"), op("Mul", "sim", "scale", "logits_per_text")}), 50, true},
		{"exp of Constant value_float", logitsGraph([]*onnxgraph.Node{
			constant("ls", onnxgraph.FloatAttr("value_float", ln50)), exp("ls"),
			mm("t", "iT", "sim"), op("Mul", "sim", "scale", "logits_per_text")}), 50, true},
		{"folded after matmul", logitsGraph([]*onnxgraph.Node{
			mm("t", "iT", "sim"), op("Mul", "k", "sim", "logits_per_text")}, scalarF("k", 20)), 20, true},
		{"folded before matmul", logitsGraph([]*onnxgraph.Node{
			op("Mul", "t", "k", "ts"), mm("ts", "iT", "logits_per_text")}, scalarF("k", 20)), 20, true},
		{"folded division", logitsGraph([]*onnxgraph.Node{
			mm("t", "iT", "sim"), op("Div", "sim", "k", "logits_per_text")}, scalarF("k", 0.01)), 100, true},
		{"no scale", logitsGraph([]*onnxgraph.Node{mm("t", "iT", "logits_per_text")}), 0, false},
		{"exp of a vector", logitsGraph([]*onnxgraph.Node{
			exp("ls"), mm("t", "iT", "sim"), op("Mul", "sim", "scale", "logits_per_text")},
			onnxgraph.FloatTensor("ls", []int64{2}, []float32{1, 2})), 0, false},
		{"scale by a computed value", logitsGraph([]*onnxgraph.Node{
			mm("t", "iT", "sim"), op("Mul", "sim", "t", "logits_per_text")}), 0, false},
		{"no logits output", &onnxgraph.Model{Graph: &onnxgraph.Graph{Nodes: []*onnxgraph.Node{exp("ls")},
			Initializers: []*onnxgraph.Tensor{scalarF("ls", 1)}}}, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.m.LogitScale()
			if ok != tc.ok || math.Abs(float64(got-tc.want)) > 1e-4*float64(max(tc.want, 1)) {
				t.Errorf("LogitScale() = %v, %v; want %v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

type failWriter struct{ after int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.after -= len(p); w.after < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestWriteFileAndErrors(t *testing.T) {
	m := ifModel()
	m.Graph.Initializers = []*onnxgraph.Tensor{onnxgraph.FloatTensor("big", []int64{100000}, make([]float32, 100000))}
	path := filepath.Join(t.TempDir(), "m.onnx")
	if err := m.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	back, err := onnxgraph.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Graph.Initializers[0].RawData) != 400000 || len(back.Graph.Nodes) != 3 {
		t.Error("file does not hold the model")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	for _, after := range []int{0, 100, 300000} {
		if _, err := m.WriteTo(&failWriter{after: after}); err == nil {
			t.Errorf("WriteTo ignored a write error after %d bytes", after)
		}
	}
	if err := m.WriteFile(filepath.Join(t.TempDir(), "no", "such", "dir", "m.onnx")); err == nil {
		t.Error("WriteFile into a missing folder succeeded")
	}
}
