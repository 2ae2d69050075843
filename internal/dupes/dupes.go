// Package dupes finds duplicate images in an index: byte-identical copies
// (by SHA-256, recorded by `embed --hash` or computed on demand) and near
// duplicates (re-encoded, resized or re-shot copies) whose embeddings are
// within a cosine threshold.
//
// Near-duplicate groups are the connected components of the graph whose
// edges are the pairs at or above the threshold (single linkage): the
// answer does not depend on the order of the index or on how the work was
// split, and a pair of items is in one group exactly when a chain of close
// pairs links them. The price is chaining (A≈B and B≈C group A with C even
// if A and C are further apart); each group reports its diameter as
// max_distance, so a loose group shows, and a higher threshold splits it.
// Clustering around centres would avoid chains but depends on the order
// items are visited and can split true copies between clusters.
//
// The package never prints; progress goes through the Progress interface.
package dupes

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"os"
	"slices"

	"github.com/fashionclip/fashionclip/internal/index"
	"github.com/fashionclip/fashionclip/internal/vecmath"
)

// DefaultThreshold is the provisional cosine above which two images count
// as near duplicates. It could not be measured on real FashionCLIP
// weights here (the test kit's random weights put any two images at 0.9999);
// it follows what CLIP ViT-B/32 models give re-encoded or resized copies of
// one photo (at or above 0.98-0.99; immich's default distance of 0.01
// means 0.99), loosened a little to catch the same product re-shot. Tune
// it per catalogue: see docs/export.md ("Tuning the threshold").
const DefaultThreshold = 0.97

// Options tune Find.
type Options struct {
	// Threshold is the cosine at or above which two images are near
	// duplicates (default DefaultThreshold). It must be in (0, 1].
	Threshold float64
	// ExactOnly reports only byte-identical copies: no vectors are
	// compared; files of equal size without a recorded SHA-256 are hashed.
	ExactOnly bool
	// NoHash never reads image files: exact copies are told only by the
	// SHA-256s recorded in the index.
	NoHash bool
	// Workers for the comparison (default GOMAXPROCS).
	Workers int
	// Progress, when set, hears about each phase.
	Progress Progress
}

// Progress receives progress. Calls come from one goroutine at a time.
type Progress interface {
	// Start begins a phase: "compare" (total in multiply-adds) or "hash"
	// (total in files).
	Start(phase string, total int64)
	// Update reports the work done in the phase so far.
	Update(done int64)
}

// Member is one item of a group.
type Member struct {
	ID   string `json:"id"`
	Path string `json:"path"`
	// Score is the cosine with the group's first member, its
	// representative.
	Score float64 `json:"score"`
}

// Group is one set of duplicates: the JSON Lines record of `index dupes`.
type Group struct {
	Group int  `json:"group"` // 1, 2, … in output order
	Exact bool `json:"exact"` // every member has the same bytes
	// MaxDistance is the group's diameter: 1 − the smallest cosine between
	// two of its members.
	MaxDistance float64  `json:"max_distance"`
	Paths       []string `json:"paths"`
	Members     []Member `json:"members"`
}

// Warning is a file that could not be hashed; its exact copies (if any)
// are not reported.
type Warning struct {
	Path string
	Err  error
}

// Result is what Find found.
type Result struct {
	// Groups: exact groups first, then near-duplicate groups, each kind
	// largest first. A near-duplicate group lists all its members, so the
	// members of an exact group inside it appear in both.
	Groups   []Group
	Images   int   // images compared (texts are not)
	Pairs    int64 // pairs at or above the threshold
	Hashed   int   // files hashed on demand
	Warnings []Warning
	Compare  index.PairStats
}

// item is one image of the index.
type item struct {
	it  index.Item
	ref index.Ref
	sha string // recorded or computed; "" unknown
}

