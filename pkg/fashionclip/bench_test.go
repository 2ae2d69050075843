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
func benchModel(b *testing.B) *Model { return benchModelVariant(b, FP32) }

// benchModelVariant is benchModel in another variant (int8 is derived into
// the benchmarks' graph cache on first use, then reused).
func benchModelVariant(b *testing.B, v Variant) *Model {
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
	m, err := testRuntime(b).Load(context.Background(), dir, Options{Variant: v, CacheDir: filepath.Join(os.TempDir(), "fashionclip-bench", "graphs")})
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

// abVariants times run on the fp32 and the int8 model alternately (after a
// warm-up call each, which also derives the int8 towers when needed), so
// both see the same machine load, and reports both medians and the ratio.
//
//	go test ./pkg/fashionclip -run '^$' -bench Int8VsFP32 -benchtime 20x
func abVariants(b *testing.B, run func(m *Model) error) {
	fp, q := benchModel(b), benchModelVariant(b, Int8)
	for _, m := range []*Model{fp, q} {
		if err := run(m); err != nil {
			b.Fatal(err)
		}
	}
	var tf, tq []time.Duration
	timed := func(m *Model, into *[]time.Duration) {
		t0 := time.Now()
		if err := run(m); err != nil {
			b.Fatal(err)
		}
		*into = append(*into, time.Since(t0))
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if i%2 == 0 {
			timed(fp, &tf)
			timed(q, &tq)
		} else {
			timed(q, &tq)
			timed(fp, &tf)
		}
	}
	mf, mq := testutil.Median(tf), testutil.Median(tq)
	b.ReportMetric(float64(mf.Microseconds())/1000, "fp32-ms")
	b.ReportMetric(float64(mq.Microseconds())/1000, "int8-ms")
	b.ReportMetric(float64(mq)/float64(mf), "int8/fp32")
}

// Goal (issue 12): one unpadded text query through the library, int8 ≤ 0.5× fp32.
func BenchmarkInt8VsFP32TextQuery(b *testing.B) {
	ctx := context.Background()
	abVariants(b, func(m *Model) error {
		_, err := m.EncodeText(ctx, "a photo of a red dress")
		return err
	})
}

// Goal (issue 12): vision at batch 8 through the library, int8 ≥ 2× fp32
// throughput (int8/fp32 ≤ 0.5).
func BenchmarkInt8VsFP32ImagesBatch8(b *testing.B) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	var px [][]float32
	abVariants(b, func(m *Model) error {
		if px == nil {
			px = make([][]float32, 8)
			for i := range px {
				px[i] = make([]float32, m.Preprocessor().PixelCount())
				for j := range px[i] {
					px[i][j] = float32(r.NormFloat64())
				}
			}
		}
		_, err := m.EncodeImages(ctx, px)
		return err
	})
}
