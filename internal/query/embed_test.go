package query

import (
	"context"
	"errors"
	"slices"
	"testing"
)

func TestEmbed(t *testing.T) {
	// Each input embeds to a distinct axis, so the result shows which
	// embedding went with which term and weight.
	axes := map[string][]float32{"red dress": {1, 0, 0}, "logo": {0, 1, 0}, "shoe.jpg": {0, 0, 1}}
	lookup := func(calls *[][]string) EmbedFunc {
		return func(_ context.Context, in []string) ([][]float32, error) {
			*calls = append(*calls, in)
			out := make([][]float32, len(in))
			for i, s := range in {
				out[i] = axes[s]
			}
			return out, nil
		}
	}
	var textCalls, imageCalls [][]string
	terms := []Term{{Weight: 2, Image: "shoe.jpg"}, {Weight: 2, Text: "red dress"}, {Weight: -1, Text: "logo"}}
	q, err := Embed(context.Background(), terms, lookup(&textCalls), lookup(&imageCalls))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Vector(terms, [][]float32{{0, 0, 1}, {1, 0, 0}, {0, 1, 0}})
	if !slices.Equal(q, want) {
		t.Errorf("vector %v, want %v", q, want)
	}
	if len(textCalls) != 1 || !slices.Equal(textCalls[0], []string{"red dress", "logo"}) || len(imageCalls) != 1 {
		t.Errorf("batches: texts %v, images %v; want one of each, in term order", textCalls, imageCalls)
	}

	textCalls = nil
	if _, err := Embed(context.Background(), terms[1:], lookup(&textCalls), nil); err != nil {
		t.Errorf("texts only, no image encoder: %v", err)
	}
	if _, err := Embed(context.Background(), terms[:1], lookup(&textCalls), nil); err == nil {
		t.Error("an image term without an image encoder: no error")
	}
	boom := errors.New("boom")
	fail := func(context.Context, []string) ([][]float32, error) { return nil, boom }
	if _, err := Embed(context.Background(), terms, lookup(&textCalls), fail); !errors.Is(err, boom) {
		t.Errorf("encoder error: %v", err)
	}
	short := func(context.Context, []string) ([][]float32, error) { return [][]float32{{1, 0, 0}}, nil }
	if _, err := Embed(context.Background(), terms[1:], short, nil); err == nil {
		t.Error("fewer embeddings than terms: no error")
	}
}
