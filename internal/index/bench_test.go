package index

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

const (
	benchRows = 1_000_000
	benchDim  = 512
)

var (
	benchOnce sync.Once
	benchRoot string
	benchErr  error
)

// benchIndexes writes the float32 and float16 indexes of the same 1M random
// unit vectors once per test binary run (removed by TestMain).
func benchIndexes(b *testing.B) (f32, f16 string) {
	benchOnce.Do(func() {
		benchRoot, benchErr = os.MkdirTemp("", "fashionclip-index-bench-")
		if benchErr != nil {
			return
		}
		benchErr = writeBenchIndexes(filepath.Join(benchRoot, "f32"), filepath.Join(benchRoot, "f16"))
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return filepath.Join(benchRoot, "f32"), filepath.Join(benchRoot, "f16")
}

func removeBenchIndexes() {
	if benchRoot != "" {
		os.RemoveAll(benchRoot)
	}
}

func writeBenchIndexes(dir32, dir16 string) error {
	const batch = 65536
	w32, err := OpenWriter(dir32, Options{Model: testModel, CommitEvery: batch})
	if err != nil {
		return err
	}
	w16, err := OpenWriter(dir16, Options{Model: testModel, DType: DTypeFloat16, CommitEvery: batch})
	if err != nil {
		return err
	}
	vecs := make([]float32, batch*benchDim)
	for start := 0; start < benchRows; start += batch {
		n := min(batch, benchRows-start)
		// Fill the batch on every core; each row has its own generator.
		var wg sync.WaitGroup
		for part := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for r := part; r < n; r += 8 {
					rng := rand.New(rand.NewPCG(uint64(start+r), 7))
					v := vecs[r*benchDim : (r+1)*benchDim]
					var s float64
					for i := range v {
						v[i] = rng.Float32()*2 - 1
						s += float64(v[i]) * float64(v[i])
					}
					inv := float32(1 / math.Sqrt(s))
					for i := range v {
						v[i] *= inv
					}
				}
			}()
		}
		wg.Wait()
		for r := range n {
			it := Item{Path: fmt.Sprintf("catalog/%07d.jpg", start+r), Size: int64(r)}
			v := vecs[r*benchDim : (r+1)*benchDim]
			if err := w32.Add(it, v); err != nil {
				return err
			}
			if err := w16.Add(it, v); err != nil {
				return err
			}
		}
	}
	if err := w32.Close(); err != nil {
		return err
	}
	return w16.Close()
}

func benchSearch(b *testing.B, f16 bool) {
	if testing.Short() {
		b.Skip("writes 3 GB of test indexes")
	}
	d32, d16 := benchIndexes(b)
	dir, elem := d32, 4
	if f16 {
		dir, elem = d16, 2
	}
	ix, err := Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer ix.Close()
	q := vecFor("query", 1, benchDim)
	// One untimed search pulls every page in.
	if _, err := ix.Search(q, SearchOptions{K: 10}); err != nil {
		b.Fatal(err)
	}
	bytes := float64(benchRows * benchDim * elem)
	for b.Loop() {
		if _, err := ix.Search(q, SearchOptions{K: 10}); err != nil {
			b.Fatal(err)
		}
	}
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(sec*1e3, "ms/op")
	b.ReportMetric(bytes/sec/1e9, "GB/s")
}

func BenchmarkSearch1MFloat32(b *testing.B) { benchSearch(b, false) }
func BenchmarkSearch1MFloat16(b *testing.B) { benchSearch(b, true) }

// BenchmarkSearch1MPortable runs the same scans with the pure-Go kernels,
// as on machines without AVX2/F16C.
func BenchmarkSearch1MPortable(b *testing.B) {
	f32, f16 := dotsF32, dotsF16
	defer func() { dotsF32, dotsF16 = f32, f16 }()
	dotsF32, dotsF16 = dotsF32Go, dotsF16Go
	b.Run("float32", func(b *testing.B) { benchSearch(b, false) })
	b.Run("float16", func(b *testing.B) { benchSearch(b, true) })
}

// BenchmarkOpen1M is the fixed cost of a search command: manifest, tables'
// row columns, mappings.
func BenchmarkOpen1M(b *testing.B) {
	if testing.Short() {
		b.Skip("writes 3 GB of test indexes")
	}
	d32, _ := benchIndexes(b)
	for b.Loop() {
		ix, err := Open(d32)
		if err != nil {
			b.Fatal(err)
		}
		ix.Close()
	}
}
