package modelengine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/fashionclip/fashionclip/internal/server"
)

// loadRequest is one request body with the embeddings it must return.
type loadRequest struct {
	body []byte
	want [][]float32
}

// loadRequests builds a mix of text, multi-text, image and mixed requests
// with the library's expected answers.
func loadRequests(t testing.TB, eng *Engine) []loadRequest {
	t.Helper()
	ctx := context.Background()
	m := eng.Model()
	texts := []string{"red dress", "black boots", "denim jacket", "striped shirt", "leather bag", "white sneakers"}
	tv, err := m.EncodeTexts(ctx, texts)
	if err != nil {
		t.Fatal(err)
	}
	imgs := testImages(t)
	if len(imgs) > 4 {
		imgs = imgs[:4]
	}
	iv := make([][]float32, len(imgs))
	for i, im := range imgs {
		px, err := m.Preprocessor().Bytes(im.data)
		if err != nil {
			t.Fatal(err)
		}
		v, err := m.EncodeImages(ctx, [][]float32{px})
		if err != nil {
			t.Fatal(err)
		}
		iv[i] = v[0]
	}
	mk := func(input any, want ...[]float32) loadRequest {
		b, _ := json.Marshal(map[string]any{"model": "fashion-clip", "input": input, "encoding_format": "base64"})
		return loadRequest{body: b, want: want}
	}
	var out []loadRequest
	for i, s := range texts {
		out = append(out, mk(s, tv[i]))
	}
	out = append(out, mk(texts[:3], tv[:3]...))
	for i, im := range imgs {
		out = append(out, mk(im.dataURL(), iv[i]))
	}
	out = append(out, mk([]string{texts[4], imgs[0].dataURL()}, tv[4], iv[0]))
	return out
}

type loadStats struct {
	mu       sync.Mutex
	statuses map[int]int
	failures []string
}

func (s *loadStats) add(status int, failure string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.statuses[status]++
	if failure != "" && len(s.failures) < 10 {
		s.failures = append(s.failures, failure)
	}
}

// TestLoad sends 1,000 requests from 64 concurrent clients over loopback:
// every one must be answered, correctly, without a 5xx, and requests must
// share encoder runs. It stops by itself within its time budget.
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test skipped in -short mode")
	}
	const total, clients = 1000, 64
	eng := tinyEngine(t)
	reqs := loadRequests(t, eng)
	url, _ := serve(t, eng, server.Config{MaxBatch: 32, MaxWait: 5 * time.Millisecond, Queue: 256, Timeout: time.Minute})

	stats := &loadStats{statuses: map[int]int{}}
	start := time.Now()
	runClients(t, clients, total, 3*time.Minute, func(ctx context.Context, i int) {
		stats.add(sendLoad(ctx, url, reqs[i%len(reqs)]))
	})
	took := time.Since(start)
	answered := 0
	for st, n := range stats.statuses {
		answered += n
		if st != http.StatusOK {
			t.Errorf("%d requests answered %d", n, st)
		}
	}
	if answered != total || stats.statuses[http.StatusOK] != total {
		t.Errorf("%d of %d requests answered, %d with 200", answered, total, stats.statuses[http.StatusOK])
	}
	for _, f := range stats.failures {
		t.Error(f)
	}
	t.Logf("%d requests from %d clients in %v: %.0f requests/s", total, clients, took.Round(time.Millisecond), float64(total)/took.Seconds())

	// The server counted the same, and gathered requests into batches.
	metrics := get(t, url+"/metrics")
	if n := metricValue(t, metrics, `fashionclip_http_requests_total{route="/v1/embeddings",status="200"}`); n != total {
		t.Errorf("server counted %v answered requests, want %d", n, total)
	}
	// Images reach their batcher only as fast as the request goroutines
	// decode them (a few cores), so they gather less than texts do.
	for _, c := range []struct {
		tower    string
		minBatch float64
	}{{"text", 1.5}, {"image", 1.05}} {
		batches := metricValue(t, metrics, fmt.Sprintf(`fashionclip_batch_size_count{tower=%q}`, c.tower))
		items := metricValue(t, metrics, fmt.Sprintf(`fashionclip_batch_size_sum{tower=%q}`, c.tower))
		t.Logf("%s tower: %v inputs in %v batches (%.1f per batch)", c.tower, items, batches, items/batches)
		if batches == 0 || items/batches < c.minBatch {
			t.Errorf("%s tower: %v inputs in %v batches: concurrent requests were not batched", c.tower, items, batches)
		}
	}
}

// sendLoad posts one request and checks its answer; it returns the status
// (0 for a transport error) and a failure description, if any.
func sendLoad(ctx context.Context, url string, r loadRequest) (int, string) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/embeddings", bytes.NewReader(r.body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err.Error()
	}
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, string(body)
	}
	var got struct {
		Data []struct {
			Embedding string `json:"embedding"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &got); err != nil || len(got.Data) != len(r.want) {
		return resp.StatusCode, fmt.Sprintf("bad answer: %v %.200s", err, body)
	}
	for i, d := range got.Data {
		v, err := decodeFloat32Base64(d.Embedding)
		if err != nil {
			return resp.StatusCode, err.Error()
		}
		// Batch composition changes ONNX Runtime's kernels' summation
		// order, hence a tolerance a little above float32 rounding.
		if diff := maxDiff(v, r.want[i]); diff > 1e-5 {
			return resp.StatusCode, fmt.Sprintf("embedding differs from the library's by %g", diff)
		}
	}
	return resp.StatusCode, ""
}

func get(t testing.TB, url string) string {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// metricValue reads one sample from a Prometheus text exposition.
func metricValue(t testing.TB, text, series string) float64 {
	t.Helper()
	re := regexp.MustCompile("(?m)^" + regexp.QuoteMeta(series) + ` (\S+)$`)
	m := re.FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("metric %s not found", series)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
