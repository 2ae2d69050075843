package server

import (
	"context"
	"fmt"
	"math"
	"sync"

	"golang.org/x/sync/semaphore"
)

// decodeBudget bounds concurrent image decoding by count and by pixels, so
// that a few giant images cannot exhaust memory while many small ones still
// decode side by side. Each decode holds its declared pixels of the budget,
// but at least total/workers (so at most workers decode at once) and at
// most total (an image larger than the whole budget decodes alone). Waiters
// are served first come, first served: a large image is not starved by a
// stream of small ones.
type decodeBudget struct {
	sem   *semaphore.Weighted
	total int64
	least int64
}

func newDecodeBudget(workers int, pixels int64) *decodeBudget {
	return &decodeBudget{sem: semaphore.NewWeighted(pixels), total: pixels, least: max(1, pixels/int64(max(1, workers)))}
}

// weight is the share of the budget a decode of cost pixels holds.
func (b *decodeBudget) weight(cost int64) int64 { return min(max(cost, b.least), b.total) }

// acquire waits for room for a decode of cost pixels; release must be
// called once the decoder has really stopped.
func (b *decodeBudget) acquire(ctx context.Context, cost int64) (release func(), err error) {
	w := b.weight(cost)
	if err := b.sem.Acquire(ctx, w); err != nil {
		return nil, err
	}
	var once sync.Once
	return func() { once.Do(func() { b.sem.Release(w) }) }, nil
}

// acquireDecode waits for room in the decode budget for data, costed from
// its header; release must be called once the decoder has really stopped.
func (s *Server) acquireDecode(ctx context.Context, data []byte) (release func(), e *APIError) {
	cost, err := s.engine.DecodeCost(data)
	if err != nil {
		cost = math.MaxInt64 // unreadable header: the decoder decides, alone
	}
	release, err = s.budget.acquire(ctx, cost)
	if err != nil {
		return nil, contextError(ctx.Err())
	}
	return release, nil
}

// decodeImage turns one encoded image into its pixel tensor within the
// decode budget. When ctx ends first it answers at once; the decode itself
// keeps its share of the budget until the engine has stopped it, so the
// budget always counts the memory really in use.
func (s *Server) decodeImage(ctx context.Context, data []byte, param string) ([]float32, *APIError) {
	release, e := s.acquireDecode(ctx, data)
	if e != nil {
		return nil, e
	}
	type result struct {
		px  []float32
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer release()
		px, err := s.safePreprocess(ctx, data)
		done <- result{px, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			if ctx.Err() != nil {
				return nil, contextError(ctx.Err())
			}
			return nil, badRequest("invalid_image", param, "%s is not a usable image: %v", param, r.err)
		}
		return r.px, nil
	case <-ctx.Done():
		return nil, contextError(ctx.Err())
	}
}

// safePreprocess turns a decoder panic on hostile bytes into a 400.
func (s *Server) safePreprocess(ctx context.Context, data []byte) (px []float32, err error) {
	defer func() {
		if r := recover(); r != nil {
			px, err = nil, fmt.Errorf("decoder failed: %v", r)
		}
	}()
	return s.engine.Preprocess(ctx, data)
}

// loadImage fetches a remote image (when allowed) and decodes it.
func (s *Server) loadImage(ctx context.Context, ref imageRef, param string) ([]float32, *APIError) {
	data := ref.data
	if ref.remote != "" {
		if !s.cfg.AllowRemoteImages {
			return nil, badRequest("remote_images_disabled", param,
				"%s: remote image URLs are disabled on this server (start it with --allow-remote-images); send a data:image/...;base64, URL", param)
		}
		var e *APIError
		if data, e = s.fetch.fetch(ctx, ref.remote, param); e != nil {
			return nil, e
		}
		if data == nil {
			return nil, contextError(ctx.Err())
		}
	}
	if int64(len(data)) > s.cfg.MaxImageBytes {
		return nil, tooLargeImage(param, s.cfg.MaxImageBytes)
	}
	return s.decodeImage(ctx, data, param)
}

// loadImages decodes images side by side (within the decode budget); the
// first failing image, in request order, is the answer. params name each
// image in error messages.
func (s *Server) loadImages(ctx context.Context, refs []imageRef, params []string) ([][]float32, *APIError) {
	pixels := make([][]float32, len(refs))
	errs := make([]*APIError, len(refs))
	var wg sync.WaitGroup
	for i, ref := range refs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pixels[i], errs[i] = s.loadImage(ctx, ref, params[i])
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, contextError(err)
	}
	for _, e := range errs {
		if e != nil {
			return nil, e
		}
	}
	return pixels, nil
}

// embedImages decodes and encodes a request's images in chunks of at most
// MaxBatch, one chunk decoding while the previous one encodes: a request of
// 2,048 tiny images holds two chunks of pixel tensors at a time, not 2,048.
func (s *Server) embedImages(ctx context.Context, refs []imageRef, params []string) ([][]float32, *APIError) {
	out := make([][]float32, len(refs))
	var pending *job[[]float32, []float32]
	pendingAt := 0
	collect := func() *APIError {
		if pending == nil {
			return nil
		}
		embs, err := pending.wait()
		pending = nil
		if err != nil {
			return s.batchError(err, "image")
		}
		copy(out[pendingAt:], embs)
		return nil
	}
	for start := 0; start < len(refs); start += s.cfg.MaxBatch {
		end := min(start+s.cfg.MaxBatch, len(refs))
		pixels, e := s.loadImages(ctx, refs[start:end], params[start:end])
		if e != nil {
			return nil, e
		}
		if e := collect(); e != nil {
			return nil, e
		}
		j, err := s.vision.enqueue(ctx, pixels)
		if err != nil {
			return nil, s.batchError(err, "image")
		}
		pending, pendingAt = j, start
	}
	if e := collect(); e != nil {
		return nil, e
	}
	return out, nil
}
