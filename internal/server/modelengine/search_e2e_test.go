package modelengine

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fashionclip/fashionclip/internal/browsertest"
	"github.com/fashionclip/fashionclip/internal/index"
	"github.com/fashionclip/fashionclip/internal/query"
	"github.com/fashionclip/fashionclip/internal/server"
	"github.com/fashionclip/fashionclip/internal/server/searchtest"
	"github.com/fashionclip/fashionclip/internal/testutil"
)

// refModel loads the reference kit's tiny model (both towers), once.
var (
	refOnce sync.Once
	refEng  *Engine
	refErr  error
)

func refEngine(t testing.TB) *Engine {
	t.Helper()
	dir := filepath.Join(testutil.ReferenceDir(t), "models", "tiny-optimum")
	refOnce.Do(func() { refEng, refErr = loadEngine(t, dir) })
	if refErr != nil {
		t.Fatal(refErr)
	}
	return refEng
}

var refModelInfo = index.ModelInfo{Folder: "tiny-optimum", Graph: "reference-kit-tiny"}

// refIndex embeds the reference kit's images (and a few texts) with the
// library into a new index, as `fashionclip embed -o` does.
func refIndex(t testing.TB, eng *Engine, dir string, texts []string) []string {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(testutil.ReferenceDir(t), "images", "*"))
	if len(paths) == 0 {
		t.Skip("reference kit images not found")
	}
	res, err := eng.Model().EncodeImageFiles(context.Background(), paths)
	if err != nil {
		t.Fatal(err)
	}
	w, err := index.OpenWriter(dir, index.Options{Model: refModelInfo, DType: index.DTypeFloat16, CommitEvery: 5})
	if err != nil {
		t.Fatal(err)
	}
	var ok []string
	for _, r := range res {
		if r.Err != nil {
			continue // the kit has an image or two the decoder refuses on purpose
		}
		st, _ := os.Stat(r.Item)
		if err := w.Add(index.Item{Path: r.Item, Size: st.Size(), MTime: st.ModTime()}, r.Embedding); err != nil {
			t.Fatal(err)
		}
		ok = append(ok, r.Item)
	}
	if len(texts) > 0 {
		embs, err := eng.Model().EncodeTexts(context.Background(), texts)
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range texts {
			if err := w.Add(index.Item{Text: s, IsText: true}, embs[i]); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return ok
}

// cliHits is what `fashionclip search` answers: the query's terms embedded
// with the library, then searchtest (internal/query, internal/index).
func cliHits(t testing.TB, eng *Engine, dir, q, imagePath string, k int, minScore *float64) []index.Hit {
	t.Helper()
	ctx := context.Background()
	if imagePath != "" {
		res, err := eng.Model().EncodeImageFiles(ctx, []string{imagePath})
		if err != nil || res[0].Err != nil {
			t.Fatalf("embed %s: %v %v", imagePath, err, res[0].Err)
		}
		return searchtest.Hits(t, dir, []query.Term{{Weight: 1, Image: imagePath}}, [][]float32{res[0].Embedding}, k, minScore)
	}
	terms := searchtest.TextTerms(t, q)
	texts := make([]string, len(terms))
	for i, term := range terms {
		texts[i] = term.Text
	}
	embs, err := eng.Model().EncodeTexts(ctx, texts)
	if err != nil {
		t.Fatal(err)
	}
	return searchtest.Hits(t, dir, terms, embs, k, minScore)
}

type apiHit struct {
	ID    string  `json:"id"`
	Path  string  `json:"path"`
	Text  *string `json:"text"`
	Score float64 `json:"score"`
	Kind  string  `json:"kind"`
	Index string  `json:"index"`
}

func postSearch(t testing.TB, base, key string, body map[string]any) ([]apiHit, int, string) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/search", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Data []apiHit `json:"data"`
	}
	var raw bytes.Buffer
	raw.ReadFrom(resp.Body)
	json.Unmarshal(raw.Bytes(), &out)
	return out.Data, resp.StatusCode, raw.String()
}

func itemKey(path string, text *string) string {
	if text != nil {
		return "text " + *text
	}
	return path
}

// sameHits checks the API's results against the CLI's, rank by rank.
func sameHits(t testing.TB, what string, got []apiHit, want []index.Hit) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d results, the CLI %d", what, len(got), len(want))
	}
	for i, h := range want {
		wantKey := h.Item.Path
		if h.Item.IsText {
			wantKey = "text " + h.Item.Text
		}
		if k := itemKey(got[i].Path, got[i].Text); k != wantKey || math.Abs(got[i].Score-h.Score) > 1e-6 {
			t.Errorf("%s, rank %d: %s %.7f; the CLI: %s %.7f", what, i+1, k, got[i].Score, wantKey, h.Score)
		}
	}
}

func dataURL(t testing.TB, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(b)
}

