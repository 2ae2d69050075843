// Package pipeline runs the concurrent stages between the input source and
// the sinks: preprocessing workers → batcher → encoder → in-order results.
// Channels are bounded and a fixed number of items may be in flight, so
// memory stays flat however many inputs arrive.
package pipeline

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Encoder turns a batch of preprocessed tensors into embeddings.
type Encoder interface {
	EncodeImages(ctx context.Context, pixels [][]float32) ([][]float32, error)
}

// PreprocessFunc reads and preprocesses one item into dst (which it may
// reuse when large enough) and returns the tensor. It should return soon
// after ctx ends. T may be a pointer through which it hands side results
// (a thumbnail, a timing) to the consumer of the item's Result.
type PreprocessFunc[T any] func(ctx context.Context, item T, dst []float32) ([]float32, error)

// Options size the stages.
type Options struct {
	Workers   int // preprocessing goroutines (default 1)
	BatchSize int // encoder batch (default 8)
	// MaxInFlight bounds the items between the source and the output
	// (default 4×BatchSize + 2×Workers).
	MaxInFlight int
	Stats       *Stats // optional stage timings
	// OnBatch, when set, is told each encoder call's size and duration.
	OnBatch func(n int, d time.Duration)
}

// Stats accumulates stage times in nanoseconds; safe to read while running.
type Stats struct {
	Items, Failed, Batches atomic.Int64
	PreprocessNanos        atomic.Int64 // summed over workers
	EncodeNanos            atomic.Int64 // wall time inside the encoder
}

// Result is one input's outcome, delivered in input order.
type Result[T any] struct {
	Seq       int
	Item      T
	Embedding []float32
	Err       error
}

type job[T any] struct {
	seq  int
	item T
}

type prepped[T any] struct {
	seq    int
	item   T
	pixels *[]float32
	err    error
}

// Run starts the stages. Results arrive on the returned channel in input
// order; after it closes, wait returns the first fatal error (an encoder
// failure or the context's error), or nil.
func Run[T any](ctx context.Context, items <-chan T, pre PreprocessFunc[T], enc Encoder, opts Options) (<-chan Result[T], func() error) {
	if opts.Workers <= 0 {
		opts.Workers = 1
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 8
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = 4*opts.BatchSize + 2*opts.Workers
	}
	if opts.Stats == nil {
		opts.Stats = &Stats{}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	p := &run[T]{opts: opts, pre: pre, enc: enc,
		tokens:  make(chan struct{}, opts.MaxInFlight),
		jobs:    make(chan job[T], opts.Workers),
		prepped: make(chan prepped[T], opts.Workers+opts.BatchSize),
		batches: make(chan []prepped[T], 1),
		done:    make(chan Result[T], opts.Workers+opts.BatchSize),
		out:     make(chan Result[T]),
		cancel:  cancel,
	}
	p.pool.New = func() any { return new([]float32) }

	go p.dispatch(ctx, items)
	var workers sync.WaitGroup
	for range opts.Workers {
		workers.Add(1)
		go func() { defer workers.Done(); p.work(ctx) }()
	}
	go func() { workers.Wait(); close(p.prepped) }()
	go p.batch()
	go p.encode(ctx)
	finished := make(chan struct{})
	go func() { p.reorder(); close(finished) }()
	return p.out, func() error {
		<-finished
		if err := context.Cause(ctx); err != nil && err != errFinished {
			return err
		}
		return nil
	}
}

type run[T any] struct {
	opts    Options
	pre     PreprocessFunc[T]
	enc     Encoder
	tokens  chan struct{}
	jobs    chan job[T]
	prepped chan prepped[T]
	batches chan []prepped[T]
	done    chan Result[T]
	out     chan Result[T]
	pending atomic.Int64 // dispatched but not yet out of a worker
	pool    sync.Pool
	cancel  context.CancelCauseFunc
}

type finishedErr struct{}

func (finishedErr) Error() string { return "finished" }

var errFinished error = finishedErr{}

func (p *run[T]) dispatch(ctx context.Context, items <-chan T) {
	defer close(p.jobs)
	seq := 0
	for it := range items {
		select {
		case p.tokens <- struct{}{}:
		case <-ctx.Done():
			return
		}
		p.pending.Add(1)
		select {
		case p.jobs <- job[T]{seq, it}:
		case <-ctx.Done():
			return
		}
		seq++
	}
}

func (p *run[T]) work(ctx context.Context) {
	for j := range p.jobs {
		r := prepped[T]{seq: j.seq, item: j.item}
		if err := ctx.Err(); err != nil {
			r.err = err
		} else {
			t0 := time.Now()
			buf := p.pool.Get().(*[]float32)
			px, err := p.pre(ctx, j.item, (*buf)[:0])
			if err == nil {
				*buf = px
				r.pixels = buf
			} else {
				p.pool.Put(buf)
				r.err = err
			}
			p.opts.Stats.PreprocessNanos.Add(int64(time.Since(t0)))
		}
		// Count down before handing over: the batcher, woken by this send,
		// then sees whether more work is still coming.
		p.pending.Add(-1)
		p.prepped <- r
	}
}

// batch groups tensors for the encoder. A partial batch goes out as soon as
// no more work is on its way, which keeps results streaming when the input
// trickles in and cannot deadlock against the in-flight limit.
func (p *run[T]) batch() {
	defer close(p.batches)
	var cur []prepped[T]
	flush := func() {
		if len(cur) > 0 {
			p.batches <- cur
			cur = nil
		}
	}
	for {
		if len(cur) > 0 && p.pending.Load() == 0 && len(p.prepped) == 0 {
			flush()
		}
		r, ok := <-p.prepped
		if !ok {
			flush()
			return
		}
		if r.err != nil {
			p.done <- Result[T]{Seq: r.seq, Item: r.item, Err: r.err}
			continue
		}
		cur = append(cur, r)
		if len(cur) >= p.opts.BatchSize {
			flush()
		}
	}
}

func (p *run[T]) encode(ctx context.Context) {
	defer close(p.done)
	for b := range p.batches {
		px := make([][]float32, len(b))
		for i, r := range b {
			px[i] = *r.pixels
		}
		var embs [][]float32
		err := ctx.Err()
		if err == nil {
			t0 := time.Now()
			embs, err = p.enc.EncodeImages(ctx, px)
			d := time.Since(t0)
			p.opts.Stats.EncodeNanos.Add(int64(d))
			if p.opts.OnBatch != nil {
				p.opts.OnBatch(len(px), d)
			}
			p.opts.Stats.Batches.Add(1)
			if err != nil && ctx.Err() == nil {
				p.cancel(err) // an encoder failure is fatal for the run
			}
		}
		for i, r := range b {
			res := Result[T]{Seq: r.seq, Item: r.item, Err: err}
			if err == nil {
				res.Embedding = embs[i]
			}
			p.pool.Put(r.pixels)
			p.done <- res
		}
	}
}

// reorder releases results in input order.
func (p *run[T]) reorder() {
	defer close(p.out)
	defer p.cancel(errFinished)
	waiting := map[int]Result[T]{}
	next := 0
	for r := range p.done {
		waiting[r.Seq] = r
		for {
			r, ok := waiting[next]
			if !ok {
				break
			}
			delete(waiting, next)
			next++
			p.opts.Stats.Items.Add(1)
			if r.Err != nil {
				p.opts.Stats.Failed.Add(1)
			}
			p.out <- r
			<-p.tokens
		}
	}
}
