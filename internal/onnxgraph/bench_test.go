package onnxgraph_test

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	onnx "github.com/yalue/onnxruntime_go"

	"github.com/fashionclip/fashionclip/internal/onnxgraph"
	"github.com/fashionclip/fashionclip/internal/synth"
	"github.com/fashionclip/fashionclip/internal/testutil"
)

// The benchmarks below measure the int8 derivation against its float source
// on the synthetic ViT-B/32 (605 MB, generated once under the system's temp
// folder), A and B alternated in one loop so both see the same machine
// load. They run only with -bench:
//
//	go test ./internal/onnxgraph -run '^$' -bench Int8 -benchtime 20x

var (
	vitOnce   sync.Once
	vitTowers map[string]*onnxgraph.Model // "text", "vision" cut out of the combined graph
	vitErr    error
)

func vitb32(b *testing.B) map[string]*onnxgraph.Model {
	b.Helper()
	vitOnce.Do(func() {
		var dir string
		dir, vitErr = synth.Ensure(filepath.Join(os.TempDir(), "fashionclip-bench"), "combined", synth.ViTB32())
		if vitErr != nil {
			return
		}
		var m *onnxgraph.Model
		if m, vitErr = onnxgraph.ReadFile(filepath.Join(dir, "model.onnx")); vitErr != nil {
			return
		}
		vitTowers = map[string]*onnxgraph.Model{}
		for name, out := range map[string]string{"text": "text_embeds", "vision": "image_embeds"} {
			if vitTowers[name], vitErr = m.Prune([]string{out}); vitErr != nil {
				return
			}
		}
	})
	if vitErr != nil {
		b.Fatal(vitErr)
	}
	return vitTowers
}

// benchSession opens a graph the way fashionclip does: one intra-op thread
// per core, no inter-op pool, no spinning.
func benchSession(b *testing.B, m *onnxgraph.Model, inputs []string, output string) *onnx.DynamicAdvancedSession {
	b.Helper()
	testutil.InitORT(b)
	path := filepath.Join(b.TempDir(), "graph.onnx")
	if err := m.WriteFile(path); err != nil {
		b.Fatal(err)
	}
	so, err := onnx.NewSessionOptions()
	if err != nil {
		b.Fatal(err)
	}
	defer so.Destroy()
	for _, err := range []error{
		so.SetIntraOpNumThreads(runtime.NumCPU()), so.SetInterOpNumThreads(1),
		so.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"),
	} {
		if err != nil {
			b.Fatal(err)
		}
	}
	s, err := onnx.NewDynamicAdvancedSession(path, inputs, []string{output}, so)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Destroy() })
	return s
}

func runOnce(b *testing.B, s *onnx.DynamicAdvancedSession, in []onnx.Value) time.Duration {
	out := []onnx.Value{nil}
	start := time.Now()
	if err := s.Run(in, out); err != nil {
		b.Fatal(err)
	}
	d := time.Since(start)
	out[0].Destroy()
	return d
}

// abCompare runs the float and the int8 session alternately b.N times
// (after a warm-up run each) and reports both medians and their ratio.
func abCompare(b *testing.B, tower string, inputs []string, output string, feed []onnx.Value) {
	m := vitb32(b)[tower]
	q, _, err := m.QuantizeInt8(onnxgraph.Int8Options{})
	if err != nil {
		b.Fatal(err)
	}
	fp32 := benchSession(b, m, inputs, output)
	int8 := benchSession(b, q, inputs, output)
	runOnce(b, fp32, feed)
	runOnce(b, int8, feed)
	var tf, ti []time.Duration
	b.ResetTimer()
	for i := range b.N {
		if i%2 == 0 {
			tf = append(tf, runOnce(b, fp32, feed))
			ti = append(ti, runOnce(b, int8, feed))
		} else {
			ti = append(ti, runOnce(b, int8, feed))
			tf = append(tf, runOnce(b, fp32, feed))
		}
	}
	b.StopTimer()
	mf, mi := testutil.Median(tf), testutil.Median(ti)
	b.ReportMetric(float64(mf.Microseconds())/1000, "fp32-ms")
	b.ReportMetric(float64(mi.Microseconds())/1000, "int8-ms")
	b.ReportMetric(float64(mi)/float64(mf), "int8/fp32")
}

// Goal (issue 12): model-only vision throughput at batch 8, int8 ≥ 2.0×
// fp32, i.e. int8/fp32 ≤ 0.5.
func BenchmarkInt8VisionBatch8(b *testing.B) {
	testutil.InitORT(b)
	px := make([]float32, 8*3*224*224)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range px {
		px[i] = float32(rng.NormFloat64())
	}
	in, err := onnx.NewTensor(onnx.NewShape(8, 3, 224, 224), px)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Destroy()
	abCompare(b, "vision", []string{"pixel_values"}, "image_embeds", []onnx.Value{in})
}

// Goal (issue 12): one unpadded text query, int8 ≤ 0.5× fp32 latency.
func BenchmarkInt8TextQuery(b *testing.B) {
	testutil.InitORT(b)
	ids := []int64{synth.StartToken, 320, 1125, 539, 320, 736, 2595, synth.EndToken} // "a photo of a red dress"
	mask := []int64{1, 1, 1, 1, 1, 1, 1, 1}
	tIDs, err := onnx.NewTensor(onnx.NewShape(1, 8), ids)
	if err != nil {
		b.Fatal(err)
	}
	defer tIDs.Destroy()
	tMask, err := onnx.NewTensor(onnx.NewShape(1, 8), mask)
	if err != nil {
		b.Fatal(err)
	}
	defer tMask.Destroy()
	abCompare(b, "text", []string{"input_ids", "attention_mask"}, "text_embeds", []onnx.Value{tIDs, tMask})
}

// The one-off cost of deriving the int8 vision tower (cached afterwards).
func BenchmarkInt8Derive(b *testing.B) {
	m := vitb32(b)["vision"]
	b.ResetTimer()
	for range b.N {
		if _, _, err := m.QuantizeInt8(onnxgraph.Int8Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
