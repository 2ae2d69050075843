package index

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/fashionclip/fashionclip/internal/testutil"
)

// TestSearchKind: a search limited to one kind returns the best K of that
// kind, exactly the kind's hits of an unlimited search, even when the
// other kind crowds the top.
func TestSearchKind(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mixed")
	w, err := OpenWriter(dir, Options{Model: testModel, DType: DTypeFloat32, CommitEvery: 16})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 5))
	const dim = 16
	q := testutil.RandomUnitVector(rng, dim)
	// 40 texts right next to the query, 30 images further away.
	for i := range 40 {
		v := make([]float32, dim)
		n := testutil.RandomUnitVector(rng, dim)
		for j := range v {
			v[j] = q[j] + 0.05*n[j]
		}
		if err := w.Add(Item{IsText: true, Text: fmt.Sprintf("text %d", i)}, normalised(v)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 30 {
		if err := w.Add(Item{Path: fmt.Sprintf("img/%02d.jpg", i), Size: 1}, testutil.RandomUnitVector(rng, dim)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	ix, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	all, err := ix.Search(q, SearchOptions{K: 70})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		kind Kind
		k    int
		want int
	}{{ImagesOnly, 5, 5}, {ImagesOnly, 50, 30}, {TextsOnly, 3, 3}, {TextsOnly, 100, 40}} {
		hits, err := ix.Search(q, SearchOptions{K: tc.k, Kind: tc.kind})
		if err != nil {
			t.Fatal(err)
		}
		var want []Hit
		for _, h := range all {
			if tc.kind.keeps(h.Item) && len(want) < tc.k {
				want = append(want, h)
			}
		}
		if len(hits) != tc.want || len(want) != tc.want {
			t.Fatalf("kind %d, k %d: %d hits, want %d", tc.kind, tc.k, len(hits), tc.want)
		}
		for i := range hits {
			if hits[i].Item != want[i].Item || hits[i].Score != want[i].Score {
				t.Errorf("kind %d, k %d, hit %d: %+v, want %+v", tc.kind, tc.k, i, hits[i], want[i])
			}
		}
	}
}

func normalised(v []float32) []float32 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	for i := range v {
		v[i] = float32(float64(v[i]) / math.Sqrt(s))
	}
	return v
}
