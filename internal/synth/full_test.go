package synth

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/fashionclip/fashionclip/internal/testutil"
	ort "github.com/yalue/onnxruntime_go"
)

// TestViTB32 writes the full-size model in both layouts and times it, and
// the split text graph's latency when ONNX Runtime is there. It takes
// ~1.2 GB of disk and some seconds, so it runs only on request:
// FASHIONCLIP_SYNTH_FULL=1 go test -run ViTB32 -v ./internal/synth/
func TestViTB32(t *testing.T) {
	if os.Getenv("FASHIONCLIP_SYNTH_FULL") != "1" {
		t.Skip("set FASHIONCLIP_SYNTH_FULL=1 to generate the full ViT-B/32-sized model")
	}
	if testing.Short() {
		t.Skip("-short")
	}
	dir := t.TempDir()
	cfg := ViTB32()
	for _, layout := range []string{"combined", "split"} {
		start := time.Now()
		if err := Write(filepath.Join(dir, layout), layout, cfg); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: written in %v", layout, time.Since(start).Round(time.Millisecond))
	}
	sizes := map[string]int64{}
	for _, f := range []string{"combined/model.onnx", "split/onnx/text_model.onnx", "split/onnx/vision_model.onnx"} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		sizes[f] = st.Size()
		t.Logf("%s: %.1f MB", f, float64(st.Size())/1e6)
	}
	// 151 M float32 parameters, plus a few small constants.
	if s := sizes["combined/model.onnx"]; s < 600e6 || s > 610e6 {
		t.Errorf("combined model is %d bytes, want about 605 MB", s)
	}

	if os.Getenv("FASHIONCLIP_ORT_LIB") == "" {
		return
	}
	testutil.InitORT(t)
	ids := buildVocabulary().tokenize("a photo of a red dress")
	in, err := ort.NewTensor(ort.NewShape(1, int64(len(ids))), ids)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Destroy()
	start := time.Now()
	sess, err := ort.NewDynamicAdvancedSession(filepath.Join(dir, "split", "onnx", "text_model.onnx"),
		[]string{"input_ids"}, []string{"text_embeds"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Destroy()
	t.Logf("text session created in %v", time.Since(start).Round(time.Millisecond))
	var times []time.Duration
	for range 20 {
		outs := []ort.Value{nil}
		start := time.Now()
		if err := sess.Run([]ort.Value{in}, outs); err != nil {
			t.Fatal(err)
		}
		times = append(times, time.Since(start))
		outs[0].Destroy()
	}
	slices.Sort(times)
	t.Logf("split text graph, 1 text of %d tokens: median %v, min %v over %d runs", len(ids), times[len(times)/2], times[0], len(times))
}

func BenchmarkWriteTinyCombined(b *testing.B) {
	dir := b.TempDir()
	for b.Loop() {
		if err := WriteCombined(dir, Tiny()); err != nil {
			b.Fatal(err)
		}
	}
}
