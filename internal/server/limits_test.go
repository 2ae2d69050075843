package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestDecodeBudgetWeights(t *testing.T) {
	b := newDecodeBudget(4, 100)
	tests := []struct {
		cost, want int64
	}{
		{1, 25},    // small images: at most 4 at once
		{25, 25},   //
		{60, 60},   // large ones hold their pixels
		{100, 100}, //
		{500, 100}, // larger than the budget: alone
	}
	for _, tc := range tests {
		if got := b.weight(tc.cost); got != tc.want {
			t.Errorf("weight(%d) = %d, want %d", tc.cost, got, tc.want)
		}
	}
}

// gatedDecoder is an engine whose decodes block until released, counting
// how many run at once and how many pixels they hold.
type gatedDecoder struct {
	fakeEngine
	release    chan struct{}
	ignoreCtx  bool // a decoder that cannot be interrupted
	running    atomic.Int64
	pixels     atomic.Int64
	maxRunning atomic.Int64
	maxPixels  atomic.Int64
	started    chan struct{}
	finished   atomic.Int64
}

func (g *gatedDecoder) Preprocess(ctx context.Context, data []byte) ([]float32, error) {
	cost, _ := g.DecodeCost(data)
	n := g.running.Add(1)
	p := g.pixels.Add(cost)
	defer func() {
		g.running.Add(-1)
		g.pixels.Add(-cost)
		g.finished.Add(1)
	}()
	for old := g.maxRunning.Load(); n > old && !g.maxRunning.CompareAndSwap(old, n); old = g.maxRunning.Load() {
	}
	for old := g.maxPixels.Load(); p > old && !g.maxPixels.CompareAndSwap(old, p); old = g.maxPixels.Load() {
	}
	if g.started != nil {
		g.started <- struct{}{}
	}
	if g.ignoreCtx {
		<-g.release
	} else {
		select {
		case <-g.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return g.fakeEngine.Preprocess(context.Background(), data)
}

// TestDecodeBudgetByPixels: large images decode one at a time, small ones
// side by side up to the worker count.
func TestDecodeBudgetByPixels(t *testing.T) {
	big := pngDataURL(t, 100, 60, color.White)  // 6,000 pixels
	small := pngDataURL(t, 10, 10, color.White) // 100 pixels
	tests := []struct {
		name                  string
		images                []string
		wantRunning           int64
		wantPixelsAtMost      int64
		wantPixelsAtLeastOnce int64
	}{
		{"big images one at a time", []string{big, big, big, big}, 1, 6000, 6000},
		{"small ones side by side", []string{small, small, small, small, small, small}, 3, 300, 300},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := &gatedDecoder{release: make(chan struct{})}
			_, ts := start(t, g, Config{DecodeWorkers: 3, MaxDecodePixels: 10000})
			done := make(chan response, 1)
			go func() {
				done <- post(t, ts.URL+"/v1/embeddings", `{"input": ["`+strings.Join(tc.images, `", "`)+`"]}`)
			}()
			waitFor(t, "decodes to start", func() bool { return g.running.Load() == tc.wantRunning })
			time.Sleep(50 * time.Millisecond) // room for a decode that should not start
			close(g.release)
			if r := <-done; r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if got := g.maxRunning.Load(); got != tc.wantRunning {
				t.Errorf("at most %d decodes ran at once, want %d", got, tc.wantRunning)
			}
			if got := g.maxPixels.Load(); got > tc.wantPixelsAtMost || got < tc.wantPixelsAtLeastOnce {
				t.Errorf("decodes held %d pixels at once, want %d", got, tc.wantPixelsAtMost)
			}
		})
	}
}

// TestDecodeCancelled: a request whose decode outlives it is answered at
// its timeout; the decode keeps its share of the budget until the decoder
// really stops, then other images decode again.
func TestDecodeCancelled(t *testing.T) {
	for _, ignoreCtx := range []bool{false, true} {
		t.Run(fmt.Sprint("decoder ignores ctx: ", ignoreCtx), func(t *testing.T) {
			g := &gatedDecoder{release: make(chan struct{}), ignoreCtx: ignoreCtx}
			_, ts := start(t, g, Config{DecodeWorkers: 1, Timeout: 100 * time.Millisecond})
			startAt := time.Now()
			r := post(t, ts.URL+"/v1/embeddings", `{"input": "`+pngDataURL(t, 4, 4, color.White)+`"}`)
			if r.status != http.StatusServiceUnavailable || time.Since(startAt) > 5*time.Second {
				t.Fatalf("status %d after %v: %s", r.status, time.Since(startAt), r.body)
			}
			checkErrorShape(t, r, "timeout")
			if ignoreCtx {
				// Still decoding: the slot stays taken.
				if g.running.Load() != 1 {
					t.Fatalf("%d decodes running, want the abandoned one", g.running.Load())
				}
				close(g.release)
			}
			waitFor(t, "the decode to stop", func() bool { return g.running.Load() == 0 })
			if !ignoreCtx {
				close(g.release)
			}
			if r := post(t, ts.URL+"/v1/embeddings", `{"input": "`+pngDataURL(t, 4, 4, color.White)+`"}`); r.status != 200 {
				t.Errorf("next request: %d %s", r.status, r.body)
			}
		})
	}
}

// tensorCounter is an engine for GIFs that counts pixel tensors alive:
// decoded and not yet through the encoder.
type tensorCounter struct {
	fakeEngine
	alive, maxAlive atomic.Int64
	mu              sync.Mutex
	batches         []int
}

