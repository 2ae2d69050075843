// Package server is fashionclip's HTTP API: OpenAI-compatible embeddings
// (/v1/embeddings, /v1/models), zero-shot classification (/v1/classify),
// health and Prometheus metrics. Concurrent requests are gathered into
// encoder batches by one micro-batcher per tower, so text never queues
// behind the vision tower.
//
// The package talks to the model only through Engine, which keeps the HTTP
// layer testable without ONNX Runtime; modelengine adapts *fashionclip.Model.
package server

import "context"

// Engine is what the server needs from a model. Implementations must be safe
// for concurrent use.
type Engine interface {
	// EncodeTexts returns one L2-normalised embedding per text.
	EncodeTexts(ctx context.Context, texts []string) ([][]float32, error)
	// EncodeImages returns one L2-normalised embedding per preprocessed
	// pixel tensor (as Preprocess returns them).
	EncodeImages(ctx context.Context, pixels [][]float32) ([][]float32, error)
	// Preprocess decodes an encoded image (JPEG, PNG, ...) into the model's
	// pixel tensor. Any error means the bytes are not a usable image, unless
	// ctx has ended: decoding should stop soon after its request is
	// cancelled, and then returns ctx's error.
	Preprocess(ctx context.Context, data []byte) ([]float32, error)
	// DecodeCost is what decoding data will cost, in pixels (width × height
	// as the header declares them), read from the header alone, so the
	// server can bound the memory of concurrent decodes before it starts
	// one. An error means the header could not be read; the server then
	// lets the decoder give the verdict, counting the image as the largest.
	DecodeCost(data []byte) (int64, error)
	// TokenCount is the number of tokens the text encoder sees for text
	// (start and end tokens included, after truncation).
	TokenCount(text string) int
	// EmbedLabels embeds class names under prompt templates (each holding
	// "{}"); nil templates mean the library's default prompt.
	EmbedLabels(ctx context.Context, names, templates []string) (LabelSet, error)
	// LogitScale multiplies cosines before the softmax over labels.
	LogitScale() float32
	// Dim is the embedding width.
	Dim() int
}

// LabelSet is a set of embedded labels that can rank an image embedding.
type LabelSet interface {
	// Score ranks the labels for one image embedding, best first: softmax
	// probabilities of scale × cosine, or raw cosines; topK 0 keeps all.
	Score(image []float32, scale float32, raw bool, topK int) []LabelScore
}

// LabelScore is one label's score for one image.
type LabelScore struct {
	Label string  `json:"label"`
	Score float64 `json:"score"`
}
