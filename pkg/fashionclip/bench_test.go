package fashionclip

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fashionclip/fashionclip/internal/synth"
	"github.com/fashionclip/fashionclip/internal/testutil"
)

// benchModel is $FASHIONCLIP_BENCH_MODEL, else the synthetic ViT-B/32 in the
// combined (Optimum) layout, written once per machine (about 605 MB, 1-2 s).
func benchModel(b *testing.B) *Model {
	b.Helper()
	if testing.Short() {
		b.Skip("ViT-B/32 benchmarks skipped in -short mode")
	}
	testutil.ORTLibrary(b)
	dir := os.Getenv("FASHIONCLIP_BENCH_MODEL")
	if dir == "" {
		var err error
		dir, err = synth.Ensure(filepath.Join(os.TempDir(), "fashionclip-bench"), "combined", synth.ViTB32())
		if err != nil {
			b.Fatal(err)
		}
	}
	m, err := testRuntime(b).Load(context.Background(), dir, Options{CacheDir: filepath.Join(os.TempDir(), "fashionclip-bench", "graphs")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	return m
}

// BenchmarkTextQuery is the latency of one unpadded query through the text
// graph cut out of the combined model (the whole graph costs a vision pass).
func BenchmarkTextQuery(b *testing.B) {
	m := benchModel(b)
	ctx := context.Background()
	if _, err := m.EncodeText(ctx, "warm up"); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := m.EncodeText(ctx, "a photo of a red dress"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/query")
}

func benchImages(b *testing.B, batch int) {
	m := benchModel(b)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	px := make([][]float32, batch)
	for i := range px {
		px[i] = make([]float32, m.Preprocessor().PixelCount())
		for j := range px[i] {
			px[i][j] = float32(r.NormFloat64())
		}
	}
	if _, err := m.EncodeImages(ctx, px); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		if _, err := m.EncodeImages(ctx, px); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/time.Since(start).Seconds(), "img/s")
}

// Model-only image throughput on pre-made tensors.
func BenchmarkImagesBatch1(b *testing.B) { benchImages(b, 1) }
func BenchmarkImagesBatch8(b *testing.B) { benchImages(b, 8) }
