package fashionclip

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fashionclip/fashionclip/internal/graphcache"
	"github.com/fashionclip/fashionclip/internal/testutil"
)

// logBuffer collects a logger's records, safe for the towers' concurrent loads.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) count(substr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.buf.String(), substr)
}

// copyModel copies a kit model into a fresh folder, so a test may change
// its files and check that nothing else is written there.
func copyModel(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dst
}

// minDerivedCosine bounds how far the library's int8 towers may move an
// embedding on the kit's random-weight models (onnxgraph's tests bound the
// recipe per tower; this checks the loader wires it).
const minDerivedCosine = 0.999

func TestInt8DerivedFromFP32(t *testing.T) {
	ref, want := loadReference(t)
	rt := testRuntime(t)
	ctx := context.Background()
	texts := make([]string, 0, len(want.Texts))
	for text := range want.Texts {
		texts = append(texts, text)
	}
	sort.Strings(texts)
	var images []string
	for name := range want.Images {
		if !deviatingImages[name] {
			images = append(images, filepath.Join(ref, "images", name))
		}
	}
	sort.Strings(images)

	for _, layout := range []string{"tiny-optimum", "tiny-split"} {
		t.Run(layout, func(t *testing.T) {
			dir := copyModel(t, filepath.Join(ref, "models", layout))
			before := testutil.ListFiles(t, dir)
			cache := t.TempDir()
			var log logBuffer
			load := func(v Variant) *Model {
				m, err := rt.Load(ctx, dir, Options{Variant: v, CacheDir: cache, Logger: slog.New(slog.NewTextHandler(&log, nil))})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { m.Close() })
				return m
			}
			fp, q := load(FP32), load(Int8)
			if q.Layout().From != FP32 || q.Recipe() != Int8Recipe() || fp.Recipe() != "" {
				t.Fatalf("int8 layout from %q, recipe %q; fp32 recipe %q", q.Layout().From, q.Recipe(), fp.Recipe())
			}
			id, err := q.Identity()
			if err != nil || id.Variant != Int8 || id.Recipe != Int8Recipe() {
				t.Fatalf("identity %+v, %v", id, err)
			}
			if fid, _ := fp.Identity(); fid.Graph != id.Graph || fid.Recipe != "" {
				t.Fatalf("fp32 identity %+v vs int8 %+v: the graph part names the same source files", fid, id)
			}

			lo, sum, n := 1.0, 0.0, 0
			note := func(a, b []float32) {
				c := testutil.Cosine(a, b)
				lo, sum, n = math.Min(lo, c), sum+c, n+1
			}
			ft, err := fp.EncodeTexts(ctx, texts)
			if err != nil {
				t.Fatal(err)
			}
			qt, err := q.EncodeTexts(ctx, texts)
			if err != nil {
				t.Fatal(err)
			}
			for i := range texts {
				note(ft[i], qt[i])
			}
			if got := log.count("prepared the int8 text graph once"); got != 1 {
				t.Fatalf("%d notes of the text derivation, want 1:\n%s", got, log.buf.String())
			}
			if log.count("int8 vision") != 0 {
				t.Fatal("a text-only use derived the vision tower")
			}
			fi, err := fp.EncodeImageFiles(ctx, images)
			if err != nil {
				t.Fatal(err)
			}
			qi, err := q.EncodeImageFiles(ctx, images)
			if err != nil {
				t.Fatal(err)
			}
			for i := range images {
				if fi[i].Err != nil || qi[i].Err != nil {
					t.Fatal(fi[i].Err, qi[i].Err)
				}
				note(fi[i].Embedding, qi[i].Embedding)
			}
			t.Logf("int8 vs fp32 over %d texts and %d images: min cosine %.5f, mean %.5f", len(texts), len(images), lo, sum/float64(n))
			if lo < minDerivedCosine {
				t.Errorf("int8 vs fp32 min cosine %.5f < %v", lo, minDerivedCosine)
			}
			if slices.Compare(before, testutil.ListFiles(t, dir)) != 0 {
				t.Fatalf("the model folder was written: %v", testutil.ListFiles(t, dir))
			}

			// A second load reuses the cache: no derivation, same vectors.
			// (Texts are compared alone: activations are quantized with one
			// scale per run, so batch-mates move an int8 vector slightly.)
			first, err := q.EncodeText(ctx, texts[0])
			if err != nil {
				t.Fatal(err)
			}
			v, err := load(Int8).EncodeText(ctx, texts[0])
			if err != nil {
				t.Fatal(err)
			}
			if c := testutil.Cosine(v, first); c < 0.999999 || log.count("prepared the int8 text graph once") != 1 {
				t.Fatalf("reload: cosine %.7f, log:\n%s", c, log.buf.String())
			}
			entries, err := graphcache.Cache{Root: cache}.Entries()
			if err != nil {
				t.Fatal(err)
			}
			var derived []string
			for _, e := range entries {
				if e.Meta.Recipe == Int8Recipe() && !e.Stale() {
					derived = append(derived, e.Key)
				}
			}
			if len(derived) != 2 {
				t.Fatalf("want one int8 entry per tower, got %v", entries)
			}

			// A changed source is derived anew and its old entries go stale.
			text := layout == "tiny-split"
			src := filepath.Join(dir, "model.onnx")
			if text {
				src = filepath.Join(dir, "onnx", "text_model.onnx")
			}
			later := time.Now().Add(time.Hour)
			if err := os.Chtimes(src, later, later); err != nil {
				t.Fatal(err)
			}
			changed := load(Int8)
			if _, err := changed.EncodeText(ctx, texts[0]); err != nil {
				t.Fatal(err)
			}
			if got := log.count("prepared the int8 text graph once"); got != 2 {
				t.Fatalf("a changed source was not derived again (%d notes)", got)
			}
			entries, _ = graphcache.Cache{Root: cache}.Entries()
			stale := 0
			for _, e := range entries {
				if e.Stale() {
					stale++
				}
			}
			if stale == 0 {
				t.Fatal("the old entries of a changed source are not stale")
			}
		})
	}
}

