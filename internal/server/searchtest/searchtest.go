// Package searchtest computes what `fashionclip search` answers, for tests
// of the HTTP search to compare with: the query read by internal/query,
// its terms' embeddings combined by query.Vector, internal/index's Search.
package searchtest

import (
	"testing"

	"github.com/fashionclip/fashionclip/internal/index"
	"github.com/fashionclip/fashionclip/internal/query"
)

// TextTerms reads a text query typed as one string.
func TextTerms(t testing.TB, q string) []query.Term {
	t.Helper()
	args, err := query.Split(q)
	if err != nil {
		t.Fatal(err)
	}
	terms, err := query.Parse(args, nil, func(string) bool { return false })
	if err != nil {
		t.Fatal(err)
	}
	return terms
}

// Hits searches the index in dir for the terms (with embs, their
// embeddings in term order), k best, as the CLI does.
func Hits(t testing.TB, dir string, terms []query.Term, embs [][]float32, k int, minScore *float64) []index.Hit {
	t.Helper()
	v, err := query.Vector(terms, embs)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := index.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	o := index.SearchOptions{K: k}
	if minScore != nil {
		o.MinScore, o.HasMinScore = *minScore, true
	}
	hits, err := ix.Search(v, o)
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

// CommitTexts adds the texts to the index in dir one commit each, as
// another `embed -o` run would while the index is served, and calls
// committed after each commit.
func CommitTexts(t testing.TB, dir string, model index.ModelInfo, texts []string, embed func(string) []float32, committed func(i int, text string)) {
	t.Helper()
	w, err := index.OpenWriter(dir, index.Options{Model: model})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for i, s := range texts {
		if err := w.Add(index.Item{Text: s, IsText: true}, embed(s)); err != nil {
			t.Fatal(err)
		}
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
		committed(i, s)
	}
}
