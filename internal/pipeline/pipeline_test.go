package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// sumEncoder returns, for each tensor, a one-value embedding: its first value.
// It records batch sizes and can be made to fail.
type sumEncoder struct {
	maxBatch atomic.Int64
	fail     bool
	delay    time.Duration
}

func (e *sumEncoder) EncodeImages(ctx context.Context, px [][]float32) ([][]float32, error) {
	if e.fail {
		return nil, errors.New("engine broke")
	}
	if int64(len(px)) > e.maxBatch.Load() {
		e.maxBatch.Store(int64(len(px)))
	}
	time.Sleep(e.delay)
	out := make([][]float32, len(px))
	for i, p := range px {
		out[i] = []float32{p[0]}
	}
	return out, nil
}

// preprocess "decodes" a path named "<n>" or "bad<n>", sleeping randomly so
// workers finish out of order.
func preprocess(_ context.Context, path string, dst []float32) ([]float32, error) {
	time.Sleep(time.Duration(rand.IntN(300)) * time.Microsecond)
	if strings.HasPrefix(path, "bad") {
		return nil, fmt.Errorf("corrupt")
	}
	n, _ := strconv.Atoi(path)
	return append(dst[:0], float32(n)), nil
}

func feed(paths []string) <-chan string {
	ch := make(chan string)
	go func() {
		for _, p := range paths {
			ch <- p
		}
		close(ch)
	}()
	return ch
}

func TestOrderAndFailures(t *testing.T) {
	cases := []struct {
		name             string
		n, badEvery      int
		workers, batch   int
		maxInFlight      int
		wantMaxBatchOver int64
	}{
		{"one worker", 50, 0, 1, 8, 0, 0},
		{"many workers", 500, 0, 8, 8, 0, 1},
		{"5% corrupt", 400, 20, 4, 8, 0, 1},
		{"mostly corrupt, tight bound", 300, 2, 3, 8, 9, 0},
		{"all corrupt", 40, 1, 2, 4, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var paths []string
			for i := 0; i < c.n; i++ {
				if c.badEvery > 0 && i%c.badEvery == 0 {
					paths = append(paths, "bad"+strconv.Itoa(i))
				} else {
					paths = append(paths, strconv.Itoa(i))
				}
			}
			enc := &sumEncoder{}
			stats := &Stats{}
			results, wait := Run(context.Background(), feed(paths), preprocess, enc,
				Options{Workers: c.workers, BatchSize: c.batch, MaxInFlight: c.maxInFlight, Stats: stats})
			i := 0
			for r := range results {
				if r.Seq != i || r.Item != paths[i] {
					t.Fatalf("result %d is seq %d (%s): out of order", i, r.Seq, r.Item)
				}
				if strings.HasPrefix(paths[i], "bad") {
					if r.Err == nil {
						t.Fatalf("%s: corrupt input not reported", paths[i])
					}
				} else if r.Err != nil || r.Embedding[0] != float32(i) {
					t.Fatalf("%s: got %v %v", paths[i], r.Embedding, r.Err)
				}
				i++
			}
			if err := wait(); err != nil {
				t.Fatal(err)
			}
			if i != c.n {
				t.Fatalf("got %d results, want %d", i, c.n)
			}
			if enc.maxBatch.Load() > int64(c.batch) {
				t.Fatalf("batch of %d exceeds --batch-size %d", enc.maxBatch.Load(), c.batch)
			}
			if enc.maxBatch.Load() < c.wantMaxBatchOver+1 && c.wantMaxBatchOver > 0 {
				t.Fatalf("never batched more than %d", enc.maxBatch.Load())
			}
			if stats.Items.Load() != int64(c.n) {
				t.Fatalf("stats counted %d items", stats.Items.Load())
			}
		})
	}
}

func TestEncoderFailureIsFatal(t *testing.T) {
	results, wait := Run(context.Background(), feed([]string{"1", "2", "3"}), preprocess, &sumEncoder{fail: true}, Options{Workers: 2})
	for range results {
	}
	if err := wait(); err == nil || !strings.Contains(err.Error(), "engine broke") {
		t.Fatalf("wait() = %v, want the encoder's error", err)
	}
}

func TestCancelStopsEarly(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	endless := make(chan string)
	go func() {
		defer close(endless)
		for i := 0; ; i++ {
			select {
			case endless <- strconv.Itoa(i):
			case <-ctx.Done():
				return
			}
		}
	}()
	results, wait := Run(ctx, endless, preprocess, &sumEncoder{delay: time.Millisecond}, Options{Workers: 2, BatchSize: 4})
	got := 0
	for r := range results {
		if r.Err == nil {
			got++
		}
		if got == 10 {
			cancel()
		}
	}
	if err := wait(); !errors.Is(err, context.Canceled) {
		t.Fatalf("wait() = %v, want context.Canceled", err)
	}
}

func TestTricklingInputStreams(t *testing.T) {
	// Inputs arriving slowly must not sit waiting for a full batch.
	ch := make(chan string)
	results, wait := Run(context.Background(), ch, preprocess, &sumEncoder{}, Options{Workers: 2, BatchSize: 64})
	for i := 0; i < 3; i++ {
		ch <- strconv.Itoa(i)
		select {
		case r := <-results:
			if r.Seq != i {
				t.Fatalf("got seq %d, want %d", r.Seq, i)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("item %d never came out while the input stayed open", i)
		}
	}
	close(ch)
	for range results {
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
}
