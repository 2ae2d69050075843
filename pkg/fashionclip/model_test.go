package fashionclip

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/fashionclip/fashionclip/internal/testutil"
)

// Images whose reference pixels come from Pillow conversions we deliberately
// do not copy (see pkg/imageproc's DEVIATIONS).
var deviatingImages = map[string]bool{"k_gray16.png": true}

func loadReference(t *testing.T) (string, testutil.ReferenceEmbeddings) {
	t.Helper()
	ref := testutil.ReferenceDir(t)
	testutil.ORTLibrary(t)
	return ref, testutil.LoadReferenceEmbeddings(t)
}

// testRuntime loads ONNX Runtime for the package's tests.
func testRuntime(t testing.TB) *Runtime {
	t.Helper()
	testutil.ORTLibrary(t)
	rt, err := NewRuntime(RuntimeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

func loadModel(t *testing.T, dir string) *Model {
	t.Helper()
	m, err := testRuntime(t).Load(context.Background(), dir, Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func TestParityWithReferenceKit(t *testing.T) {
	ref, want := loadReference(t)
	ctx := context.Background()
	for _, layout := range []string{"tiny-optimum", "tiny-split"} {
		t.Run(layout, func(t *testing.T) {
			m := loadModel(t, filepath.Join(ref, "models", layout))
			texts := make([]string, 0, len(want.Texts))
			for text := range want.Texts {
				texts = append(texts, text)
			}
			sort.Strings(texts)
			got, err := m.EncodeTexts(ctx, texts)
			if err != nil {
				t.Fatal(err)
			}
			worst := 1.0
			for i, text := range texts {
				c := testutil.Cosine(got[i], want.Texts[text])
				worst = math.Min(worst, c)
				if c < 0.99999 {
					t.Errorf("text %q: cosine %.7f to the reference", text, c)
				}
			}
			t.Logf("%d texts, worst cosine %.8f", len(texts), worst)

			var paths []string
			for name := range want.Images {
				paths = append(paths, filepath.Join(ref, "images", name))
			}
			sort.Strings(paths)
			res, err := m.EncodeImageFiles(ctx, paths)
			if err != nil {
				t.Fatal(err)
			}
			worst = 1.0
			for _, r := range res {
				name := filepath.Base(r.Item)
				if r.Err != nil {
					t.Errorf("%s: %v", name, r.Err)
					continue
				}
				c := testutil.Cosine(r.Embedding, want.Images[name])
				if deviatingImages[name] {
					t.Logf("%s (documented deviation): cosine %.6f", name, c)
					continue
				}
				worst = math.Min(worst, c)
				if c < 0.99999 {
					t.Errorf("image %s: cosine %.7f to the reference", name, c)
				}
			}
			t.Logf("%d images, worst cosine %.8f", len(paths), worst)
		})
	}
}

func TestBatchPaddingDoesNotChangeEmbeddings(t *testing.T) {
	ref, _ := loadReference(t)
	m := loadModel(t, filepath.Join(ref, "models", "tiny-optimum"))
	ctx := context.Background()
	texts := []string{"a", "a photo of a red leather ankle boot with a long description that pads others", "sneaker"}
	batch, err := m.EncodeTexts(ctx, texts)
	if err != nil {
		t.Fatal(err)
	}
	for i, text := range texts {
		alone, err := m.EncodeText(ctx, text)
		if err != nil {
			t.Fatal(err)
		}
		if c := testutil.Cosine(alone, batch[i]); c < 0.999999 {
			t.Errorf("%q: batched vs alone cosine %.8f", text, c)
		}
	}
}

func TestTextOnlyNeverLoadsVision(t *testing.T) {
	ref, _ := loadReference(t)
	m := loadModel(t, filepath.Join(ref, "models", "tiny-optimum"))
	if _, err := m.EncodeText(context.Background(), "red dress"); err != nil {
		t.Fatal(err)
	}
	if m.vision.sess != nil {
		t.Fatal("a text-only call created the vision session")
	}
	if m.LogitScale() < 99.99 || m.LogitScale() > 100.01 {
		t.Fatalf("logit scale %v, want 100 read from the graph", m.LogitScale())
	}
	// The text graph cut from the combined model has no pixel input.
	if m.text.sess.HasInput("pixel_values") {
		t.Fatal("text graph still takes pixel_values: the combined graph was not split")
	}
}

func TestClassifyScoresMatchReferenceSoftmax(t *testing.T) {
	ref, want := loadReference(t)
	labels := []string{"sneaker", "boot", "sandal"}
	for _, layout := range []string{"tiny-optimum", "tiny-split"} {
		t.Run(layout, func(t *testing.T) {
			m := loadModel(t, filepath.Join(ref, "models", layout))
			l, err := m.EmbedLabels(context.Background(), labels, []string{"{}"})
			if err != nil {
				t.Fatal(err)
			}
			for name, img := range want.Images {
				if deviatingImages[name] {
					continue
				}
				res, err := m.EncodeImageFiles(context.Background(), []string{filepath.Join(ref, "images", name)})
				if err != nil || res[0].Err != nil {
					t.Fatal(err, res[0].Err)
				}
				got := l.Score(res[0].Embedding, m.LogitScale(), ScoreOptions{})
				cos := make([]float64, len(labels))
				for i, lab := range labels {
					cos[i] = testutil.Cosine(img, want.Texts[lab])
				}
				exp := Softmax(cos, 100)
				for _, s := range got {
					i := indexOf(labels, s.Label)
					if math.Abs(s.Score-exp[i]) > 1e-4 {
						t.Errorf("%s %s: score %.6f, reference softmax %.6f", name, s.Label, s.Score, exp[i])
					}
				}
			}
		})
	}
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

func TestDetectLayout(t *testing.T) {
	touch := func(t *testing.T, root string, files ...string) {
		for _, f := range files {
			p := filepath.Join(root, f)
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	cases := []struct {
		name    string
		files   []string
		variant Variant
		kind    LayoutKind
		graph   string
		errLike string
	}{
		{"optimum folder", []string{"model.onnx", "vocab.json"}, "", "combined", "model.onnx", ""},
		{"repo root", []string{"onnx/model.onnx", "config.json"}, "", "combined", "onnx/model.onnx", ""},
		{"split", []string{"onnx/text_model.onnx", "onnx/vision_model.onnx", "tokenizer.json"}, "", "split", "onnx/text_model.onnx", ""},
		{"split quantized", []string{"onnx/text_model.onnx", "onnx/vision_model.onnx", "onnx/text_model_quantized.onnx", "onnx/vision_model_quantized.onnx"}, "quantized", "split", "onnx/text_model_quantized.onnx", ""},
		{"variant missing", []string{"onnx/model.onnx"}, "fp16", "", "", "there are graphs for: fp32"},
		{"half a split", []string{"onnx/text_model.onnx"}, "", "", "", "only one of"},
		{"empty", nil, "", "", "", "no ONNX graph"},
		{"bad variant", []string{"model.onnx"}, "fp8", "", "", "unknown variant"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			touch(t, root, c.files...)
			l, err := DetectLayout(root, c.variant)
			if c.errLike != "" {
				if err == nil || !strings.Contains(err.Error(), c.errLike) {
					t.Fatalf("err = %v, want %q", err, c.errLike)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			graph := l.Combined
			if l.Kind == "split" {
				graph = l.Text
			}
			if l.Kind != c.kind || graph != filepath.Join(root, c.graph) {
				t.Fatalf("got %s %s, want %s %s", l.Kind, graph, c.kind, c.graph)
			}
		})
	}
}

func TestScoreOptions(t *testing.T) {
	l := &Labels{Names: []string{"a", "b", "c", "d"}, Embeddings: [][]float32{{1, 0}, {0, 1}, {1, 0}, {-1, 0}}}
	img := []float32{1, 0}
	cases := []struct {
		name string
		opts ScoreOptions
		want []string
	}{
		{"ties keep label order", ScoreOptions{TopK: 0}, []string{"a", "c", "b", "d"}},
		{"top-2", ScoreOptions{TopK: 2}, []string{"a", "c"}},
		{"raw threshold", ScoreOptions{Raw: true, MinScore: 0, HasMinScore: true}, []string{"a", "c", "b"}},
	}
	for _, c := range cases {
		got := l.Score(img, 100, c.opts)
		var names []string
		for _, s := range got {
			names = append(names, s.Label)
		}
		if strings.Join(names, ",") != strings.Join(c.want, ",") {
			t.Errorf("%s: got %v, want %v", c.name, names, c.want)
		}
	}
	p := Softmax([]float64{0.3, 0.1, 0.2}, 100)
	if s := p[0] + p[1] + p[2]; math.Abs(s-1) > 1e-12 || !(p[0] > p[2] && p[2] > p[1]) {
		t.Fatalf("softmax %v", p)
	}
}

func TestMeanNormalized(t *testing.T) {
	got := MeanNormalized([][]float32{{1, 0}, {0, 1}})
	if math.Abs(float64(got[0])-math.Sqrt(0.5)) > 1e-7 || math.Abs(float64(got[1])-math.Sqrt(0.5)) > 1e-7 {
		t.Fatalf("got %v", got)
	}
}
