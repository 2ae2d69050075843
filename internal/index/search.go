package index

import (
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
)

// SearchOptions tune Search.
type SearchOptions struct {
	// K is the number of hits wanted (at least 1).
	K int
	// MinScore drops hits scoring below it when HasMinScore is set.
	MinScore    float64
	HasMinScore bool
	// Workers scanning in parallel (default GOMAXPROCS).
	Workers int
}

// Hit is one search result.
type Hit struct {
	Item  Item
	Score float64 // q · v, summed in float64
	// Chunk and Row locate the vector (the chunk's .npy name and row).
	Chunk string
	Row   int
}

const (
	// scanBlock rows are scored per kernel call: small enough for the
	// scores to stay in L1, large enough to amortise the call.
	scanBlock = 128
	// taskRows rows make one unit of parallel work.
	taskRows = 8192
	// extraCandidates are kept beyond K so that float32 rounding in the scan
	// cannot push a true top-K row out before the float64 rescoring.
	extraCandidates = 16
)

// Search returns the K live items with the largest dot product with q,
// best first (ties in commit order). q should be a unit vector. The scan is
// exact: every live row is scored; a row whose score is not finite (a
// damaged chunk) is never a hit.
func (ix *Index) Search(q []float32, o SearchOptions) ([]Hit, error) {
	if o.K < 1 {
		return nil, fmt.Errorf("k must be at least 1")
	}
	dim := ix.man.Dim
	if len(ix.chunks) == 0 {
		return nil, nil
	}
	if len(q) != dim {
		return nil, fmt.Errorf("query has %d dimensions, the index %d", len(q), dim)
	}
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	type task struct{ chunk, start, end int }
	var tasks []task
	for ci, c := range ix.chunks {
		for s := 0; s < c.pair.Rows; s += taskRows {
			tasks = append(tasks, task{ci, s, min(s+taskRows, c.pair.Rows)})
		}
	}
	workers = min(workers, len(tasks))
	capacity := o.K + extraCandidates
	// A row scoring below this in float32 cannot reach MinScore in float64.
	floor := float32(math.Inf(-1))
	if o.HasMinScore {
		floor = float32(o.MinScore) - 1e-3
	}

	heaps := make([]topK, workers)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := &heaps[w]
			h.cap = capacity
			var scores [scanBlock]float32
			for {
				ti := int(next.Add(1) - 1)
				if ti >= len(tasks) {
					return
				}
				t := tasks[ti]
				c := ix.chunks[t.chunk]
				for s := t.start; s < t.end; s += scanBlock {
					n := min(scanBlock, t.end-s)
					out := scores[:n]
					if c.f32 != nil {
						dotsF32(q, c.f32[s*dim:(s+n)*dim], dim, out)
					} else {
						dotsF16(q, c.f16[s*dim:(s+n)*dim], dim, out)
					}
					th := h.threshold(floor)
					for i, sc := range out {
						// Written so that a NaN score (a damaged row) is never a candidate.
						if !(sc >= th) || (!c.allLive && !c.isLive(s+i)) {
							continue
						}
						h.push(cand{sc, int32(t.chunk), int32(s + i)})
						th = h.threshold(floor)
					}
				}
			}
		}()
	}
	wg.Wait()

	// Rescore the candidates in float64 and rank them.
	var all []cand
	for _, h := range heaps {
		all = append(all, h.items...)
	}
	hits := make([]Hit, 0, len(all))
	type scored struct {
		c     cand
		score float64
	}
	ranked := make([]scored, 0, len(all))
	vec := make([]float32, dim)
	for _, cd := range all {
		c := ix.chunks[cd.chunk]
		s := dot64(q, c.vector(int(cd.row), dim, vec))
		if math.IsNaN(s) || math.IsInf(s, 0) || (o.HasMinScore && s < o.MinScore) {
			continue // a damaged row (Verify names it) is never a hit
		}
		ranked = append(ranked, scored{cd, s})
	}
	sort.Slice(ranked, func(a, b int) bool {
		x, y := ranked[a], ranked[b]
		if x.score != y.score {
			return x.score > y.score
		}
		return x.c.before(y.c)
	})
	// An item is live once in a sound index; one whose tables disagree
	// (Verify reports it) still never shows an item twice.
	seen := make(map[string]bool, min(len(ranked), o.K))
	for _, r := range ranked {
		if len(hits) == o.K {
			break
		}
		c := ix.chunks[r.c.chunk]
		if err := c.loadItems(); err != nil {
			return nil, err
		}
		idx := c.rowItem[r.c.row]
		if idx < 0 {
			return nil, fmt.Errorf("%s: row %d is live but not in its table", c.pair.Chunk, r.c.row)
		}
		it := c.items[idx].item()
		if k := it.Key(); !seen[k] {
			seen[k] = true
			hits = append(hits, Hit{Item: it, Score: r.score, Chunk: c.pair.Chunk, Row: int(r.c.row)})
		}
	}
	return hits, nil
}

// cand is a scan candidate.
type cand struct {
	score float32
	chunk int32
	row   int32
}

// before orders equal scores by position, so results do not depend on how
// the scan was split between workers.
func (a cand) before(b cand) bool {
	if a.chunk != b.chunk {
		return a.chunk < b.chunk
	}
	return a.row < b.row
}

// worse is the heap order: the root is the candidate to evict first.
func (a cand) worse(b cand) bool {
	if a.score != b.score {
		return a.score < b.score
	}
	return b.before(a)
}

// topK is a bounded min-heap of the best candidates seen.
type topK struct {
	cap   int
	items []cand
}

// threshold is the score a row must reach to be worth a push.
func (h *topK) threshold(floor float32) float32 {
	if len(h.items) < h.cap {
		return floor
	}
	return max(h.items[0].score, floor)
}

func (h *topK) push(c cand) {
	if len(h.items) < h.cap {
		h.items = append(h.items, c)
		for i := len(h.items) - 1; i > 0; {
			p := (i - 1) / 2
			if !h.items[i].worse(h.items[p]) {
				break
			}
			h.items[i], h.items[p] = h.items[p], h.items[i]
			i = p
		}
		return
	}
	if !h.items[0].worse(c) {
		return
	}
	h.items[0] = c
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(h.items) && h.items[l].worse(h.items[m]) {
			m = l
		}
		if r < len(h.items) && h.items[r].worse(h.items[m]) {
			m = r
		}
		if m == i {
			return
		}
		h.items[i], h.items[m] = h.items[m], h.items[i]
		i = m
	}
}
