package onnxgraph_test

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"unsafe"

	"github.com/fashionclip/fashionclip/internal/onnxgraph"
	"github.com/fashionclip/fashionclip/internal/synth"
	"github.com/fashionclip/fashionclip/internal/testutil"
)

// clipModels are combined CLIP graphs to test against: the reference kit's
// Optimum export (skipped where ../shared is absent) and synth's own.
var clipModels = []struct {
	name string
	load func(t *testing.T) []byte
}{
	{"reference tiny-optimum", func(t *testing.T) []byte {
		b, err := os.ReadFile(filepath.Join(testutil.ReferenceDir(t), "models", "tiny-optimum", "model.onnx"))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}},
	{"synthetic tiny", func(t *testing.T) []byte {
		m, err := synth.CombinedModel(synth.Tiny())
		if err != nil {
			t.Fatal(err)
		}
		b, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}},
}

// clipInputs are two texts (the second padded) and three random images.
func clipInputs() (text, vision []testutil.ORTInput) {
	ids := []int64{
		49406, 320, 1125, 539, 320, 736, 2595, 49407,
		49406, 7051, 49407, 49407, 49407, 49407, 49407, 49407,
	}
	mask := []int64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0}
	rng := rand.New(rand.NewPCG(1, 2))
	px := make([]float32, 3*3*224*224)
	for i := range px {
		px[i] = float32(rng.NormFloat64())
	}
	text = []testutil.ORTInput{
		{Name: "input_ids", Shape: []int64{2, 8}, I64: ids},
		{Name: "attention_mask", Shape: []int64{2, 8}, I64: mask},
	}
	vision = []testutil.ORTInput{{Name: "pixel_values", Shape: []int64{3, 3, 224, 224}, F32: px}}
	return text, vision
}

var clipOutputs = []string{"logits_per_image", "logits_per_text", "text_embeds", "image_embeds"}

func mustMarshal(t *testing.T, m *onnxgraph.Model) []byte {
	t.Helper()
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sameOutput(t *testing.T, what string, got, want testutil.ORTOutput) {
	t.Helper()
	if !slices.Equal(got.Shape, want.Shape) {
		t.Errorf("%s: shape %v, want %v", what, got.Shape, want.Shape)
		return
	}
	for i := range want.Data {
		if math.Float32bits(got.Data[i]) != math.Float32bits(want.Data[i]) {
			t.Errorf("%s[%d] = %v, want %v (bit-identical)", what, i, got.Data[i], want.Data[i])
			return
		}
	}
}

func TestRoundTripCLIP(t *testing.T) {
	for _, tc := range clipModels {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.load(t)
			m1, err := onnxgraph.Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			// Initializer bytes must alias the input, not be copies.
			lo, hi := uintptr(unsafe.Pointer(&data[0])), uintptr(unsafe.Pointer(&data[len(data)-1]))
			for _, in := range m1.Graph.Initializers {
				if len(in.RawData) > 0 {
					if p := uintptr(unsafe.Pointer(&in.RawData[0])); p < lo || p > hi {
						t.Fatalf("initializer %s was copied out of the input", in.Name)
					}
				}
			}
			b1 := mustMarshal(t, m1)
			if int64(len(b1)) != m1.Size() {
				t.Errorf("Size() = %d, Marshal gave %d bytes", m1.Size(), len(b1))
			}
			m2, err := onnxgraph.Parse(b1)
			if err != nil {
				t.Fatalf("parse re-marshalled model: %v", err)
			}
			if !reflect.DeepEqual(m1, m2) {
				t.Fatal("model changed through Marshal and Parse")
			}
			if b2 := mustMarshal(t, m2); !bytes.Equal(b1, b2) {
				t.Error("second Marshal differs from the first")
			}

			text, vision := clipInputs()
			ins := append(text, vision...)
			want := testutil.RunONNX(t, data, ins, clipOutputs...)
			got := testutil.RunONNX(t, b1, ins, clipOutputs...)
			for _, name := range clipOutputs {
				sameOutput(t, name, got[name], want[name])
			}
		})
	}
}

