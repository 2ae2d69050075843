package fashionclip

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/fashionclip/fashionclip/internal/ort"
	"github.com/fashionclip/fashionclip/internal/synth"
)

// A cancelled context stops ONNX Runtime inside a run: the batch is
// abandoned part-way instead of the caller waiting for it to finish.
func TestCancelStopsImageRunMidBatch(t *testing.T) {
	dir := t.TempDir()
	if err := synth.Write(dir, "combined", synth.Tiny()); err != nil {
		t.Fatal(err)
	}
	m, err := testRuntime(t).Load(context.Background(), dir, Options{CacheDir: t.TempDir(), BatchSize: 96, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	px := make([][]float32, 96)
	for i := range px {
		px[i] = make([]float32, m.Preprocessor().PixelCount())
	}
	// Time ONNX Runtime alone on the batch, so the cancel can land inside it.
	sess, err := m.visionSession()
	if err != nil {
		t.Fatal(err)
	}
	in := map[string]ort.Tensor{"pixel_values": {Shape: []int64{96, 3, 224, 224}, Float32: make([]float32, 96*3*224*224)}}
	t0 := time.Now()
	if _, err := sess.Run(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	full := time.Since(t0)
	ctx := &cancelWhenRunStarts{Context: context.Background(), after: full / 5, done: make(chan struct{})}
	_, err = m.EncodeImages(ctx, px)
	var te *ort.TerminatedError
	if !errors.As(err, &te) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v; want the run terminated by the cancelled context (one batch takes %v)", err, full)
	}
}

// cancelWhenRunStarts is a context that is cancelled a while after a run
// first asks for its Done channel (which a session does as it starts).
type cancelWhenRunStarts struct {
	context.Context
	after time.Duration
	once  sync.Once
	done  chan struct{}
	mu    sync.Mutex
	err   error
}

func (c *cancelWhenRunStarts) Done() <-chan struct{} {
	c.once.Do(func() {
		time.AfterFunc(c.after, func() {
			c.mu.Lock()
			c.err = context.Canceled
			c.mu.Unlock()
			close(c.done)
		})
	})
	return c.done
}

func (c *cancelWhenRunStarts) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// A stream ends with the context's error, after the items already done.
func TestStreamEndsWithContextError(t *testing.T) {
	dir := t.TempDir()
	if err := synth.Write(dir, "combined", synth.Tiny()); err != nil {
		t.Fatal(err)
	}
	m, err := testRuntime(t).Load(context.Background(), dir, Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	endless := func(yield func(int) bool) {
		for i := 0; yield(i); i++ {
		}
	}
	blank := func(_ context.Context, m *Model, _ int, dst []float32) ([]float32, error) {
		return append(dst[:0], make([]float32, m.Preprocessor().PixelCount())...), nil
	}
	got := 0
	var final error
	for r, err := range Encode(ctx, m, endless, blank, StreamOptions{Workers: 2, BatchSize: 4}) {
		if err != nil {
			final = err
			break
		}
		if r.Err != nil || r.Item != got {
			t.Fatalf("item %d: %+v", got, r)
		}
		got++
		if got == 20 {
			cancel()
		}
	}
	if !errors.Is(final, context.Canceled) || got < 20 {
		t.Fatalf("stream ended with %v after %d items", final, got)
	}
}
