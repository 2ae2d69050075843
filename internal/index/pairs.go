package index

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
)

// Ref locates a vector: the position of its chunk in the manifest and its
// row in that chunk.
type Ref struct{ Chunk, Row int32 }

// before orders refs in commit order.
func (a Ref) before(b Ref) bool {
	if a.Chunk != b.Chunk {
		return a.Chunk < b.Chunk
	}
	return a.Row < b.Row
}

// PairOptions tune SimilarPairs.
type PairOptions struct {
	// Threshold: pairs whose dot product (cosine, for unit vectors) is at
	// least this are reported. It is compared in float32.
	Threshold float32
	// Workers computing blocks in parallel (default GOMAXPROCS).
	Workers int
	// BlockRows is the number of rows of a block: the unit of work, and of
	// packed memory per worker (default 960: 2 MB of 512-float rows, the
	// size of an L2 cache).
	BlockRows int
	// CacheBytes bounds the packed copies of the blocks kept between the
	// passes over them (default 512 MiB). When the whole index packed fits,
	// every block is packed once; otherwise blocks are repacked per pass,
	// which costs a few per cent.
	CacheBytes int64
	// Progress, when set, is called after each block pair with the
	// multiply-adds done so far and in all. Calls are serialised.
	Progress func(done, total int64)
}

// PairStats tell what SimilarPairs did.
type PairStats struct {
	Rows int // live rows compared
	// MultiplyAdds is the arithmetic done, padding included (n(n+1)/2·dim
	// plus partial tiles), for throughput figures.
	MultiplyAdds int64
	Kernel       string
}

