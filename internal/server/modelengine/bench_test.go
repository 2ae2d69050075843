package modelengine

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fashionclip/fashionclip/internal/server"
)

// EnvBenchModel names a model folder for the serve benchmarks (e.g. the
// synthetic ViT-B/32 from `fashionclip synth`); unset, the tiny model is used.
const EnvBenchModel = "FASHIONCLIP_BENCH_MODEL"

var (
	benchOnce sync.Once
	benchEng  *Engine
	benchErr  error
)

func benchEngine(b *testing.B) *Engine {
	b.Helper()
	dir := os.Getenv(EnvBenchModel)
	if dir == "" {
		return tinyEngine(b)
	}
	benchOnce.Do(func() { benchEng, benchErr = loadEngine(b, dir) })
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchEng
}

// benchClients is how many requests are in flight at once.
const benchClients = 32

// benchServe sends b.N one-image requests from benchClients concurrent
// clients over loopback and reports images per second.
func benchServe(b *testing.B, maxBatch int, maxWait time.Duration) {
	eng := benchEngine(b)
	url, _ := serve(b, eng, server.Config{MaxBatch: maxBatch, MaxWait: maxWait, Queue: 4 * benchClients})
	imgs := testImages(b)
	bodies := make([][]byte, len(imgs))
	for i, im := range imgs {
		bodies[i], _ = json.Marshal(map[string]any{"input": im.dataURL(), "encoding_format": "base64"})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for range benchClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) || ctx.Err() != nil {
					return
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/embeddings", bytes.NewReader(bodies[i%int64(len(bodies))]))
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d requests failed", n, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
	metrics := get(b, url+"/metrics")
	batches := metricValue(b, metrics, `fashionclip_batch_size_count{tower="image"}`)
	b.ReportMetric(float64(b.N)/batches, "images/batch")
}

// BenchmarkServeMicroBatch: concurrent requests share encoder runs.
func BenchmarkServeMicroBatch(b *testing.B) { benchServe(b, 32, 5*time.Millisecond) }

// BenchmarkServeBatchOfOne: every image is its own encoder run.
func BenchmarkServeBatchOfOne(b *testing.B) { benchServe(b, 1, -1) }
