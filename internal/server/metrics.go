package server

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// histogram is a Prometheus histogram with fixed upper bounds.
type histogram struct {
	bounds []float64
	counts []uint64 // per bucket, not cumulative; the last one is +Inf
	sum    float64
	count  uint64
}

func newHistogram(bounds []float64) *histogram {
	return &histogram{bounds: bounds, counts: make([]uint64, len(bounds)+1)}
}

func (h *histogram) observe(v float64) {
	i := sort.SearchFloat64s(h.bounds, v) // first bound >= v: buckets are "le"
	h.counts[i]++
	h.sum += v
	h.count++
}

var (
	latencyBounds = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}
	batchBounds   = []float64{1, 2, 4, 8, 16, 32, 64, 128, 256}
)

// metrics are the server's counters, exposed in Prometheus' text format.
// The label sets are small and fixed (routes, towers), so plain maps under a
// mutex are enough.
type metrics struct {
	mu           sync.Mutex
	requests     map[[2]string]uint64 // route, status
	latency      map[string]*histogram
	batchItems   map[string]*histogram // per tower
	batchSeconds map[string]*histogram

	inflight    atomic.Int64
	cacheHits   atomic.Uint64
	cacheMisses atomic.Uint64

	queueDepth map[string]func() int // per tower, read at scrape time
}

func newMetrics() *metrics {
	return &metrics{
		requests:     map[[2]string]uint64{},
		latency:      map[string]*histogram{},
		batchItems:   map[string]*histogram{},
		batchSeconds: map[string]*histogram{},
		queueDepth:   map[string]func() int{},
	}
}

func (m *metrics) request(route string, status int, took time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[[2]string{route, strconv.Itoa(status)}]++
	h := m.latency[route]
	if h == nil {
		h = newHistogram(latencyBounds)
		m.latency[route] = h
	}
	h.observe(took.Seconds())
}

func (m *metrics) batch(tower string, items int, took time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h := m.batchItems[tower]
	if h == nil {
		h = newHistogram(batchBounds)
		m.batchItems[tower] = h
		m.batchSeconds[tower] = newHistogram(latencyBounds)
	}
	h.observe(float64(items))
	m.batchSeconds[tower].observe(took.Seconds())
}

// write renders every metric in the Prometheus text exposition format
// (version 0.0.4), series sorted so scrapes are stable.
func (m *metrics) write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	m.mu.Lock()
	header(bw, "fashionclip_http_requests_total", "counter", "HTTP requests answered, by route and status code.")
	keys := make([][2]string, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return keys[i][0] < keys[j][0]
		}
		return keys[i][1] < keys[j][1]
	})
	for _, k := range keys {
		fmt.Fprintf(bw, "fashionclip_http_requests_total{route=%s,status=%s} %d\n", quote(k[0]), quote(k[1]), m.requests[k])
	}
	writeHistograms(bw, "fashionclip_http_request_duration_seconds", "Time from request to response, by route.", "route", m.latency)
	writeHistograms(bw, "fashionclip_batch_size", "Inputs per encoder run, by tower.", "tower", m.batchItems)
	writeHistograms(bw, "fashionclip_batch_duration_seconds", "Encoder run time per batch, by tower.", "tower", m.batchSeconds)
	m.mu.Unlock()

	header(bw, "fashionclip_queue_depth", "gauge", "Requests waiting for an encoder batch, by tower.")
	for _, tower := range sortedKeys(m.queueDepth) {
		fmt.Fprintf(bw, "fashionclip_queue_depth{tower=%s} %d\n", quote(tower), m.queueDepth[tower]())
	}
	header(bw, "fashionclip_requests_in_flight", "gauge", "Requests being handled.")
	fmt.Fprintf(bw, "fashionclip_requests_in_flight %d\n", m.inflight.Load())
	header(bw, "fashionclip_label_cache_hits_total", "counter", "Classify label sets found in the cache.")
	fmt.Fprintf(bw, "fashionclip_label_cache_hits_total %d\n", m.cacheHits.Load())
	header(bw, "fashionclip_label_cache_misses_total", "counter", "Classify label sets that had to be embedded.")
	fmt.Fprintf(bw, "fashionclip_label_cache_misses_total %d\n", m.cacheMisses.Load())
	return bw.Flush()
}

func header(w io.Writer, name, kind, help string) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, kind)
}

func writeHistograms(w io.Writer, name, help, label string, hs map[string]*histogram) {
	header(w, name, "histogram", help)
	for _, key := range sortedKeys(hs) {
		h := hs[key]
		lv := quote(key)
		var cum uint64
		for i, b := range h.bounds {
			cum += h.counts[i]
			fmt.Fprintf(w, "%s_bucket{%s=%s,le=%q} %d\n", name, label, lv, formatFloat(b), cum)
		}
		fmt.Fprintf(w, "%s_bucket{%s=%s,le=\"+Inf\"} %d\n", name, label, lv, h.count)
		fmt.Fprintf(w, "%s_sum{%s=%s} %s\n", name, label, lv, formatFloat(h.sum))
		fmt.Fprintf(w, "%s_count{%s=%s} %d\n", name, label, lv, h.count)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// quote writes a label value: backslash, double quote and newline escaped,
// as the exposition format asks.
func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
