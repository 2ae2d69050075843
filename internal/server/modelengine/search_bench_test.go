package modelengine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/fashionclip/fashionclip/internal/index"
	"github.com/fashionclip/fashionclip/internal/query"
	"github.com/fashionclip/fashionclip/internal/server"
)

// randomIndex writes n random unit vectors of width dim as float16 image
// items (commits of 1024, as embed -o makes them).
func randomIndex(b *testing.B, dir string, n, dim int) {
	b.Helper()
	w, err := index.OpenWriter(dir, index.Options{Model: index.ModelInfo{Folder: "bench", Graph: "bench"}, DType: index.DTypeFloat16})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	v := make([]float32, dim)
	for i := range n {
		var s float64
		for j := range v {
			v[j] = float32(rng.NormFloat64())
			s += float64(v[j]) * float64(v[j])
		}
		for j := range v {
			v[j] = float32(float64(v[j]) / math.Sqrt(s))
		}
		if err := w.Add(index.Item{Path: fmt.Sprintf("catalog/%06d.jpg", i), Size: 1}, v); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkSearch100k compares, alternated in one run, one text query
// through POST /v1/search (HTTP, text encoder via the batcher, query
// vector, scan of a 100k × dim float16 index) with the engine's own
// encode of the query's texts (one for a one-term query, a batch of two
// for "a - b"): the difference is what the search costs on top.
// The target: p50(search) ≤ p50(encode) + 10 ms, on the synthetic
// ViT-B/32 (FASHIONCLIP_BENCH_MODEL; the tiny model otherwise).
func BenchmarkSearch100k(b *testing.B) {
	eng := benchEngine(b)
	dir := filepath.Join(b.TempDir(), "100k.idx")
	randomIndex(b, dir, 100_000, eng.Dim())
	x, err := server.OpenIndexes([]server.IndexSpec{{Name: "bench", Dir: dir}}, server.IndexOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer x.Close()
	url, _ := serve(b, eng, server.Config{Indexes: x})
	ctx := context.Background()
	queries := []string{"red floral summer dress", "white leather sneaker", "black ankle boot - heel", "striped cotton t-shirt + 2:navy"}
	search := func(q string) time.Duration {
		body, _ := json.Marshal(map[string]any{"query": q, "k": 10})
		t0 := time.Now()
		resp, err := client.Post(url+"/v1/search", "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		var res struct {
			Data []json.RawMessage `json:"data"`
		}
		err = json.NewDecoder(resp.Body).Decode(&res)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		d := time.Since(t0)
		if err != nil || resp.StatusCode != http.StatusOK || len(res.Data) != 10 {
			b.Fatalf("search %q: %d %v", q, resp.StatusCode, err)
		}
		return d
	}
	// The engine encodes what the query's terms say, in one call (a
	// two-term query is a batch of two texts, as the search runs it).
	termTexts := func(q string) []string {
		args, err := query.Split(q)
		if err != nil {
			b.Fatal(err)
		}
		terms, err := query.Parse(args, nil, func(string) bool { return false })
		if err != nil {
			b.Fatal(err)
		}
		texts := make([]string, len(terms))
		for i, t := range terms {
			texts[i] = t.Text
		}
		return texts
	}
	encode := func(q string) time.Duration {
		texts := termTexts(q)
		t0 := time.Now()
		if _, err := eng.EncodeTexts(ctx, texts); err != nil {
			b.Fatal(err)
		}
		return time.Since(t0)
	}
	// The scan alone, on the same index, for the breakdown.
	ix, err := index.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer ix.Close()
	qvec, err := eng.EncodeTexts(ctx, []string{queries[0]})
	if err != nil {
		b.Fatal(err)
	}
	scan := func() time.Duration {
		t0 := time.Now()
		if _, err := ix.Search(qvec[0], index.SearchOptions{K: 10}); err != nil {
			b.Fatal(err)
		}
		return time.Since(t0)
	}
	for _, q := range queries { // warm every path
		search(q)
		encode(q)
		scan()
	}
	var s, e, sc []time.Duration
	i := 0
	for b.Loop() {
		q := queries[i%len(queries)]
		if i%2 == 0 {
			s = append(s, search(q))
			e = append(e, encode(q))
		} else {
			e = append(e, encode(q))
			s = append(s, search(q))
		}
		sc = append(sc, scan())
		i++
	}
	p50 := func(d []time.Duration) float64 {
		slices.Sort(d)
		return float64(d[len(d)/2].Microseconds()) / 1000
	}
	ps, pe, psc := p50(s), p50(e), p50(sc)
	b.ReportMetric(ps, "search-p50-ms")
	b.ReportMetric(pe, "encode-p50-ms")
	b.ReportMetric(ps-pe, "extra-p50-ms")
	b.ReportMetric(psc, "scan-p50-ms")
	b.ReportMetric(ps-pe-psc, "http+batch-p50-ms")
	b.ReportMetric(0, "ns/op")
}
