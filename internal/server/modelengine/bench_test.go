package modelengine

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"sort"
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

// BenchmarkServeMicroBatch: concurrent requests share encoder runs, with
// the default (no waiting: requests that arrive during a run make up the
// next one) and with the old 5 ms wait for company.
func BenchmarkServeMicroBatch(b *testing.B) { benchServe(b, 32, 0) }

func BenchmarkServeMicroBatchWait5ms(b *testing.B) { benchServe(b, 32, 5*time.Millisecond) }

// BenchmarkServeBatchOfOne: every image is its own encoder run.
func BenchmarkServeBatchOfOne(b *testing.B) { benchServe(b, 1, -1) }

// BenchmarkServeLoneText measures one text request at a time through the
// server against the engine's own latency for the same text, alternated
// (engine, serve, serve, engine, ...) so that both see the same machine.
// It reports both medians and their ratio (issue 12's goal: ≤ 1.15).
func BenchmarkServeLoneText(b *testing.B) {
	for _, tc := range []struct {
		name string
		wait time.Duration
	}{{"max-wait=0", 0}, {"max-wait=5ms", 5 * time.Millisecond}} {
		b.Run(tc.name, func(b *testing.B) {
			eng := benchEngine(b)
			url, _ := serve(b, eng, server.Config{MaxWait: tc.wait})
			const text = "a red floral summer dress with thin straps"
			body, _ := json.Marshal(map[string]any{"input": text, "encoding_format": "base64"})
			ctx := context.Background()
			viaEngine := func() time.Duration {
				start := time.Now()
				if _, err := eng.EncodeTexts(ctx, []string{text}); err != nil {
					b.Fatal(err)
				}
				return time.Since(start)
			}
			viaServe := func() time.Duration {
				start := time.Now()
				resp, err := client.Post(url+"/v1/embeddings", "application/json", bytes.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d", resp.StatusCode)
				}
				return time.Since(start)
			}
			for range 5 { // warm both paths (connection, sessions, caches)
				viaEngine()
				viaServe()
			}
			var engineTimes, serveTimes []time.Duration
			b.ResetTimer()
			for i := range b.N {
				if i%2 == 0 {
					engineTimes = append(engineTimes, viaEngine())
					serveTimes = append(serveTimes, viaServe())
				} else {
					serveTimes = append(serveTimes, viaServe())
					engineTimes = append(engineTimes, viaEngine())
				}
			}
			b.StopTimer()
			me, ms := median(engineTimes), median(serveTimes)
			b.ReportMetric(float64(me.Microseconds())/1000, "engine-ms")
			b.ReportMetric(float64(ms.Microseconds())/1000, "serve-ms")
			b.ReportMetric(float64(ms)/float64(me), "serve/engine")
		})
	}
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
