package fashionclip

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fashionclip/fashionclip/internal/graphcache"
	"github.com/fashionclip/fashionclip/internal/synth"
	"github.com/fashionclip/fashionclip/internal/testutil"
)

// TestOptimizedStartIsExact: the first start saves ONNX Runtime's
// optimized graphs, later starts load them mapped, and the embeddings are
// bit for bit those of a plain start; a damaged copy is replaced, never used.
func TestOptimizedStartIsExact(t *testing.T) {
	rt := testRuntime(t)
	ctx := context.Background()
	texts := []string{"a photo of a red dress", "white sneaker", "a striped t-shirt with a logo"}
	images, _ := filepath.Glob(filepath.Join(testutil.ModuleRoot(t), "testdata", "images", "*"))
	embed := func(t *testing.T, dir string, opts Options) [][]float32 {
		t.Helper()
		m, err := rt.Load(ctx, dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		out, err := m.EncodeTexts(ctx, texts)
		if err != nil {
			t.Fatal(err)
		}
		res, err := m.EncodeImageFiles(ctx, images)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if r.Err != nil {
				t.Fatal(r.Err)
			}
			out = append(out, r.Embedding)
		}
		return out
	}
	same := func(a, b [][]float32) bool {
		return slices.EqualFunc(a, b, func(x, y []float32) bool { return slices.Equal(x, y) })
	}
	for _, layout := range []string{"combined", "split"} {
		t.Run(layout, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "model")
			if err := synth.Write(dir, layout, synth.Tiny()); err != nil {
				t.Fatal(err)
			}
			cache := t.TempDir()
			plain := embed(t, dir, Options{CacheDir: cache, PlainLoad: true})
			entries := func() (n int) {
				es, _ := graphcache.Cache{Root: cache}.Entries()
				for _, e := range es {
					if strings.Contains(e.Key, optimizedRecipe) && !e.Stale() {
						n++
					}
				}
				return n
			}
			if n := entries(); n != 0 {
				t.Fatalf("PlainLoad saved %d optimized graphs", n)
			}
			var log logBuffer
			logger := slog.New(slog.NewTextHandler(&log, nil))
			first := embed(t, dir, Options{CacheDir: cache, Logger: logger})
			if n := entries(); n != 2 || log.count("for fast starts") != 2 {
				t.Fatalf("first start: %d optimized graphs saved, %d notes; want 2 of each", n, log.count("for fast starts"))
			}
			second := embed(t, dir, Options{CacheDir: cache, Logger: logger})
			if !same(plain, first) || !same(plain, second) || log.count("for fast starts") != 2 {
				t.Errorf("embeddings differ from a plain start (first %v, mapped %v), or the copy was saved again", same(plain, first), same(plain, second))
			}
			// Damage one copy: it is refused, made again, and the results hold.
			copies, _ := filepath.Glob(filepath.Join(cache, "*", "text.ort"))
			if len(copies) != 1 {
				t.Fatalf("text copies %v", copies)
			}
			if err := os.WriteFile(copies[0], []byte("ORTM not really"), 0o644); err != nil {
				t.Fatal(err)
			}
			again := embed(t, dir, Options{CacheDir: cache, Logger: logger})
			if !same(plain, again) || log.count("saving a new copy") != 1 || entries() != 2 {
				t.Errorf("after damage: same %v, %d warnings, %d entries\n%s", same(plain, again), log.count("saving a new copy"), entries(), log.buf.String())
			}
		})
	}
}
