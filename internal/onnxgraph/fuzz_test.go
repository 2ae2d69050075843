package onnxgraph_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/fashionclip/fashionclip/internal/onnxgraph"
	"github.com/fashionclip/fashionclip/internal/synth"
)

// nestedIfs builds a ModelProto whose graph holds an If whose then_branch
// holds an If, depth levels deep. Every message ends with its nested one, so
// the bytes are written outside in from sizes counted inside out: linear
// time for the million levels of the hostile file.
func nestedIfs(depth int) []byte {
	attrHead := pb(nil).str(1, "then_branch").varint(20, uint64(onnxgraph.AttrGraph))
	nodeHead := pb(nil).str(4, "If")
	graphSize := make([]int, depth+1) // graphSize[i]: a graph holding i levels below it
	nodeSize := make([]int, depth+1)
	attrSize := make([]int, depth+1)
	for i := 1; i <= depth; i++ {
		attrSize[i] = len(attrHead) + 1 + protowire.SizeBytes(graphSize[i-1])
		nodeSize[i] = len(nodeHead) + 1 + protowire.SizeBytes(attrSize[i])
		graphSize[i] = 1 + protowire.SizeBytes(nodeSize[i])
	}
	out := pb(nil).varint(1, 8).bytes(8, pb(nil).varint(2, 17))
	out = protowire.AppendVarint(protowire.AppendTag(out, 7, protowire.BytesType), uint64(graphSize[depth]))
	for i := depth; i >= 1; i-- {
		out = protowire.AppendVarint(protowire.AppendTag(out, 1, protowire.BytesType), uint64(nodeSize[i]))
		out = append(out, nodeHead...)
		out = protowire.AppendVarint(protowire.AppendTag(out, 5, protowire.BytesType), uint64(attrSize[i]))
		out = append(out, attrHead...)
		out = protowire.AppendVarint(protowire.AppendTag(out, 6, protowire.BytesType), uint64(graphSize[i-1]))
	}
	return out
}

func TestSubgraphDepthLimit(t *testing.T) {
	m, err := onnxgraph.Parse(nestedIfs(onnxgraph.MaxSubgraphDepth))
	if err != nil {
		t.Fatalf("%d levels, the limit: %v", onnxgraph.MaxSubgraphDepth, err)
	}
	depth := 0
	for g := m.Graph; len(g.Nodes) > 0; g = g.Nodes[0].Attributes[0].G {
		depth++
	}
	if depth != onnxgraph.MaxSubgraphDepth {
		t.Errorf("parsed %d levels, want %d", depth, onnxgraph.MaxSubgraphDepth)
	}
	if again, err := onnxgraph.Parse(mustMarshal(t, m)); err != nil || len(again.Graph.Nodes) != 1 {
		t.Errorf("round trip at the limit: %v", err)
	}

	// The hostile file: a million levels in 25 MB.
	for _, levels := range []int{onnxgraph.MaxSubgraphDepth + 1, 1_000_000} {
		data := nestedIfs(levels)
		_, err := onnxgraph.Parse(data)
		if !errors.Is(err, onnxgraph.ErrTooDeep) {
			t.Fatalf("%d levels (%d bytes): error %v, want ErrTooDeep", levels, len(data), err)
		}
		if msg := err.Error(); !strings.Contains(msg, "64") || len(msg) > 200 {
			t.Errorf("message %q should name the limit, once", msg)
		}
	}
	path := filepath.Join(t.TempDir(), "deep.onnx")
	if err := os.WriteFile(path, nestedIfs(1000), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := onnxgraph.ReadFile(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("ReadFile error %v should name the file", err)
	}
}

// FuzzParse feeds mutated graphs to the reader and, when they parse, to
// everything fashionclip does with a graph: it must return errors, never
// panic, hang or allocate without bound. Seeds (testdata/fuzz/FuzzParse)
// are the synthetic tiny towers with their weights shrunk, and small graphs
// with subgraphs, Gemm and Constant weights (TestWriteFuzzSeeds writes them).
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := onnxgraph.Parse(data)
		if err != nil {
			return
		}
		b1, err := m.Marshal()
		if err != nil {
			t.Fatalf("marshal a parsed model: %v", err)
		}
		if int64(len(b1)) != m.Size() {
			t.Fatalf("Size() = %d, Marshal wrote %d", m.Size(), len(b1))
		}
		m2, err := onnxgraph.Parse(b1)
		if err != nil {
			t.Fatalf("re-parse a marshalled model: %v", err)
		}
		// A marshal of a parsed model is canonical: it comes back the same.
		if b2, err := m2.Marshal(); err != nil || !bytes.Equal(b1, b2) {
			t.Fatalf("second marshal differs (%v)", err)
		}
		m.Inputs()
		m.LogitScale()
		var outs []string
		for _, o := range m.Outputs() {
			outs = append(outs, o.Name)
		}
		if p, err := m.Prune(outs); err == nil {
			if _, err := p.Marshal(); err != nil {
				t.Fatalf("marshal a pruned model: %v", err)
			}
		}
		for _, opts := range []onnxgraph.Int8Options{{}, {Form: onnxgraph.Int8Fused}} {
			q, rep, err := m.QuantizeInt8(opts)
			if err != nil {
				continue
			}
			if len(rep.Quantized) == 0 {
				t.Fatal("QuantizeInt8 succeeded with nothing quantized")
			}
			qb, err := q.Marshal()
			if err != nil {
				t.Fatalf("marshal a quantized model: %v", err)
			}
			if _, err := onnxgraph.Parse(qb); err != nil {
				t.Fatalf("re-parse a quantized model: %v", err)
			}
		}
	})
}