// SimilarPairs calls fn for every pair of distinct live rows whose dot
// product is at least o.Threshold, each pair once, a before b in commit
// order. It multiplies blocks of rows by blocks of rows (only the blocks
// on and above the diagonal: the product is symmetric) with the
// machine's fastest tile kernel; memory is bounded by the workers' blocks
// and o.CacheBytes, not by the index. fn calls are serialised and come in
// no particular order; an error from fn stops the scan and is returned.
func (ix *Index) SimilarPairs(ctx context.Context, o PairOptions, fn func(a, b Ref, score float32) error) (PairStats, error) {
	g := gemm
	st := PairStats{Kernel: g.name}
	dim := ix.man.Dim
	var refs []Ref
	for ci, c := range ix.chunks {
		for r := range c.pair.Rows {
			if c.allLive || c.isLive(r) {
				refs = append(refs, Ref{int32(ci), int32(r)})
			}
		}
	}
	n := len(refs)
	st.Rows = n
	if n < 2 || dim == 0 {
		return st, nil
	}
	bs := o.BlockRows
	if bs <= 0 {
		bs = 960
	}
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	cacheBytes := o.CacheBytes
	if cacheBytes <= 0 {
		cacheBytes = 512 << 20
	}
	nb := (n + bs - 1) / bs
	blockLen := func(b int) int { return min(bs, n-b*bs) }

	type task struct{ i, j int }
	tasks := make([]task, 0, nb*(nb+1)/2)
	var total int64
	for i := range nb {
		for j := i; j < nb; j++ {
			tasks = append(tasks, task{i, j})
			total += taskWork(g, blockLen(i), blockLen(j), i == j, dim)
		}
	}
	workers = min(workers, len(tasks))

	// pack packs block b into panels of width w.
	pack := func(dst []float32, b, w int, tmp []float32) {
		start := b * bs
		packRows(dst, blockLen(b), w, dim, func(i int) []float32 {
			ref := refs[start+i]
			c := ix.chunks[ref.Chunk]
			r := int(ref.Row)
			if c.f32 != nil {
				return c.f32[r*dim : (r+1)*dim]
			}
			return c.vector(r, dim, tmp)
		})
	}
	// The B-side panels of every block, packed once, when they fit.
	var cached [][]float32
	var cacheOnce []sync.Once
	if int64(panelLen(n, g.nr, dim))*4+int64(nb*g.nr*dim*4) <= cacheBytes {
		cached = make([][]float32, nb)
		cacheOnce = make([]sync.Once, nb)
	}

	var (
		mu       sync.Mutex
		firstErr error
		done     int64
		next     atomic.Int64
		stop     atomic.Bool
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		stop.Store(true)
	}
	type found struct {
		a, b  Ref
		score float32
	}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tmp := make([]float32, dim)
			pa := make([]float32, panelLen(bs, g.mr, dim))
			var pbOwn []float32
			if cached == nil {
				pbOwn = make([]float32, panelLen(bs, g.nr, dim))
			}
			tile := make([]float32, g.mr*g.nr)
			packedA := -1
			var out []found
			flush := func() bool {
				if len(out) == 0 {
					return true
				}
				mu.Lock()
				defer mu.Unlock()
				if firstErr != nil {
					return false
				}
				for _, f := range out {
					if err := fn(f.a, f.b, f.score); err != nil {
						firstErr = err
						stop.Store(true)
						return false
					}
				}
				out = out[:0]
				return true
			}
			for !stop.Load() {
				ti := int(next.Add(1) - 1)
				if ti >= len(tasks) {
					break
				}
				if err := ctx.Err(); err != nil {
					fail(err)
					return
				}
				t := tasks[ti]
				if packedA != t.i {
					pack(pa, t.i, g.mr, tmp)
					packedA = t.i
				}
				var pb []float32
				if cached != nil {
					cacheOnce[t.j].Do(func() {
						p := make([]float32, panelLen(blockLen(t.j), g.nr, dim))
						pack(p, t.j, g.nr, make([]float32, dim))
						cached[t.j] = p
					})
					pb = cached[t.j]
				} else {
					pb = pbOwn
					pack(pb, t.j, g.nr, tmp)
				}
				mi, nj := blockLen(t.i), blockLen(t.j)
				i0, j0 := t.i*bs, t.j*bs
				for jp := 0; jp*g.nr < nj; jp++ {
					bPanel := pb[jp*g.nr*dim : (jp+1)*g.nr*dim]
					for ip := 0; ip*g.mr < mi; ip++ {
						// On the diagonal, a tile whose columns all lie at or
						// left of its rows holds only pairs seen the other way.
						if t.i == t.j && jp*g.nr+g.nr-1 <= ip*g.mr {
							continue
						}
						if !g.tile(pa[ip*g.mr*dim:(ip+1)*g.mr*dim], bPanel, dim, tile, o.Threshold) {
							continue
						}
						for r := 0; r < g.mr && ip*g.mr+r < mi; r++ {
							i := i0 + ip*g.mr + r
							for s := 0; s < g.nr && jp*g.nr+s < nj; s++ {
								j := j0 + jp*g.nr + s
								if v := tile[r*g.nr+s]; v >= o.Threshold && j > i {
									out = append(out, found{refs[i], refs[j], v})
								}
							}
						}
					}
					if len(out) >= 4096 && !flush() {
						return
					}
				}
				if !flush() {
					return
				}
				w := taskWork(g, mi, nj, t.i == t.j, dim)
				mu.Lock()
				done += w
				if o.Progress != nil && firstErr == nil {
					o.Progress(done, total)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	st.MultiplyAdds = done
	if firstErr != nil {
		return st, firstErr
	}
	if done != total {
		return st, fmt.Errorf("internal error: %d of %d multiply-adds done", done, total)
	}
	return st, nil
}

// taskWork is the multiply-adds of one block pair as the kernel does them:
// whole tiles, and on the diagonal only tiles reaching above it.
func taskWork(g gemmKernel, m, n int, diagonal bool, dim int) int64 {
	pm, pn := (m+g.mr-1)/g.mr, (n+g.nr-1)/g.nr
	tiles := int64(pm) * int64(pn)
	if diagonal {
		tiles = 0
		for jp := range pn {
			for ip := range pm {
				if jp*g.nr+g.nr-1 > ip*g.mr {
					tiles++
				}
			}
		}
	}
	return tiles * int64(g.mr*g.nr*dim)
}
