package index

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestGemmKernels checks every kernel this machine runs against a float64
// product, on ragged shapes (partial panels) and depths that are not a
// multiple of anything, and checks the threshold flag.
func TestGemmKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, g := range gemmKernels() {
		t.Run(g.name, func(t *testing.T) {
			for _, sh := range []struct{ m, n, dim int }{{1, 1, 1}, {5, 7, 3}, {13, 33, 512}, {24, 64, 17}, {40, 50, 100}} {
				a := randMatrix(rng, sh.m, sh.dim)
				b := randMatrix(rng, sh.n, sh.dim)
				saved := gemm
				gemm = g
				c := make([]float32, sh.m*sh.n)
				DotMatrix(a, sh.m, b, sh.n, sh.dim, c)
				gemm = saved
				for i := range sh.m {
					for j := range sh.n {
						want := dot64(a[i*sh.dim:(i+1)*sh.dim], b[j*sh.dim:(j+1)*sh.dim])
						if d := math.Abs(float64(c[i*sh.n+j]) - want); d > 1e-5*math.Max(1, math.Abs(want))*math.Sqrt(float64(sh.dim)) {
							t.Fatalf("%dx%dx%d: c[%d,%d] = %v, want %v", sh.m, sh.n, sh.dim, i, j, c[i*sh.n+j], want)
						}
					}
				}
			}

			// The flag: a tile whose largest value is exactly at, just below
			// and above the threshold, and one holding a NaN.
			const dim = 8
			pa := make([]float32, g.mr*dim)
			pb := make([]float32, g.nr*dim)
			tile := make([]float32, g.mr*g.nr)
			pa[(dim-1)*g.mr+g.mr-1] = 0.5 // last row of A, last k
			pb[(dim-1)*g.nr+g.nr-1] = 1   // last row of B, last k
			for _, tc := range []struct {
				thr  float32
				want bool
			}{{0.5, true}, {0.25, true}, {math.Nextafter32(0.5, 1), false}} {
				if got := g.tile(pa, pb, dim, tile, tc.thr); got != tc.want {
					t.Errorf("threshold %v: hit %v, want %v", tc.thr, got, tc.want)
				}
			}
			if got := tile[g.mr*g.nr-1]; got != 0.5 {
				t.Errorf("corner of the tile = %v, want 0.5", got)
			}
			pa[0] = float32(math.NaN())
			pb[0] = 1
			pa[(dim-1)*g.mr+g.mr-1] = 0
			if g.tile(pa, pb, dim, tile, 0.1) {
				t.Error("a NaN tile reported a hit")
			}
		})
	}
}

func randMatrix(rng *rand.Rand, rows, dim int) []float32 {
	m := make([]float32, rows*dim)
	for i := range m {
		m[i] = float32(rng.NormFloat64())
	}
	return m
}