func serveIndex(t testing.TB, eng *Engine, cfg server.Config, specs ...server.IndexSpec) string {
	t.Helper()
	x, err := server.OpenIndexes(specs, server.IndexOptions{Model: refModelInfo})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Indexes = x
	cfg.Thumbnails = Thumbnails{}
	url, _ := serve(t, eng, cfg)
	t.Cleanup(func() { x.Close() })
	return url
}

func TestSearchParityWithCLI(t *testing.T) {
	eng := refEngine(t)
	dir := filepath.Join(t.TempDir(), "catalog.idx")
	texts := []string{"a red dress", "white sneakers", "a leather bag"}
	paths := refIndex(t, eng, dir, texts)
	url := serveIndex(t, eng, server.Config{}, server.IndexSpec{Name: "catalog", Dir: dir})
	low := 0.05
	for _, c := range []struct {
		q        string
		k        int
		minScore *float64
	}{
		{"red dress", 10, nil},
		{`"white sneaker" - "logo" + 2:"chunky sole"`, 5, nil},
		{"leather bag - 0.5:strap", 100, nil},
		{"striped shirt", 100, &low},
		{"3-pack crew socks", 1, nil},
	} {
		body := map[string]any{"query": c.q, "k": c.k}
		if c.minScore != nil {
			body["min_score"] = *c.minScore
		}
		got, status, raw := postSearch(t, url, "", body)
		if status != 200 {
			t.Fatalf("%q: %d %s", c.q, status, raw)
		}
		sameHits(t, fmt.Sprintf("query %q k %d", c.q, c.k), got, cliHits(t, eng, dir, c.q, "", c.k, c.minScore))
	}
	for _, p := range paths[:4] {
		got, status, raw := postSearch(t, url, "", map[string]any{"image": dataURL(t, p), "k": 8})
		if status != 200 {
			t.Fatalf("image %s: %d %s", p, status, raw)
		}
		sameHits(t, "image "+filepath.Base(p), got, cliHits(t, eng, dir, "", p, 8, nil))
		if got[0].Path != p || got[0].Score < 0.999 {
			t.Errorf("image %s: its own file should come first, got %s %.4f", filepath.Base(p), got[0].Path, got[0].Score)
		}
	}
	// kind=texts keeps the texts, in the CLI's order.
	got, _, _ := postSearch(t, url, "", map[string]any{"query": "red dress", "kind": "texts", "k": 10})
	var want []index.Hit
	for _, h := range cliHits(t, eng, dir, "red dress", "", 100, nil) {
		if h.Item.IsText {
			want = append(want, h)
		}
	}
	sameHits(t, "kind texts", got, want)
}

// TestSearchUnderLoadWhileIndexGrows runs concurrent text and image
// searches (run it with -race) while another writer commits new items:
// no request fails, and a search started after a commit sees its item.
func TestSearchUnderLoadWhileIndexGrows(t *testing.T) {
	eng := refEngine(t)
	dir := filepath.Join(t.TempDir(), "grow.idx")
	paths := refIndex(t, eng, dir, nil)
	url := serveIndex(t, eng, server.Config{MaxBatch: 16}, server.IndexSpec{Name: "grow", Dir: dir})

	var stop atomic.Bool
	var requests, failures atomic.Int64
	var wg sync.WaitGroup
	bodies := []map[string]any{
		{"query": "red dress - logo", "k": 5},
		{"image": dataURL(t, paths[0]), "k": 5},
		{"query": "boots", "k": 3, "kind": "images"},
	}
	for c := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				_, status, raw := postSearch(t, url, "", bodies[(c+i)%len(bodies)])
				requests.Add(1)
				if status != 200 {
					failures.Add(1)
					t.Errorf("search during growth: %d %s", status, raw)
					return
				}
			}
		}()
	}
	var texts []string
	for i := range 8 {
		texts = append(texts, fmt.Sprintf("new catalogue item number %d", i))
	}
	embed := func(s string) []float32 {
		embs, err := eng.Model().EncodeTexts(context.Background(), []string{s})
		if err != nil {
			t.Fatal(err)
		}
		return embs[0]
	}
	searchtest.CommitTexts(t, dir, refModelInfo, texts, embed, func(_ int, s string) {
		got, status, raw := postSearch(t, url, "", map[string]any{"query": s, "k": 1, "kind": "texts"})
		if status != 200 || len(got) != 1 || got[0].Text == nil || *got[0].Text != s {
			t.Fatalf("after committing %q: %d %s", s, status, raw)
		}
	})
	stop.Store(true)
	wg.Wait()
	if failures.Load() > 0 || requests.Load() < 10 {
		t.Fatalf("%d of %d searches failed", failures.Load(), requests.Load())
	}
}

