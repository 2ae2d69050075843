package fashionclip

import (
	"context"
	"errors"
	"iter"
	"os"
	"slices"
	"time"

	"github.com/fashionclip/fashionclip/internal/pipeline"
)

// Result is one item's embedding, or the error that prevented it.
type Result[T any] struct {
	Item      T
	Embedding []float32
	Err       error
}

// ImageResult is one file's embedding or the error that prevented it.
type ImageResult = Result[string]

// LoadFunc turns one item into the model's pixel tensor, reusing dst when
// it is large enough (Preprocessor.Reuse does). It should stop soon after
// ctx ends. When T is a pointer it may also record side results in the
// item, which the item's Result then carries.
type LoadFunc[T any] func(ctx context.Context, m *Model, item T, dst []float32) ([]float32, error)

// Stats are a stream's stage timings, safe to read while it runs.
type Stats = pipeline.Stats

// StreamOptions size a stream's stages.
type StreamOptions struct {
	// Workers decode in parallel (default: the model's thread budget; they
	// run in ONNX Runtime's idle gaps).
	Workers int
	// BatchSize is the encoder batch (default: the model's, else 8).
	BatchSize int
	// Stats, when set, accumulates stage timings.
	Stats *Stats
	// OnBatch, when set, is told each encoder run's size and duration.
	OnBatch func(n int, d time.Duration)
}

// Encode streams items through decode workers and batched encoding. Results
// arrive in input order while later items are still being read; memory stays
// bounded however many items come (a fixed number are in flight). An item
// that cannot be loaded yields a Result with Err and the stream goes on; a
// failure of the encoder itself ends the stream with a final (zero Result,
// error) pair, as does the end of ctx. Breaking out of the loop stops the
// stream.
func Encode[T any](ctx context.Context, m *Model, items iter.Seq[T], load LoadFunc[T], opts StreamOptions) iter.Seq2[Result[T], error] {
	return func(yield func(Result[T], error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		ch := make(chan T)
		go func() {
			defer close(ch)
			for it := range items {
				select {
				case ch <- it:
				case <-ctx.Done():
					return
				}
			}
		}()
		results, wait := runStream(ctx, m, ch, load, opts)
		stopped := false
		for r := range results {
			if stopped {
				continue // drain so the stages can stop
			}
			if r.Err != nil && ctx.Err() != nil {
				continue // cancelled work is not an item failure
			}
			if !yield(Result[T]{Item: r.Item, Embedding: r.Embedding, Err: r.Err}, nil) {
				stopped = true
				cancel()
			}
		}
		err := wait()
		if stopped {
			return
		}
		if err == nil {
			err = ctx.Err()
		}
		if err != nil {
			yield(Result[T]{}, err)
		}
	}
}

func runStream[T any](ctx context.Context, m *Model, items <-chan T, load LoadFunc[T], opts StreamOptions) (<-chan pipeline.Result[T], func() error) {
	if opts.Workers <= 0 {
		opts.Workers = m.Threads()
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = m.batchSize(8)
	}
	pre := func(ctx context.Context, item T, dst []float32) ([]float32, error) { return load(ctx, m, item, dst) }
	return pipeline.Run(ctx, items, pre, m, pipeline.Options{Workers: opts.Workers, BatchSize: opts.BatchSize, Stats: opts.Stats, OnBatch: opts.OnBatch})
}

// LoadFile is the LoadFunc of image files: read the file, decode and
// preprocess it as CLIPImageProcessor does.
func LoadFile(ctx context.Context, m *Model, path string, dst []float32) ([]float32, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return m.pre.Reuse(dst, data)
}

// EncodeFiles streams image files through Encode with LoadFile.
func (m *Model) EncodeFiles(ctx context.Context, paths iter.Seq[string]) iter.Seq2[ImageResult, error] {
	return Encode(ctx, m, paths, LoadFile, StreamOptions{})
}

// EncodeImageFiles embeds a list of files (EncodeFiles, collected). A file
// that cannot be read is reported in its result; the others still get
// embedded.
func (m *Model) EncodeImageFiles(ctx context.Context, paths []string) ([]ImageResult, error) {
	out := make([]ImageResult, 0, len(paths))
	for r, err := range m.EncodeFiles(ctx, slices.Values(paths)) {
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if len(out) != len(paths) {
		return nil, errors.New("image stream ended early")
	}
	return out, nil
}
