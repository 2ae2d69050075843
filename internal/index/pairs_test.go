package index

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"testing"
)

// TestSimilarPairsMatchesBruteForce compares the blocked scan with every
// pair scored in float64, for each kernel, both dtypes, block sizes that
// leave ragged blocks and panels, and an index with garbage rows.
func TestSimilarPairsMatchesBruteForce(t *testing.T) {
	const n, dim, thr = 430, 24, 0.35
	for _, dtype := range []string{DTypeFloat32, DTypeFloat16} {
		dir := filepath.Join(t.TempDir(), dtype)
		buildRandom(t, dir, dtype, n, dim, 9)
		ix, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer ix.Close()

		// Brute force over the live rows.
		type rowVec struct {
			ref Ref
			vec []float32
		}
		var rows []rowVec
		for ci, c := range ix.chunks {
			for r := range c.pair.Rows {
				if c.isLive(r) {
					rows = append(rows, rowVec{Ref{int32(ci), int32(r)}, c.vector(r, dim, make([]float32, dim))})
				}
			}
		}
		want := map[[2]Ref]float64{}
		near := map[[2]Ref]bool{} // too close to the threshold for float32 to settle
		for i := range rows {
			for j := i + 1; j < len(rows); j++ {
				s := dot64(rows[i].vec, rows[j].vec)
				k := [2]Ref{rows[i].ref, rows[j].ref}
				if math.Abs(s-thr) < 1e-5 {
					near[k] = true
				} else if s >= thr {
					want[k] = s
				}
			}
		}
		if len(want) < 20 {
			t.Fatalf("only %d pairs above the threshold: the test is too weak", len(want))
		}
		for _, g := range gemmKernels() {
			for _, bs := range []int{37, 100, 1000} {
				t.Run(fmt.Sprintf("%s/%s/block%d", dtype, g.name, bs), func(t *testing.T) {
					saved := gemm
					gemm = g
					defer func() { gemm = saved }()
					got := map[[2]Ref]float32{}
					var lastDone, lastTotal int64
					st, err := ix.SimilarPairs(context.Background(), PairOptions{Threshold: thr, BlockRows: bs, Workers: 3,
						Progress: func(done, total int64) { lastDone, lastTotal = done, total }},
						func(a, b Ref, score float32) error {
							if !a.before(b) {
								t.Errorf("pair %v, %v out of order", a, b)
							}
							k := [2]Ref{a, b}
							if _, dup := got[k]; dup {
								t.Errorf("pair %v reported twice", k)
							}
							got[k] = score
							return nil
						})
					if err != nil {
						t.Fatal(err)
					}
					if st.Rows != len(rows) || st.Kernel != g.name || lastDone != lastTotal || lastTotal != st.MultiplyAdds {
						t.Errorf("stats %+v, progress %d/%d", st, lastDone, lastTotal)
					}
					for k, s := range want {
						g, ok := got[k]
						if !ok {
							t.Errorf("missing pair %v (score %v)", k, s)
						} else if math.Abs(float64(g)-s) > 1e-5 {
							t.Errorf("pair %v: score %v, want %v", k, g, s)
						}
					}
					for k := range got {
						if _, ok := want[k]; !ok && !near[k] {
							t.Errorf("extra pair %v (score %v)", k, got[k])
						}
					}
				})
			}
		}
	}
}

func TestSimilarPairsStops(t *testing.T) {
	dir := t.TempDir()
	buildRandom(t, dir, DTypeFloat32, 300, 16, 2)
	ix, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	boom := errors.New("enough")
	calls := 0
	_, err = ix.SimilarPairs(context.Background(), PairOptions{Threshold: -2, BlockRows: 50}, func(a, b Ref, s float32) error {
		calls++
		return boom
	})
	if !errors.Is(err, boom) || calls != 1 {
		t.Errorf("err %v after %d calls, want the callback's error after 1", err, calls)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ix.SimilarPairs(ctx, PairOptions{Threshold: 0.9}, func(a, b Ref, s float32) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: err %v", err)
	}
}