// nodeKey identifies a node across a model and its pruned copies, which
// share node pointers.
func nodeSet(m *onnxgraph.Model) map[*onnxgraph.Node]bool {
	s := map[*onnxgraph.Node]bool{}
	for _, n := range m.Graph.Nodes {
		s[n] = true
	}
	return s
}

func inputNames(m *onnxgraph.Model) []string {
	var names []string
	for _, v := range m.Inputs() {
		names = append(names, v.Name)
	}
	return names
}

func TestPruneCLIP(t *testing.T) {
	for _, tc := range clipModels {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.load(t)
			full, err := onnxgraph.Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			text, err := full.Prune([]string{"text_embeds"})
			if err != nil {
				t.Fatal(err)
			}
			vision, err := full.Prune([]string{"image_embeds"})
			if err != nil {
				t.Fatal(err)
			}

			if got := inputNames(text); !slices.Equal(got, []string{"input_ids", "attention_mask"}) {
				t.Errorf("text graph inputs = %v, want input_ids and attention_mask", got)
			}
			if got := inputNames(vision); !slices.Equal(got, []string{"pixel_values"}) {
				t.Errorf("vision graph inputs = %v, want pixel_values", got)
			}
			for _, c := range []struct {
				m       *onnxgraph.Model
				output  string
				foreign string // an op only the other tower has
			}{{text, "text_embeds", "Conv"}, {vision, "image_embeds", "ArgMax"}} {
				if outs := c.m.Outputs(); len(outs) != 1 || outs[0].Name != c.output || len(outs[0].Dims) != 2 {
					t.Errorf("outputs = %+v, want %s with its declared shape", outs, c.output)
				}
				used := map[string]bool{}
				for _, n := range c.m.Graph.Nodes {
					if n.OpType == c.foreign {
						t.Errorf("%s graph kept a %s node (%s)", c.output, n.OpType, n.Name)
					}
					for _, in := range n.Inputs {
						used[in] = true
					}
				}
				for _, in := range c.m.Graph.Initializers {
					if !used[in.Name] {
						t.Errorf("%s graph kept unused initializer %s", c.output, in.Name)
					}
				}
			}
			// The towers split the graph: they share no computation beyond
			// constants, and together with the logits head make up all of it.
			textNodes, visionNodes := nodeSet(text), nodeSet(vision)
			for n := range textNodes {
				if visionNodes[n] && n.OpType != "Constant" {
					t.Errorf("node %s (%s) is in both towers", n.Name, n.OpType)
				}
			}
			if len(textNodes)+len(visionNodes) >= len(full.Graph.Nodes) || len(textNodes) < 20 || len(visionNodes) < 20 {
				t.Errorf("node counts: text %d + vision %d, full %d", len(textNodes), len(visionNodes), len(full.Graph.Nodes))
			}
			t.Logf("nodes: full %d, text %d, vision %d", len(full.Graph.Nodes), len(textNodes), len(visionNodes))

			textIn, visionIn := clipInputs()
			want := testutil.RunONNX(t, data, append(textIn, visionIn...), clipOutputs...)
			gotText := testutil.RunONNX(t, mustMarshal(t, text), textIn, "text_embeds")
			gotVision := testutil.RunONNX(t, mustMarshal(t, vision), visionIn, "image_embeds")
			sameOutput(t, "text_embeds", gotText["text_embeds"], want["text_embeds"])
			sameOutput(t, "image_embeds", gotVision["image_embeds"], want["image_embeds"])
		})
	}
}

func TestLogitScaleCLIP(t *testing.T) {
	for _, tc := range clipModels {
		t.Run(tc.name, func(t *testing.T) {
			m, err := onnxgraph.Parse(tc.load(t))
			if err != nil {
				t.Fatal(err)
			}
			s, ok := m.LogitScale()
			if !ok || math.Abs(float64(s)-100) > 1e-3 {
				t.Errorf("LogitScale() = %v, %v; want 100, true", s, ok)
			}
			text, err := m.Prune([]string{"text_embeds"})
			if err != nil {
				t.Fatal(err)
			}
			if s, ok := text.LogitScale(); ok {
				t.Errorf("text tower alone has logit scale %v", s)
			}
		})
	}
}
