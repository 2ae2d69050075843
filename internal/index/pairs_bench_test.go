package index

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/fashionclip/fashionclip/internal/testutil"
)

// BenchmarkGemmTile is one kernel's tile throughput with its panels in
// cache: the ceiling of SimilarPairs on one core.
func BenchmarkGemmTile(b *testing.B) {
	const dim = 512
	for _, g := range gemmKernels() {
		b.Run(g.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			pa := randMatrix(rng, g.mr, dim)
			pb := randMatrix(rng, g.nr, dim)
			c := make([]float32, g.mr*g.nr)
			for b.Loop() {
				g.tile(pa, pb, dim, c, 1e9)
			}
			b.ReportMetric(float64(2*g.mr*g.nr*dim)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

const pairsBenchRows = 100_000

// writePairsBenchIndex writes 100k random 512-float unit vectors.
func writePairsBenchIndex(b *testing.B, dir string) {
	w, err := OpenWriter(dir, Options{Model: testModel, CommitEvery: 65536})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range pairsBenchRows {
		v := testutil.RandomUnitVector(rng, benchDim)
		if err := w.Add(Item{Path: fmt.Sprintf("catalog/%06d.jpg", i)}, v); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkSimilarPairs100k is `index dupes`' arithmetic on 100k × 512:
// every pair, half the matrix by symmetry.
func BenchmarkSimilarPairs100k(b *testing.B) {
	if testing.Short() {
		b.Skip("writes a 200 MB index")
	}
	dir := b.TempDir()
	writePairsBenchIndex(b, dir)
	ix, err := Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer ix.Close()
	bs := 960
	if v := os.Getenv("PAIRS_BLOCK"); v != "" {
		fmt.Sscan(v, &bs)
	}
	var st PairStats
	testutil.ResetPeakRSS()
	for b.Loop() {
		st, err = ix.SimilarPairs(context.Background(), PairOptions{Threshold: 0.5, BlockRows: bs}, func(a, b Ref, s float32) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
	}
	sec := b.Elapsed().Seconds() / float64(b.N)
	useful := float64(pairsBenchRows) * float64(pairsBenchRows-1) / 2 * benchDim
	b.ReportMetric(sec, "s/op")
	b.ReportMetric(2*useful/sec/1e9, "GFLOP/s")
	b.ReportMetric(2*float64(st.MultiplyAdds)/sec/1e9, "kernel-GFLOP/s")
	b.ReportMetric(testutil.PeakRSSMB(), "peak-RSS-MB")
}
