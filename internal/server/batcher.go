package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

var (
	errQueueFull    = errors.New("queue full")
	errShuttingDown = errors.New("server is shutting down")
)

// job is one request's share of work for one tower.
type job[In, Out any] struct {
	ctx   context.Context // the request's: a finished request's job is skipped
	items []In
	enq   time.Time
	done  chan jobResult[Out] // buffered: the batcher never blocks on a gone caller
}

type jobResult[Out any] struct {
	out []Out
	err error
}

// wait blocks until the job's batch ran or the caller gave up.
func (j *job[In, Out]) wait() ([]Out, error) {
	select {
	case r := <-j.done:
		return r.out, r.err
	case <-j.ctx.Done():
		return nil, j.ctx.Err()
	}
}

// batcher gathers concurrent jobs into one run of the model. One goroutine
// runs batches one after another: ONNX Runtime already spreads one run over
// every core, so overlapping runs of the same tower would only contend.
//
// With maxWait 0 (the server's default) a job that finds the batcher idle
// runs at once, alone; jobs that arrive while a batch runs queue up and
// leave together, up to maxBatch items, as soon as it ends. So batches grow
// with the load and a lone request never waits for company. With maxWait
// > 0 a batch also waits until it holds maxBatch items or its oldest job
// has waited maxWait. Timing from the job's arrival, not from when the
// batcher got to it, means jobs that queued up during the previous run leave
// at once instead of paying maxWait again.
type batcher[In, Out any] struct {
	run      func(ctx context.Context, items []In) ([]Out, error)
	maxBatch int
	maxWait  time.Duration
	observe  func(items int, took time.Duration) // metrics hook, may be nil

	queue    chan *job[In, Out]
	maxItems int64        // most items waiting in queue (0: no limit)
	items    atomic.Int64 // items waiting in queue

	mu     sync.RWMutex // guards closed against enqueues racing stop
	closed bool

	runCtx context.Context // cancelled only by a hard stop
	abort  context.CancelFunc
	quit   chan struct{}
	exited chan struct{}
}

// newBatcher starts a batcher whose queue holds at most queue jobs and, when
// maxItems > 0, at most maxItems items (a job alone may exceed it).
func newBatcher[In, Out any](maxBatch, queue, maxItems int, maxWait time.Duration,
	run func(context.Context, []In) ([]Out, error), observe func(int, time.Duration)) *batcher[In, Out] {
	ctx, cancel := context.WithCancel(context.Background())
	b := &batcher[In, Out]{
		run: run, maxBatch: max(1, maxBatch), maxWait: maxWait, observe: observe,
		queue: make(chan *job[In, Out], max(1, queue)), maxItems: int64(max(0, maxItems)),
		runCtx: ctx, abort: cancel,
		quit: make(chan struct{}), exited: make(chan struct{}),
	}
	go b.loop()
	return b
}

// depth is the number of jobs waiting for a batch.
func (b *batcher[In, Out]) depth() int { return len(b.queue) }

// enqueue queues items without blocking: a full queue is refused at once so
// the client can back off (429) instead of piling up behind a slow model.
func (b *batcher[In, Out]) enqueue(ctx context.Context, items []In) (*job[In, Out], error) {
	j := &job[In, Out]{ctx: ctx, items: items, enq: time.Now(), done: make(chan jobResult[Out], 1)}
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return nil, errShuttingDown
	}
	n := int64(len(items))
	if waiting := b.items.Add(n); b.maxItems > 0 && waiting > b.maxItems && waiting > n {
		b.items.Add(-n)
		return nil, errQueueFull
	}
	select {
	case b.queue <- j:
		return j, nil
	default:
		b.items.Add(-n)
		return nil, errQueueFull
	}
}

// take is the next queued job, counted out of the waiting items.
func (b *batcher[In, Out]) take(j *job[In, Out]) *job[In, Out] {
	b.items.Add(-int64(len(j.items)))
	return j
}

// stop refuses new jobs, lets the running batch finish, fails whatever is
// still queued and waits for the loop to end.
func (b *batcher[In, Out]) stop() {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.quit)
	}
	b.mu.Unlock()
	<-b.exited
	b.abort()
}

func (b *batcher[In, Out]) loop() {
	defer close(b.exited)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var carry *job[In, Out] // the job that did not fit in the previous batch
	for {
		first := carry
		carry = nil
		if first == nil {
			select {
			case first = <-b.queue:
				b.take(first)
			case <-b.quit:
				b.failQueued()
				return
			}
		}
		batch := []*job[In, Out]{first}
		n := len(first.items)
		deadline := first.enq.Add(b.maxWait)
	gather:
		for n < b.maxBatch {
			var j *job[In, Out]
			if wait := time.Until(deadline); wait <= 0 {
				// Past the deadline: take only what is already queued.
				select {
				case j = <-b.queue:
					b.take(j)
				default:
					break gather
				}
			} else {
				timer.Reset(wait)
				select {
				case j = <-b.queue:
					b.take(j)
					timer.Stop()
				case <-timer.C:
					break gather
				case <-b.quit:
					timer.Stop()
					break gather
				}
			}
			if n+len(j.items) > b.maxBatch {
				carry = j
				break
			}
			batch = append(batch, j)
			n += len(j.items)
		}
		b.runBatch(batch)
	}
}

// failQueued answers the jobs left behind by stop.
func (b *batcher[In, Out]) failQueued() {
	for {
		select {
		case j := <-b.queue:
			b.take(j).done <- jobResult[Out]{err: errShuttingDown}
		default:
			return
		}
	}
}

func (b *batcher[In, Out]) runBatch(batch []*job[In, Out]) {
	// Callers that already gave up (timeout, disconnect) cost nothing.
	live := batch[:0]
	var items []In
	for _, j := range batch {
		if j.ctx.Err() == nil {
			live = append(live, j)
			items = append(items, j.items...)
		}
	}
	if len(live) == 0 {
		return
	}
	start := time.Now()
	out, err := b.safeRun(items)
	if b.observe != nil {
		b.observe(len(items), time.Since(start))
	}
	if err == nil && len(out) != len(items) {
		err = fmt.Errorf("encoder returned %d embeddings for %d inputs", len(out), len(items))
	}
	off := 0
	for _, j := range live {
		if err != nil {
			j.done <- jobResult[Out]{err: err}
			continue
		}
		j.done <- jobResult[Out]{out: out[off : off+len(j.items) : off+len(j.items)]}
		off += len(j.items)
	}
}

// safeRun keeps one bad batch from taking the whole server down.
func (b *batcher[In, Out]) safeRun(items []In) (out []Out, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("encoder panicked: %v", r)
		}
	}()
	return b.run(b.runCtx, items)
}
