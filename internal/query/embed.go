package query

import (
	"context"
	"fmt"
)

// EmbedFunc embeds a batch of texts or of image references, one embedding
// per input, in order.
type EmbedFunc func(ctx context.Context, inputs []string) ([][]float32, error)

// Embed embeds the terms, texts in one batch and images in another, and
// combines them with Vector. images may be nil when no term is an image.
func Embed(ctx context.Context, terms []Term, texts, images EmbedFunc) ([]float32, error) {
	var textIn, imageIn []string
	for _, t := range terms {
		if t.Image != "" {
			imageIn = append(imageIn, t.Image)
		} else {
			textIn = append(textIn, t.Text)
		}
	}
	embed := func(fn EmbedFunc, in []string, what string) ([][]float32, error) {
		if len(in) == 0 {
			return nil, nil
		}
		if fn == nil {
			return nil, fmt.Errorf("query: %d %s terms and no way to embed them", len(in), what)
		}
		out, err := fn(ctx, in)
		if err == nil && len(out) != len(in) {
			err = fmt.Errorf("query: %d embeddings for %d %s terms", len(out), len(in), what)
		}
		return out, err
	}
	textEmb, err := embed(texts, textIn, "text")
	if err != nil {
		return nil, err
	}
	imageEmb, err := embed(images, imageIn, "image")
	if err != nil {
		return nil, err
	}
	embs := make([][]float32, len(terms))
	ti, ii := 0, 0
	for i, t := range terms {
		if t.Image != "" {
			embs[i], ii = imageEmb[ii], ii+1
		} else {
			embs[i], ti = textEmb[ti], ti+1
		}
	}
	return Vector(terms, embs)
}
