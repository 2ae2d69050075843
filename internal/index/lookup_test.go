package index

import (
	"fmt"
	"slices"
	"testing"
)

func TestAtAnswersExactlyTheLivePositions(t *testing.T) {
	dir := t.TempDir()
	const dim = 16
	buildRandom(t, dir, DTypeFloat16, 400, dim, 9)
	ix, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	hits, err := ix.Search(vecFor("q", 1, dim), SearchOptions{K: ix.Len()})
	if err != nil {
		t.Fatal(err)
	}
	live := map[string]bool{}
	for _, h := range hits {
		live[fmt.Sprintf("%s/%d", h.Chunk, h.Row)] = true
		it, vec, ok, err := ix.At(h.Chunk, h.Row)
		if err != nil || !ok {
			t.Fatalf("At(%s, %d) = ok %v, err %v; want the hit's item", h.Chunk, h.Row, ok, err)
		}
		if it.Key() != h.Item.Key() {
			t.Errorf("At(%s, %d) is %q, the hit %q", h.Chunk, h.Row, it.Key(), h.Item.Key())
		}
		if got := dot64(vecFor("q", 1, dim), vec); got != h.Score {
			t.Errorf("At(%s, %d): vector scores %v, the hit %v", h.Chunk, h.Row, got, h.Score)
		}
	}
	m := ix.Manifest()
	if m.Garbage() == 0 {
		t.Fatal("the fixture should have garbage rows")
	}
	dead := 0
	for _, p := range m.Chunks {
		for _, row := range []int{-1, p.Rows, p.Rows + 7} {
			if _, _, ok, _ := ix.At(p.Chunk, row); ok {
				t.Errorf("At(%s, %d) answered a row outside the chunk", p.Chunk, row)
			}
		}
		for row := range p.Rows {
			if live[fmt.Sprintf("%s/%d", p.Chunk, row)] {
				continue
			}
			dead++
			if _, _, ok, _ := ix.At(p.Chunk, row); ok {
				t.Errorf("At(%s, %d) answered a garbage row", p.Chunk, row)
			}
		}
	}
	if dead == 0 {
		t.Error("no garbage row was checked")
	}
	for _, name := range []string{"emb-99999.npy", "", "../manifest.json"} {
		if _, _, ok, _ := ix.At(name, 0); ok {
			t.Errorf("At(%q, 0) answered", name)
		}
	}
	// The vector is a copy: changing it changes nothing in the index.
	h := hits[0]
	_, v1, _, _ := ix.At(h.Chunk, h.Row)
	keep := slices.Clone(v1)
	for i := range v1 {
		v1[i] = 0
	}
	if _, v2, _, _ := ix.At(h.Chunk, h.Row); !slices.Equal(v2, keep) {
		t.Error("At's vector aliases the index")
	}
}
