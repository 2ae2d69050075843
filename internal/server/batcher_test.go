package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// gatedRun records batches; the first batch blocks until release is closed,
// so tests can line jobs up behind it.
type gatedRun struct {
	mu      sync.Mutex
	batches [][]int
	started chan struct{}
	release chan struct{}
	once    sync.Once
	err     error
	short   bool // answer one embedding too few
}

func newGatedRun() *gatedRun {
	return &gatedRun{started: make(chan struct{}), release: make(chan struct{})}
}

func (g *gatedRun) run(ctx context.Context, items []int) ([]int, error) {
	g.mu.Lock()
	g.batches = append(g.batches, append([]int(nil), items...))
	g.mu.Unlock()
	first := false
	g.once.Do(func() { first = true })
	if first {
		close(g.started)
		<-g.release
	}
	if g.err != nil {
		return nil, g.err
	}
	out := make([]int, len(items))
	for i, v := range items {
		out[i] = v * 10
	}
	if g.short {
		out = out[1:]
	}
	return out, nil
}

func (g *gatedRun) seen() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return fmt.Sprint(g.batches)
}

func seq(from, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = from + i
	}
	return out
}

func TestBatcherComposition(t *testing.T) {
	tests := []struct {
		name     string
		maxBatch int
		maxWait  time.Duration
		queued   [][]int // jobs queued while the first batch ([0]) runs
		cancel   []bool  // whose caller gives up before its batch
		want     string
	}{
		{"gathered", 8, 20 * time.Millisecond, [][]int{{1}, {2}, {3}}, nil, "[[0] [1 2 3]]"},
		{"gathered without waiting", 8, 0, [][]int{{1}, {2}, {3}}, nil, "[[0] [1 2 3]]"},
		{"cut at maxBatch", 2, 20 * time.Millisecond, [][]int{{1}, {2}, {3}}, nil, "[[0] [1 2] [3]]"},
		{"cut at maxBatch without waiting", 2, 0, [][]int{{1}, {2}, {3}}, nil, "[[0] [1 2] [3]]"},
		{"job that does not fit waits for the next batch", 4, 20 * time.Millisecond, [][]int{seq(1, 3), seq(4, 2), {6}}, nil, "[[0] [1 2 3] [4 5 6]]"},
		{"oversized job runs alone", 2, 20 * time.Millisecond, [][]int{{1}, seq(2, 5), {7}}, nil, "[[0] [1] [2 3 4 5 6] [7]]"},
		{"abandoned job is skipped", 8, 20 * time.Millisecond, [][]int{{1}, {2}, {3}}, []bool{false, true, false}, "[[0] [1 3]]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newGatedRun()
			b := newBatcher(tc.maxBatch, 16, 0, tc.maxWait, g.run, nil)
			defer b.stop()
			first, err := b.enqueue(context.Background(), []int{0})
			if err != nil {
				t.Fatal(err)
			}
			<-g.started
			jobs := make([]*job[int, int], len(tc.queued))
			for i, items := range tc.queued {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				if jobs[i], err = b.enqueue(ctx, items); err != nil {
					t.Fatal(err)
				}
				if i < len(tc.cancel) && tc.cancel[i] {
					cancel()
				}
			}
			close(g.release)
			if out, err := first.wait(); err != nil || fmt.Sprint(out) != "[0]" {
				t.Fatalf("first job: %v %v", out, err)
			}
			for i, j := range jobs {
				if i < len(tc.cancel) && tc.cancel[i] {
					continue
				}
				out, err := j.wait()
				if err != nil {
					t.Fatalf("job %d: %v", i, err)
				}
				for k, v := range out {
					if v != tc.queued[i][k]*10 {
						t.Fatalf("job %d got %v: not its own results", i, out)
					}
				}
			}
			if got := g.seen(); got != tc.want {
				t.Errorf("batches = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestBatcherMaxWait(t *testing.T) {
	tests := []struct {
		name    string
		maxWait time.Duration
	}{
		{"no wait", 0},
		{"short wait", 30 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			run := func(_ context.Context, items []int) ([]int, error) { return items, nil }
			b := newBatcher(64, 16, 0, tc.maxWait, run, nil)
			defer b.stop()
			start := time.Now()
			j, err := b.enqueue(context.Background(), []int{1})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := j.wait(); err != nil {
				t.Fatal(err)
			}
			took := time.Since(start)
			if took < tc.maxWait || took > tc.maxWait+time.Second {
				t.Errorf("a lone job waited %v, want about %v", took, tc.maxWait)
			}
		})
	}
}

// TestBatcherIdleRunsAtOnce: with no wait configured (the server's
// default), a job that finds the batcher idle is dispatched by itself,
// without waiting for company that will never come.
func TestBatcherIdleRunsAtOnce(t *testing.T) {
	var cfg Config
	cfg.defaults()
	if cfg.MaxWait != 0 {
		t.Fatalf("default MaxWait = %v, want 0 (no wait)", cfg.MaxWait)
	}
	g := newGatedRun()
	b := newBatcher(cfg.MaxBatch, 16, 0, cfg.MaxWait, g.run, nil)
	defer b.stop()
	j, err := b.enqueue(context.Background(), []int{7})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-g.started:
	case <-time.After(10 * time.Second):
		t.Fatal("a lone job on an idle batcher was not dispatched")
	}
	close(g.release)
	if out, err := j.wait(); err != nil || fmt.Sprint(out) != "[70]" {
		t.Fatalf("job: %v %v", out, err)
	}
	if got := g.seen(); got != "[[7]]" {
		t.Errorf("batches = %s, want [[7]]", got)
	}
}

// TestBatcherBatchesUnderLoad: without any wait, concurrent jobs still share
// runs (those arriving during a run leave together), each gets its own
// results, and no run exceeds maxBatch. Run with -race.
func TestBatcherBatchesUnderLoad(t *testing.T) {
	const clients, perClient, maxBatch = 32, 20, 16
	var mu sync.Mutex
	var sizes []int
	run := func(_ context.Context, items []int) ([]int, error) {
		mu.Lock()
		sizes = append(sizes, len(items))
		mu.Unlock()
		time.Sleep(time.Millisecond) // an encoder run takes a while
		out := make([]int, len(items))
		for i, v := range items {
			out[i] = -v
		}
		return out, nil
	}
	b := newBatcher(maxBatch, clients, 0, 0, run, nil)
	defer b.stop()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range perClient {
				v := c*1000 + k
				j, err := b.enqueue(context.Background(), []int{v})
				if err != nil {
					t.Error(err)
					return
				}
				out, err := j.wait()
				if err != nil || len(out) != 1 || out[0] != -v {
					t.Errorf("job %d got %v %v", v, out, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	total := 0
	for _, n := range sizes {
		total += n
		if n > maxBatch {
			t.Errorf("a run of %d items, over maxBatch %d", n, maxBatch)
		}
	}
	if total != clients*perClient {
		t.Errorf("%d items ran, want %d", total, clients*perClient)
	}
	mean := float64(total) / float64(len(sizes))
	t.Logf("%d jobs in %d runs (%.1f per run)", total, len(sizes), mean)
	if mean < 4 {
		t.Errorf("%.1f jobs per run under a load of %d concurrent clients: not batching", mean, clients)
	}
}

func TestBatcherErrors(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name  string
		err   error
		short bool
	}{
		{"run error reaches every job", boom, false},
		{"short answer is an error", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newGatedRun()
			g.err, g.short = tc.err, tc.short
			b := newBatcher(8, 16, 0, 20*time.Millisecond, g.run, nil)
			defer b.stop()
			first, _ := b.enqueue(context.Background(), []int{0})
			<-g.started
			j1, _ := b.enqueue(context.Background(), []int{1})
			j2, _ := b.enqueue(context.Background(), []int{2})
			close(g.release)
			for i, j := range []*job[int, int]{first, j1, j2} {
				if _, err := j.wait(); err == nil || (tc.err != nil && !errors.Is(err, tc.err)) {
					t.Errorf("job %d: err = %v", i, err)
				}
			}
		})
	}
}

func TestBatcherQueueAndStop(t *testing.T) {
	g := newGatedRun()
	var observed []int
	var mu sync.Mutex
	b := newBatcher(8, 2, 0, 20*time.Millisecond, g.run, func(n int, _ time.Duration) {
		mu.Lock()
		observed = append(observed, n)
		mu.Unlock()
	})
	first, _ := b.enqueue(context.Background(), []int{0})
	<-g.started
	queued := make([]*job[int, int], 2)
	for i := range queued {
		var err error
		if queued[i], err = b.enqueue(context.Background(), []int{i + 1}); err != nil {
			t.Fatalf("job %d: %v", i, err)
		}
	}
	if b.depth() != 2 {
		t.Errorf("depth = %d, want 2", b.depth())
	}
	if _, err := b.enqueue(context.Background(), []int{9}); !errors.Is(err, errQueueFull) {
		t.Fatalf("enqueue on a full queue: %v, want errQueueFull", err)
	}
	stopped := make(chan struct{})
	go func() { b.stop(); close(stopped) }()
	waitFor(t, "stop to close the batcher", func() bool {
		b.mu.RLock()
		defer b.mu.RUnlock()
		return b.closed
	})
	if _, err := b.enqueue(context.Background(), []int{9}); !errors.Is(err, errShuttingDown) {
		t.Fatalf("enqueue after stop: %v, want errShuttingDown", err)
	}
	close(g.release)
	<-stopped
	if _, err := first.wait(); err != nil {
		t.Errorf("the running batch must finish: %v", err)
	}
	// Queued jobs are either still served or told the server is going away;
	// none is left hanging.
	for i, j := range queued {
		if _, err := j.wait(); err != nil && !errors.Is(err, errShuttingDown) {
			t.Errorf("queued job %d: %v", i, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(observed) == 0 || observed[0] != 1 {
		t.Errorf("observed batch sizes %v, want the first to be 1", observed)
	}
}

func TestTruncateNormalize(t *testing.T) {
	tests := []struct {
		in   []float32
		n    int
		want []float32
	}{
		{[]float32{3, 4, 12}, 2, []float32{0.6, 0.8}},
		{[]float32{0, 0, 1}, 2, []float32{0, 0}},
		{[]float32{-2, 5}, 1, []float32{-1}},
	}
	for _, tc := range tests {
		got := truncateNormalize(tc.in, tc.n)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("truncateNormalize(%v, %d) = %v, want %v", tc.in, tc.n, got, tc.want)
		}
	}
}

func TestFloat32Base64(t *testing.T) {
	tests := []struct {
		in   []float32
		want string
	}{
		{[]float32{1}, "AACAPw=="},           // 0x3f800000 little-endian
		{[]float32{-2, 0.5}, "AAAAwAAAAD8="}, // 0xc0000000, 0x3f000000
		{nil, ""},
	}
	for _, tc := range tests {
		if got := float32Base64(tc.in); got != tc.want {
			t.Errorf("float32Base64(%v) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestJSONString(t *testing.T) {
	tests := []struct {
		raw     string
		want    string
		wantErr bool
	}{
		{`"plain"`, "plain", false},
		{`""`, "", false},
		{`"data:image/png;base64,iVBORw0KGgo="`, "data:image/png;base64,iVBORw0KGgo=", false},
		{`"a\"b"`, `a"b`, false},
		{`"tab\there"`, "tab\there", false},
		{`"\u00e9t\u00e9"`, "été", false},
		{`"été"`, "été", false},
		{`"a\/b"`, "a/b", false},
		{`"bad \x"`, "", true},
		{`42`, "", true},
	}
	for _, tc := range tests {
		got, err := jsonString([]byte(tc.raw))
		if (err != nil) != tc.wantErr || (!tc.wantErr && got != tc.want) {
			t.Errorf("jsonString(%s) = %q, %v; want %q (error: %v)", tc.raw, got, err, tc.want, tc.wantErr)
		}
	}
}
