// Package modelengine adapts a loaded *fashionclip.Model to server.Engine.
// It lives apart from package server so the HTTP layer and its tests build
// without cgo and ONNX Runtime.
package modelengine

import (
	"context"
	"fmt"

	"github.com/fashionclip/fashionclip/internal/server"
	"github.com/fashionclip/fashionclip/pkg/fashionclip"
)

// Engine serves a *fashionclip.Model. Texts run on the model's text graph
// (the pruned one for combined models), images on its vision graph: two
// ONNX Runtime sessions, so the server's two batchers never share one.
type Engine struct {
	m   *fashionclip.Model
	dim int
}

// New wraps m and warms both towers up: one text and one blank image are
// encoded, so sessions are created (and a broken model reported) before the
// first request rather than during it, and the embedding width is known.
func New(ctx context.Context, m *fashionclip.Model) (*Engine, error) {
	t, err := m.EncodeTexts(ctx, []string{"warm-up"})
	if err != nil {
		return nil, fmt.Errorf("warm up text encoder: %w", err)
	}
	blank := make([]float32, m.Preprocessor().PixelCount())
	v, err := m.EncodeImages(ctx, [][]float32{blank})
	if err != nil {
		return nil, fmt.Errorf("warm up image encoder: %w", err)
	}
	if len(t[0]) != len(v[0]) {
		return nil, fmt.Errorf("text and image embeddings differ in width (%d vs %d)", len(t[0]), len(v[0]))
	}
	return &Engine{m: m, dim: len(t[0])}, nil
}

// Model is the wrapped model.
func (e *Engine) Model() *fashionclip.Model { return e.m }

// EncodeTexts implements server.Engine.
func (e *Engine) EncodeTexts(ctx context.Context, texts []string) ([][]float32, error) {
	return e.m.EncodeTexts(ctx, texts)
}

// EncodeImages implements server.Engine.
func (e *Engine) EncodeImages(ctx context.Context, pixels [][]float32) ([][]float32, error) {
	return e.m.EncodeImages(ctx, pixels)
}

// Preprocess implements server.Engine with the model's own preprocessing
// (the same as the CLI's), so served embeddings equal the library's.
func (e *Engine) Preprocess(data []byte) ([]float32, error) {
	return e.m.Preprocessor().Bytes(data)
}

// TokenCount implements server.Engine: the ids the text encoder sees (New
// has loaded the tokenizer, so it is there).
func (e *Engine) TokenCount(text string) int {
	tok, err := e.m.Tokenizer()
	if err != nil {
		return 0
	}
	return len(tok.Encode(text))
}

// EmbedLabels implements server.Engine with the library's prompt ensembling.
func (e *Engine) EmbedLabels(ctx context.Context, names, templates []string) (server.LabelSet, error) {
	l, err := e.m.EmbedLabels(ctx, names, templates)
	if err != nil {
		return nil, err
	}
	return labels{l}, nil
}

// LogitScale implements server.Engine.
func (e *Engine) LogitScale() float32 { return e.m.LogitScale() }

// Dim implements server.Engine.
func (e *Engine) Dim() int { return e.dim }

type labels struct{ l *fashionclip.Labels }

// Score ranks with the library's scoring, as `fashionclip classify` does.
func (l labels) Score(image []float32, scale float32, raw bool, topK int) []server.LabelScore {
	scores := l.l.Score(image, scale, fashionclip.ScoreOptions{Raw: raw, TopK: topK})
	out := make([]server.LabelScore, len(scores))
	for i, s := range scores {
		out[i] = server.LabelScore{Label: s.Label, Score: s.Score}
	}
	return out
}