// TestSearchPageInBrowser drives the search page in headless Chromium: it
// asks for the API key, shows the CLI's top-k for a typed query and for an
// uploaded image with thumbnails fetched with the key, searches "more like
// this", and the server refuses a thumbnail of a file outside the index.
func TestSearchPageInBrowser(t *testing.T) {
	eng := refEngine(t)
	br := browsertest.Start(t, browsertest.Options{})
	dir := filepath.Join(t.TempDir(), "catalog.idx")
	paths := refIndex(t, eng, dir, nil)
	const key = "s3cret"
	url := serveIndex(t, eng, server.Config{APIKey: key}, server.IndexSpec{Name: "catalog", Dir: dir})
	tab := br.NewTab(t, 2*time.Minute)
	run := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(tab.Ctx, steps...); err != nil {
			t.Fatal(err)
		}
	}
	run(chromedp.Navigate(url+"/"),
		chromedp.WaitVisible(chromedp.ID("key")),
		chromedp.SendKeys(chromedp.ID("key"), key),
		chromedp.Click(chromedp.CSS("#keyform button")))
	if err := tab.Wait(`document.getElementById("index").options.length === 2`); err != nil {
		t.Fatal("the index list did not load after the key was given: ", err)
	}

	results := func(what string) []string {
		t.Helper()
		if err := tab.Wait(`/ results? for /.test(document.getElementById("status").textContent)`); err != nil {
			st, _ := browsertest.Eval[string](tab, `document.getElementById("status").textContent + " | q=" + document.getElementById("q").value`)
			t.Fatalf("%s: no results (status %q): %v", what, st, err)
		}
		got, err := browsertest.Eval[[]string](tab, `[...document.querySelectorAll("#results .card")].map(c => c.dataset.path)`)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	wantPaths := func(hits []index.Hit) []string {
		var out []string
		for _, h := range hits {
			out = append(out, h.Item.Path)
		}
		return out
	}
	const k = 6
	run(chromedp.SetValue(chromedp.ID("k"), fmt.Sprint(k)),
		chromedp.SetValue(chromedp.ID("q"), `red dress - "logo"`),
		chromedp.Click(chromedp.CSS(`#search button[type=submit]`)))
	got := results("text query")
	if want := wantPaths(cliHits(t, eng, dir, `red dress - "logo"`, "", k, nil)); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("text query: the page shows\n%s\nthe CLI\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Thumbnails arrive through blob: URLs fetched with the key.
	src, err := browsertest.Eval[string](tab, `(async () => { const img = document.querySelector("#results .card img");
		for (let i = 0; i < 200 && !img.src; i++) await new Promise(r => setTimeout(r, 25));
		await img.decode(); return img.src.slice(0, 5) + " " + img.naturalWidth; })()`)
	if err != nil || !strings.HasPrefix(src, "blob: ") || strings.HasSuffix(src, " 0") {
		t.Errorf("first thumbnail: %q, %v", src, err)
	}

	// Query by an uploaded image.
	run(chromedp.Evaluate[chromedp.Void](`document.getElementById("status").textContent = ""`),
		chromedp.SetUploadFiles(chromedp.ID("file"), []string{paths[2]}))
	got = results("image upload")
	if want := wantPaths(cliHits(t, eng, dir, "", paths[2], k, nil)); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("uploaded image: the page shows\n%s\nthe CLI\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// More like this: the third result's own vector ranks it first.
	third := got[2]
	run(chromedp.Evaluate[chromedp.Void](`document.getElementById("status").textContent = ""`),
		chromedp.Click(chromedp.CSS(`#results .card:nth-child(3) .like`)))
	if got = results("more like this"); len(got) == 0 || got[0] != third {
		t.Errorf("more like %s: first result %q", third, got)
	}

	// The viewer opens a larger rendition.
	run(chromedp.Click(chromedp.CSS(`#results .card:nth-child(1) img`)))
	w, err := browsertest.Eval[int](tab, `(async () => { const img = document.getElementById("big");
		for (let i = 0; i < 200 && !img.src; i++) await new Promise(r => setTimeout(r, 25));
		await img.decode(); return img.naturalWidth; })()`)
	if err != nil || w == 0 {
		t.Errorf("viewer image: width %d, %v", w, err)
	}
	run(chromedp.Click(chromedp.ID("bigclose")))

	// Only ids of indexed files give thumbnails, even with the key.
	outside := filepath.Join(t.TempDir(), "outside.jpg")
	data, _ := os.ReadFile(paths[0])
	os.WriteFile(outside, data, 0o644)
	statuses, err := browsertest.Eval[[]int](tab, fmt.Sprintf(`Promise.all(%s.map(id =>
		fetch("v1/thumbnails/" + encodeURIComponent(id), {headers: {Authorization: "Bearer %s"}}).then(r => r.status)))`,
		mustJSON([]string{outside, paths[0], "../../../etc/passwd", "catalog:0:999", "catalog:" + outside}), key))
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range statuses {
		if s != http.StatusNotFound {
			t.Errorf("thumbnail request %d: status %d, want 404", i, s)
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