func (c *tensorCounter) Preprocess(ctx context.Context, data []byte) ([]float32, error) {
	img, err := gif.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	n := c.alive.Add(1)
	for old := c.maxAlive.Load(); n > old && !c.maxAlive.CompareAndSwap(old, n); old = c.maxAlive.Load() {
	}
	b := img.Bounds()
	return []float32{float32(b.Dx()), float32(b.Dy()), 1, 2, 3, 4, 5, 6}, nil
}

func (c *tensorCounter) DecodeCost(data []byte) (int64, error) {
	cfg, err := gif.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return 0, err
	}
	return int64(cfg.Width * cfg.Height), nil
}

func (c *tensorCounter) EncodeImages(ctx context.Context, pixels [][]float32) ([][]float32, error) {
	c.mu.Lock()
	c.batches = append(c.batches, len(pixels))
	c.mu.Unlock()
	out, err := c.fakeEngine.EncodeImages(ctx, pixels)
	c.alive.Add(-int64(len(pixels)))
	return out, err
}

// tinyGIFs is a classify body of n 1×1 GIFs (the probe's 150 KB body).
func tinyGIFs(t testing.TB, n int) string {
	var buf bytes.Buffer
	img := image.NewPaletted(image.Rect(0, 0, 1, 1), color.Palette{color.Black, color.White})
	if err := gif.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	u := `"data:image/gif;base64,` + base64.StdEncoding.EncodeToString(buf.Bytes()) + `"`
	return `{"images": [` + strings.Repeat(u+",", n-1) + u + `], "labels": ["a", "b"]}`
}

// TestLargeImageRequestsInChunks: 2,048 images in one request are decoded
// and encoded MaxBatch at a time, never all held at once.
func TestLargeImageRequestsInChunks(t *testing.T) {
	const n, batch = 2048, 32
	eng := &tensorCounter{}
	_, ts := start(t, eng, Config{MaxImages: n, MaxBatch: batch})
	body := tinyGIFs(t, n)
	t.Logf("body: %d KB", len(body)>>10)
	r := post(t, ts.URL+"/v1/classify", body)
	if r.status != 200 {
		t.Fatalf("status %d: %.300s", r.status, r.body)
	}
	if got := len(r.json(t)["data"].([]any)); got != n {
		t.Fatalf("%d results, want %d", got, n)
	}
	if m := eng.maxAlive.Load(); m > 2*batch {
		t.Errorf("%d pixel tensors alive at once, want at most two chunks (%d)", m, 2*batch)
	}
	eng.mu.Lock()
	defer eng.mu.Unlock()
	for _, b := range eng.batches {
		if b > batch {
			t.Fatalf("an encoder run of %d images, over MaxBatch %d", b, batch)
		}
	}
	if len(eng.batches) < n/batch {
		t.Errorf("%d encoder runs for %d images", len(eng.batches), n)
	}
}

func TestRequestCaps(t *testing.T) {
	img := pngDataURL(t, 2, 2, color.White)
	tests := []struct {
		name, path, body string
		wantCode         string
		wantParam        string
	}{
		{"too many images", "/v1/embeddings", `{"input": ["a", "` + img + `", "` + img + `", "` + img + `"]}`, "invalid_input", "input"},
		{"too many classify images", "/v1/classify", `{"images": ["` + img + `", "` + img + `", "` + img + `"], "labels": ["a"]}`, "invalid_value", "images"},
		{"text too long", "/v1/embeddings", `{"input": ["a", "` + strings.Repeat("x", 101) + `"]}`, "text_too_long", "input[1]"},
		{"label too long", "/v1/classify", `{"image": "` + img + `", "labels": ["a", "` + strings.Repeat("x", 101) + `"]}`, "text_too_long", "labels[1]"},
		{"template too long", "/v1/classify", `{"image": "` + img + `", "labels": ["a"], "template": "{}` + strings.Repeat("x", 100) + `"}`, "text_too_long", "template"},
	}
	_, ts := start(t, &fakeEngine{}, Config{MaxImages: 2, MaxTextBytes: 100})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := post(t, ts.URL+tc.path, tc.body)
			if r.status != 400 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			checkErrorShape(t, r, tc.wantCode)
			if p, _ := r.json(t)["error"].(map[string]any)["param"].(string); p != tc.wantParam {
				t.Errorf("param %q, want %q", p, tc.wantParam)
			}
		})
	}
	// At the limits, fine.
	if r := post(t, ts.URL+"/v1/embeddings", `{"input": ["`+strings.Repeat("x", 100)+`", "`+img+`", "`+img+`"]}`); r.status != 200 {
		t.Errorf("at the limits: %d %s", r.status, r.body)
	}
}

// TestVisionQueueBoundedByImages: waiting images, not only requests, are
// capped, so queued pixel tensors stay bounded.
func TestVisionQueueBoundedByImages(t *testing.T) {
	eng := &fakeEngine{imageGate: make(chan struct{}), entered: make(chan string, 8)}
	s, ts := start(t, eng, Config{Queue: 4, MaxBatch: 2})
	img := pngDataURL(t, 2, 2, color.White)
	two := `{"input": ["` + img + `", "` + img + `"]}`
	var wg sync.WaitGroup
	statuses := make(chan int, 8)
	send := func() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses <- post(t, ts.URL+"/v1/embeddings", two).status
		}()
	}
	send()
	<-eng.entered // the first batch holds the encoder
	send()
	send()
	waitFor(t, "4 images queued", func() bool { return s.vision.items.Load() == 4 })
	if r := post(t, ts.URL+"/v1/embeddings", two); r.status != http.StatusTooManyRequests {
		t.Errorf("fifth and sixth image: status %d, want 429 (%s)", r.status, r.body)
	}
	close(eng.imageGate)
	wg.Wait()
	close(statuses)
	for st := range statuses {
		if st != 200 {
			t.Errorf("queued request: %d", st)
		}
	}
}