// Find looks for the duplicate images of ix.
func Find(ctx context.Context, ix *index.Index, o Options) (*Result, error) {
	if o.Threshold == 0 {
		o.Threshold = DefaultThreshold
	}
	if !(o.Threshold > 0 && o.Threshold <= 1) {
		return nil, fmt.Errorf("threshold %v is not a cosine in (0, 1]", o.Threshold)
	}
	res := &Result{}
	// Every image, numbered in commit order; rowOrd maps a chunk row to
	// its number (-1 for texts and garbage).
	var items []item
	rowOrd := map[int32][]int32{}
	m := ix.Manifest()
	err := ix.EachBatch(index.BatchOptions{SkipVectors: true}, func(b *index.Batch) error {
		ords, ok := rowOrd[int32(b.Chunk)]
		if !ok {
			ords = make([]int32, m.Chunks[b.Chunk].Rows)
			for i := range ords {
				ords[i] = -1
			}
			rowOrd[int32(b.Chunk)] = ords
		}
		for i, it := range b.Items {
			if it.IsText {
				continue
			}
			ords[b.Rows[i]] = int32(len(items))
			items = append(items, item{it: it, ref: b.Refs[i], sha: it.SHA256})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	res.Images = len(items)
	uf := newUnionFind(len(items))

	if !o.ExactOnly && len(items) > 1 {
		var total int64
		po := index.PairOptions{Threshold: float32(o.Threshold), Workers: o.Workers}
		if o.Progress != nil {
			po.Progress = func(done, all int64) {
				if total == 0 {
					total = all
					o.Progress.Start("compare", all)
				}
				o.Progress.Update(done)
			}
		}
		res.Compare, err = ix.SimilarPairs(ctx, po, func(a, b index.Ref, score float32) error {
			ia, ib := rowOrd[a.Chunk][a.Row], rowOrd[b.Chunk][b.Row]
			if ia < 0 || ib < 0 {
				return nil // a text
			}
			res.Pairs++
			uf.union(ia, ib)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}

	// Hash the files that could be exact copies and have no recorded hash:
	// same size as another image (in the same component, when vectors were
	// compared: byte-identical files have identical vectors).
	if !o.NoHash {
		type sizeKey struct {
			comp int32
			size int64
		}
		count := map[sizeKey]int{}
		key := func(i int) sizeKey {
			if o.ExactOnly {
				return sizeKey{-1, items[i].it.Size}
			}
			return sizeKey{uf.find(int32(i)), items[i].it.Size}
		}
		for i := range items {
			count[key(i)]++
		}
		var todo []int
		for i := range items {
			if items[i].sha == "" && count[key(i)] > 1 {
				todo = append(todo, i)
			}
		}
		if len(todo) > 0 && o.Progress != nil {
			o.Progress.Start("hash", int64(len(todo)))
		}
		for n, i := range todo {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			sum, err := hashFile(ix.FilePath(items[i].it.Path))
			if err != nil {
				res.Warnings = append(res.Warnings, Warning{items[i].it.Path, err})
			} else {
				items[i].sha = sum
				res.Hashed++
			}
			if o.Progress != nil {
				o.Progress.Update(int64(n + 1))
			}
		}
	}

	// Exact groups: images sharing a SHA-256.
	byHash := map[string][]int32{}
	for i := range items {
		if h := items[i].sha; h != "" {
			byHash[h] = append(byHash[h], int32(i))
		}
	}
	var exact, near [][]int32
	for _, g := range byHash {
		if len(g) > 1 {
			exact = append(exact, g)
		}
	}
	// Near groups: components with at least two different contents.
	if !o.ExactOnly {
		comps := map[int32][]int32{}
		for i := range items {
			r := uf.find(int32(i))
			comps[r] = append(comps[r], int32(i))
		}
		for _, c := range comps {
			if len(c) < 2 {
				continue
			}
			contents := map[string]bool{}
			for _, i := range c {
				h := items[i].sha
				if h == "" {
					h = fmt.Sprint("#", i)
				}
				contents[h] = true
			}
			if len(contents) > 1 {
				near = append(near, c)
			}
		}
	}
	order := func(gs [][]int32) {
		for _, g := range gs {
			slices.Sort(g)
		}
		slices.SortFunc(gs, func(a, b []int32) int {
			if len(a) != len(b) {
				return len(b) - len(a)
			}
			return int(a[0] - b[0])
		})
	}
	order(exact)
	order(near)
	for _, gs := range []struct {
		groups [][]int32
		exact  bool
	}{{exact, true}, {near, false}} {
		for _, g := range gs.groups {
			grp, err := describe(ix, items, g, gs.exact)
			if err != nil {
				return nil, err
			}
			grp.Group = len(res.Groups) + 1
			res.Groups = append(res.Groups, grp)
		}
	}
	return res, nil
}

// describe builds a group's record: for a near group the representative
// is the medoid (the member closest, in total, to the others), for an
// exact group the first in commit order; members follow by score.
func describe(ix *index.Index, items []item, g []int32, exact bool) (Group, error) {
	dim := ix.Dim()
	vecs := make([]float32, len(g)*dim)
	for k, i := range g {
		if _, err := ix.Vector(items[i].ref, vecs[k*dim:(k+1)*dim]); err != nil {
			return Group{}, err
		}
	}
	// Row sums and the smallest cosine, a block of rows at a time so that
	// memory stays bounded for large groups.
	n := len(g)
	sums := make([]float64, n)
	minCos := 1.0
	const block = 512
	c := make([]float32, block*n)
	for i0 := 0; i0 < n; i0 += block {
		m := min(block, n-i0)
		index.DotMatrix(vecs[i0*dim:(i0+m)*dim], m, vecs, n, dim, c[:m*n])
		for r := range m {
			for j := range n {
				v := float64(c[r*n+j])
				sums[i0+r] += v
				if j != i0+r {
					minCos = min(minCos, v)
				}
			}
		}
	}
	rep := 0
	if !exact {
		for k := range sums {
			if sums[k] > sums[rep] {
				rep = k
			}
		}
	}
	repVec := vecs[rep*dim : (rep+1)*dim]
	members := make([]Member, n)
	for k, i := range g {
		members[k] = Member{ID: index.ItemID(items[i].it), Path: items[i].it.Path, Score: vecmath.Dot(repVec, vecs[k*dim:(k+1)*dim])}
	}
	members[0], members[rep] = members[rep], members[0]
	rest := members[1:]
	slices.SortStableFunc(rest, func(a, b Member) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return 0
	})
	grp := Group{Exact: exact, MaxDistance: math.Max(0, 1-minCos), Members: members}
	for _, mb := range members {
		grp.Paths = append(grp.Paths, mb.Path)
	}
	return grp, nil
}

// hashFile is the hex SHA-256 of a file's bytes.
func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// unionFind joins items into components (path halving, union by size).
type unionFind struct{ parent, size []int32 }

func newUnionFind(n int) *unionFind {
	u := &unionFind{parent: make([]int32, n), size: make([]int32, n)}
	for i := range u.parent {
		u.parent[i], u.size[i] = int32(i), 1
	}
	return u
}

func (u *unionFind) find(x int32) int32 {
	for u.parent[x] != x {
		u.parent[x] = u.parent[u.parent[x]]
		x = u.parent[x]
	}
	return x
}

func (u *unionFind) union(a, b int32) {
	ra, rb := u.find(a), u.find(b)
	if ra == rb {
		return
	}
	if u.size[ra] < u.size[rb] {
		ra, rb = rb, ra
	}
	u.parent[rb] = ra
	u.size[ra] += u.size[rb]
}