var writeSeeds = flag.Bool("write-fuzz-seeds", false, "rewrite testdata/fuzz/FuzzParse from the fixtures")

// shrunk returns m with every initializer (and Constant value) over 16
// elements cut to at most 4 per dimension: the graph keeps its structure,
// and the seed stays small enough to mutate quickly.
func shrunk(m *onnxgraph.Model) *onnxgraph.Model {
	shrink := func(t *onnxgraph.Tensor) *onnxgraph.Tensor {
		if t == nil || t.NumElements() <= 16 || t.RawData == nil {
			return t
		}
		c := *t
		c.Dims = nil
		for _, d := range t.Dims {
			c.Dims = append(c.Dims, min(d, 4))
		}
		width := len(t.RawData) / int(t.NumElements())
		c.RawData = t.RawData[:int(c.NumElements())*width]
		return &c
	}
	g := *m.Graph
	g.Initializers = nil
	for _, t := range m.Graph.Initializers {
		g.Initializers = append(g.Initializers, shrink(t))
	}
	out := *m
	out.Graph = &g
	return &out
}

func TestWriteFuzzSeeds(t *testing.T) {
	if !*writeSeeds {
		t.Skip("run with -write-fuzz-seeds to rewrite the seed corpus")
	}
	cfg := synth.Tiny()
	cfg.TextLayers, cfg.VisionLayers = 1, 1
	text, err := synth.TextModel(cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	vision, err := synth.VisionModel(cfg)
	if err != nil {
		t.Fatal(err)
	}
	seeds := map[string][]byte{
		"synthetic-text":   mustMarshal(t, shrunk(text)),
		"synthetic-vision": mustMarshal(t, shrunk(vision)),
		"if-subgraphs":     mustMarshal(t, ifModel()),
		"nested-ifs":       nestedIfs(3),
		"matmul-bias":      mustMarshal(t, graph1([]*onnxgraph.Node{node("MatMul", []string{"x", "w"}, "mm"), node("Add", []string{"b", "mm"}, "y")}, w34, bias)),
		"gemm-constant": mustMarshal(t, graph1([]*onnxgraph.Node{
			{Name: "k", OpType: "Constant", Outputs: []string{"wc"}, Attributes: []*onnxgraph.Attribute{onnxgraph.TensorAttr("value", w43)}},
			node("Gemm", []string{"x", "wc", "c"}, "y", onnxgraph.IntAttr("transB", 1), onnxgraph.FloatAttr("beta", 0.5))},
			onnxgraph.FloatTensor("c", nil, []float32{3}))),
	}
	for _, target := range []string{"FuzzParse", "FuzzReadSignature"} {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, data := range seeds {
			if _, err := onnxgraph.Parse(data); err != nil {
				t.Fatalf("seed %s does not parse: %v", name, err)
			}
			body := "go test fuzz v1\n[]byte(" + strconv.Quote(string(data)) + ")\n"
			if err := os.WriteFile(filepath.Join(dir, "seed-"+name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %d bytes", name, len(data))
		}
	}
}

// FuzzReadSignature checks the header-only reader against the full parser
// on the same seeds: where Parse accepts a model, ReadSignature must give
// the same inputs and outputs.
func FuzzReadSignature(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		in, out, err := onnxgraph.ReadSignature(bytes.NewReader(data), int64(len(data)))
		m, perr := onnxgraph.Parse(data)
		if perr != nil {
			return
		}
		if err != nil {
			t.Fatalf("Parse accepts the model, ReadSignature fails: %v", err)
		}
		if !reflect.DeepEqual(in, m.Inputs()) || !reflect.DeepEqual(out, m.Outputs()) {
			t.Fatalf("signature %v → %v, Parse gives %v → %v", in, out, m.Inputs(), m.Outputs())
		}
	})
}