func TestInt8ShippedIsUsedAsIs(t *testing.T) {
	ref, _ := loadReference(t)
	dir := copyModel(t, filepath.Join(ref, "models", "tiny-split"))
	for _, tw := range []string{"text", "vision"} {
		b, err := os.ReadFile(filepath.Join(dir, "onnx", tw+"_model.onnx"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "onnx", tw+"_model_int8.onnx"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var log logBuffer
	m, err := testRuntime(t).Load(context.Background(), dir, Options{Variant: Int8, CacheDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.EncodeText(context.Background(), "boot"); err != nil {
		t.Fatal(err)
	}
	if m.Layout().From != "" || m.Recipe() != "" || !strings.HasSuffix(m.Layout().Text, "text_model_int8.onnx") || log.count("prepared the int8") != 0 {
		t.Fatalf("shipped int8 graphs: layout %+v, recipe %q, log %s", m.Layout(), m.Recipe(), log.buf.String())
	}
}

func TestQuantizedIsNeverDerived(t *testing.T) {
	ref, _ := loadReference(t)
	_, err := testRuntime(t).Load(context.Background(), filepath.Join(ref, "models", "tiny-optimum"), Options{Variant: Quantized, CacheDir: t.TempDir()})
	var le *LayoutError
	if !errors.As(err, &le) {
		t.Fatalf("--variant quantized on an fp32-only model: %v", err)
	}
}

func TestWriteInt8Folder(t *testing.T) {
	ref, want := loadReference(t)
	rt := testRuntime(t)
	ctx := context.Background()
	fp := loadModel(t, filepath.Join(ref, "models", "tiny-optimum"))
	out := filepath.Join(t.TempDir(), "int8")
	w, err := fp.WriteInt8Folder(out, false)
	if err != nil {
		t.Fatal(err)
	}
	if w.TextFacts.Quantized == 0 || w.VisionFacts.Quantized == 0 || len(w.Files) < 3 {
		t.Fatalf("wrote %+v", w)
	}
	if _, err := fp.WriteInt8Folder(out, false); !errors.As(err, new(*FolderExistsError)) {
		t.Fatalf("a second write without overwrite: %v", err)
	}
	if _, err := fp.WriteInt8Folder(out, true); err != nil {
		t.Fatal(err)
	}
	var log logBuffer
	q, err := rt.Load(ctx, out, Options{Variant: Int8, CacheDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if l := q.Layout(); l.Kind != Split || l.From != "" || l.Text != w.Text || l.Vision != w.Vision {
		t.Fatalf("the written folder loads as %+v", l)
	}
	if _, err := rt.Load(ctx, out, Options{CacheDir: t.TempDir()}); err == nil {
		t.Fatal("the int8 folder loaded as fp32")
	}
	if _, err := q.WriteInt8Folder(t.TempDir(), false); !errors.Is(err, ErrNotFP32) {
		t.Fatalf("int8 from int8: %v", err)
	}

	var texts []string
	for text := range want.Texts {
		texts = append(texts, text)
	}
	in := CompareInputs{Texts: texts, Labels: []string{"sneaker", "boot", "dress", "bag"},
		Images: []ImageInput{{Name: "missing", Path: filepath.Join(t.TempDir(), "missing.jpg")}}}
	for name := range want.Images {
		in.Images = append(in.Images, ImageInput{Name: name, Path: filepath.Join(ref, "images", name)})
	}
	f, err := Compare(ctx, fp, q, in)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("fidelity %+v", f)
	if f.Texts.N != len(texts) || f.Images.N != len(want.Images) || len(f.Failed) != 1 || f.Top1Of != len(want.Images) {
		t.Fatalf("counts: %+v", f)
	}
	if f.Texts.Min < minDerivedCosine || f.Images.Min < minDerivedCosine || f.Texts.Mean < f.Texts.Min || f.Texts.Mean > 1.000001 {
		t.Errorf("int8 folder vs fp32: %+v", f)
	}
	if log.count("prepared the int8") != 0 {
		t.Fatalf("the written folder was derived again: %s", log.buf.String())
	}
	// Against itself, a model agrees exactly.
	if self, err := Compare(ctx, fp, fp, in); err != nil || self.Images.Min < 0.999999 || self.Top1Agree != self.Top1Of {
		t.Fatalf("fp32 against itself: %+v, %v", self, err)
	}
}

func TestNeedsReduceRange(t *testing.T) {
	tests := []struct {
		arch       string
		hasInt8Dot bool
		want       bool
	}{
		{"amd64", true, false},  // VNNI or AMX: 32-bit sums, full-range weights
		{"amd64", false, true},  // AVX2/AVX-512BW: 16-bit pair sums, 7-bit weights
		{"arm64", false, false}, // Arm kernels widen before adding
	}
	for _, tc := range tests {
		if got := needsReduceRange(tc.arch, tc.hasInt8Dot); got != tc.want {
			t.Errorf("needsReduceRange(%s, %v) = %v, want %v", tc.arch, tc.hasInt8Dot, got, tc.want)
		}
	}
	// The recipe names the choice, so indexes of the two never mix.
	if rr := strings.HasSuffix(Int8Recipe(), "-rr"); rr != int8Options.ReduceRange {
		t.Errorf("Int8Recipe() = %q with ReduceRange %v", Int8Recipe(), int8Options.ReduceRange)
	}
}
