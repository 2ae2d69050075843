package server

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/fashionclip/fashionclip/internal/index"
	"github.com/fashionclip/fashionclip/internal/modelfiles"
	"github.com/fashionclip/fashionclip/internal/query"
	"github.com/fashionclip/fashionclip/internal/server/searchtest"
)

var searchModel = index.ModelInfo{Folder: "fake", Graph: "sha256:fake"}

// randomUnit is a seeded random unit vector of the fake engine's width.
func randomUnit(rng *rand.Rand) []float32 {
	v := make([]float32, fakeDim)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return normalized(v)
}

// fixtureIndex writes an index of n image files (real PNGs under dir/img)
// and texts at the given items, over several commits, then replaces a few
// images so the index has garbage rows.
func fixtureIndex(t testing.TB, dir string, n int, texts []string, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 2))
	w, err := index.OpenWriter(dir, index.Options{Model: searchModel, DType: index.DTypeFloat32, CommitEvery: 7})
	if err != nil {
		t.Fatal(err)
	}
	imgDir := filepath.Join(dir, "img")
	if err := os.MkdirAll(imgDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		p := filepath.Join(imgDir, fmt.Sprintf("%03d.png", i))
		if err := os.WriteFile(p, pngBytes(t, 8+i%5, 6, color.RGBA{uint8(i * 9), 80, 200, 255}), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := w.Add(index.Item{Path: p, Size: 1}, randomUnit(rng)); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range texts {
		if err := w.Add(index.Item{Text: s, IsText: true}, textVector(s)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i += 5 {
		p := filepath.Join(imgDir, fmt.Sprintf("%03d.png", i))
		if err := w.Add(index.Item{Path: p, Size: 2}, randomUnit(rng)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// fakeThumbs renders a JPEG of the decoded PNG, recording the sizes asked.
type fakeThumbs struct {
	mu    sync.Mutex
	edges []int
}

func (f *fakeThumbs) Thumbnail(data []byte, maxEdge int) ([]byte, error) {
	f.mu.Lock()
	f.edges = append(f.edges, maxEdge)
	f.mu.Unlock()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	err = jpeg.Encode(&buf, img, nil)
	return buf.Bytes(), err
}

func openFixture(t *testing.T, specs ...IndexSpec) *Indexes {
	t.Helper()
	x, err := OpenIndexes(specs, IndexOptions{Model: searchModel})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	return x
}

type searchAnswer struct {
	Object string `json:"object"`
	Data   []struct {
		ID    string  `json:"id"`
		Path  string  `json:"path"`
		Text  *string `json:"text"`
		Score float64 `json:"score"`
		Kind  string  `json:"kind"`
		Index string  `json:"index"`
	} `json:"data"`
}

func searchOK(t *testing.T, base string, req map[string]any) searchAnswer {
	t.Helper()
	b, _ := json.Marshal(req)
	r := post(t, base+"/v1/search", string(b))
	if r.status != http.StatusOK {
		t.Fatalf("search %s: status %d: %s", b, r.status, r.body)
	}
	var a searchAnswer
	if err := json.Unmarshal(r.body, &a); err != nil {
		t.Fatal(err)
	}
	if a.Object != "list" {
		t.Errorf("object = %q, want list", a.Object)
	}
	return a
}

// expected is the CLI's answer for a text query to the fake engine.
func expected(t *testing.T, dir, q string, k int, minScore *float64) []index.Hit {
	t.Helper()
	terms := searchtest.TextTerms(t, q)
	embs := make([][]float32, len(terms))
	for i, term := range terms {
		embs[i] = textVector(term.Text)
	}
	return searchtest.Hits(t, dir, terms, embs, k, minScore)
}

func key(path, text string, isText bool) string {
	if isText {
		return "t:" + text
	}
	return "p:" + path
}

func TestSearchIsTheIndexSearch(t *testing.T) {
	root := t.TempDir()
	a, b := filepath.Join(root, "a"), filepath.Join(root, "b")
	fixtureIndex(t, a, 40, []string{"red dress", "blue jeans"}, 1)
	fixtureIndex(t, b, 25, []string{"white sneaker"}, 2)
	x := openFixture(t, IndexSpec{Name: "a", Dir: a}, IndexSpec{Name: "b", Dir: b})
	_, ts := start(t, &fakeEngine{}, Config{Indexes: x})
	low := -0.2
	for _, tc := range []struct {
		q        string
		k        int
		minScore *float64
	}{
		{"white sneaker", 10, nil},
		{`"white sneaker" - logo + 2:"chunky sole"`, 7, nil},
		{"red dress - 0.5:stripes", 100, &low},
		{"blue jeans", 1, nil},
	} {
		body := map[string]any{"query": tc.q, "k": tc.k, "index": "a"}
		if tc.minScore != nil {
			body["min_score"] = *tc.minScore
		}
		got := searchOK(t, ts.URL, body)
		want := expected(t, a, tc.q, tc.k, tc.minScore)
		if len(got.Data) != len(want) {
			t.Fatalf("%q: %d results, the index search %d", tc.q, len(got.Data), len(want))
		}
		for i, h := range want {
			g := got.Data[i]
			if key(g.Path, deref(g.Text), g.Kind == "text") != key(h.Item.Path, h.Item.Text, h.Item.IsText) || g.Score != h.Score {
				t.Errorf("%q result %d: %s %s %v, want %q %q %v", tc.q, i, g.Kind, g.Path, g.Score, h.Item.Path, h.Item.Text, h.Score)
			}
			if g.Index != "a" || g.ID != formatID("a", h.Chunk, h.Row) {
				t.Errorf("%q result %d: index %q id %q", tc.q, i, g.Index, g.ID)
			}
		}
	}

	// Without "index": both indexes, merged by score.
	q := "white sneaker"
	merged := searchOK(t, ts.URL, map[string]any{"query": q, "k": 15})
	var want []struct {
		ix    string
		score float64
	}
	for _, name := range []string{"a", "b"} {
		for _, h := range expected(t, filepath.Join(root, name), q, 15, nil) {
			want = append(want, struct {
				ix    string
				score float64
			}{name, h.Score})
		}
	}
	sort.SliceStable(want, func(i, j int) bool { return want[i].score > want[j].score })
	want = want[:15]
	seenB := false
	for i, w := range want {
		if merged.Data[i].Score != w.score || merged.Data[i].Index != w.ix {
			t.Errorf("merged result %d: %s %v, want %s %v", i, merged.Data[i].Index, merged.Data[i].Score, w.ix, w.score)
		}
		seenB = seenB || w.ix == "b"
	}
	if !seenB {
		t.Error("the merged fixture should take results from both indexes")
	}

	// kind filters, still best first and k long when there are enough.
	imgs := searchOK(t, ts.URL, map[string]any{"query": "red dress", "kind": "images", "k": 30, "index": "a"})
	texts := searchOK(t, ts.URL, map[string]any{"query": "red dress", "kind": "texts", "k": 30})
	if len(imgs.Data) != 30 || len(texts.Data) != 3 {
		t.Fatalf("kind filter: %d images, %d texts; want 30 and 3", len(imgs.Data), len(texts.Data))
	}
	for _, r := range imgs.Data {
		if r.Kind != "image" || r.Path == "" || r.Text != nil {
			t.Errorf("kind images gave %+v", r)
		}
	}
	if texts.Data[0].Kind != "text" || deref(texts.Data[0].Text) != "red dress" || texts.Data[0].Score < 0.999999 {
		t.Errorf("best text for its own query: %+v", texts.Data[0])
	}
	all := expected(t, a, "red dress", 200, nil)
	var wantImgs []index.Hit
	for _, h := range all {
		if !h.Item.IsText && len(wantImgs) < 30 {
			wantImgs = append(wantImgs, h)
		}
	}
	for i, h := range wantImgs {
		if imgs.Data[i].Path != h.Item.Path || imgs.Data[i].Score != h.Score {
			t.Errorf("images-only result %d: %s, want %s", i, imgs.Data[i].Path, h.Item.Path)
		}
	}

	// More like this: a result's id searches by its stored vector.
	first := imgs.Data[3]
	like := searchOK(t, ts.URL, map[string]any{"id": first.ID, "k": 3})
	if like.Data[0].ID != first.ID || like.Data[0].Score < 0.999999 {
		t.Errorf("more like %s: first result %+v, want the item itself", first.ID, like.Data[0])
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func TestSearchByImage(t *testing.T) {
	dir := t.TempDir()
	fixtureIndex(t, dir, 30, nil, 3)
	x := openFixture(t, IndexSpec{Name: "cat", Dir: dir})
	eng := &fakeEngine{}
	_, ts := start(t, eng, Config{Indexes: x})
	img := pngBytes(t, 9, 4, color.RGBA{10, 200, 30, 255})
	got := searchOK(t, ts.URL, map[string]any{"image": "data:image/png;base64," + b64(img), "k": 5})
	px, _ := eng.Preprocess(t.Context(), img)
	q, _ := query.Vector([]query.Term{{Weight: 1, Image: "x"}}, [][]float32{normalized(px)})
	ix, _ := index.Open(dir)
	defer ix.Close()
	want, _ := ix.Search(q, index.SearchOptions{K: 5})
	for i, h := range want {
		if got.Data[i].Path != h.Item.Path || got.Data[i].Score != h.Score {
			t.Errorf("image result %d: %s %v, want %s %v", i, got.Data[i].Path, got.Data[i].Score, h.Item.Path, h.Score)
		}
	}
	// The image_url content part works as in /v1/classify.
	part := map[string]any{"type": "image_url", "image_url": map[string]string{"url": "data:image/png;base64," + b64(img)}}
	if again := searchOK(t, ts.URL, map[string]any{"image": part, "k": 5}); again.Data[0].ID != got.Data[0].ID {
		t.Errorf("content part search differs: %s vs %s", again.Data[0].ID, got.Data[0].ID)
	}
}

func TestSearchErrors(t *testing.T) {
	dir := t.TempDir()
	fixtureIndex(t, dir, 10, []string{"a text"}, 4)
	x := openFixture(t, IndexSpec{Name: "cat", Dir: dir})
	_, ts := start(t, &fakeEngine{}, Config{Indexes: x})
	png := "data:image/png;base64," + b64(pngBytes(t, 2, 2, color.White))
	tests := []struct {
		name   string
		body   string
		status int
		code   string
	}{
		{"nothing to search", `{"k": 3}`, 400, "invalid_value"},
		{"query and image", `{"query": "x", "image": "` + png + `"}`, 400, "invalid_value"},
		{"query and id", `{"query": "x", "id": "cat:0:0"}`, 400, "invalid_value"},
		{"k zero", `{"query": "x", "k": 0}`, 400, "invalid_value"},
		{"k too large", `{"query": "x", "k": 1001}`, 400, "invalid_value"},
		{"k not a number", `{"query": "x", "k": "3"}`, 400, "invalid_type"},
		{"bad kind", `{"query": "x", "kind": "videos"}`, 400, "invalid_value"},
		{"unknown index", `{"query": "x", "index": "nope"}`, 404, "index_not_found"},
		{"unknown model", `{"query": "x", "model": "gpt-4"}`, 404, "model_not_found"},
		{"query ends with an operator", `{"query": "x -"}`, 400, "invalid_query"},
		{"two operators", `{"query": "x - + y"}`, 400, "invalid_query"},
		{"zero weight", `{"query": "0:x"}`, 400, "invalid_query"},
		{"empty query", `{"query": "   "}`, 400, "invalid_query"},
		{"unbalanced quote", `{"query": "\"x"}`, 400, "invalid_query"},
		{"terms cancel out", `{"query": "x - x"}`, 400, "invalid_query"},
		{"image not an image", `{"image": "data:image/png;base64,AAAA"}`, 400, "invalid_image"},
		{"image is text", `{"image": "red dress"}`, 400, "invalid_image_url"},
		{"unknown id", `{"id": "cat:999:0"}`, 404, "id_not_found"},
		{"id of another form", `{"id": "cat:00000:0"}`, 404, "id_not_found"},
		{"not JSON", `{`, 400, "invalid_json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := post(t, ts.URL+"/v1/search", tt.body)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			checkErrorShape(t, r, tt.code)
		})
	}
	if r := do(t, http.MethodGet, ts.URL+"/v1/search", "", nil); r.status != http.StatusMethodNotAllowed {
		t.Errorf("GET /v1/search: %d, want 405", r.status)
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func TestWithoutIndexesNoSearchRoutes(t *testing.T) {
	_, ts := start(t, &fakeEngine{}, Config{})
	for _, p := range []string{"/", "/v1/indexes", "/v1/thumbnails/x:0:0", "/static/app.js"} {
		if r := do(t, http.MethodGet, ts.URL+p, "", nil); r.status != http.StatusNotFound {
			t.Errorf("GET %s without indexes: %d, want 404", p, r.status)
		}
	}
}

func TestIndexesList(t *testing.T) {
	dir := t.TempDir()
	fixtureIndex(t, dir, 12, []string{"t"}, 5)
	x := openFixture(t, IndexSpec{Name: "cat", Dir: dir})
	_, ts := start(t, &fakeEngine{}, Config{Indexes: x, APIKey: "k"})
	if r := do(t, http.MethodGet, ts.URL+"/v1/indexes", "", nil); r.status != http.StatusUnauthorized {
		t.Errorf("without the key: %d, want 401", r.status)
	}
	r := do(t, http.MethodGet, ts.URL+"/v1/indexes", "", map[string]string{"Authorization": "Bearer k"})
	var list struct {
		Object string `json:"object"`
		Data   []struct {
			ID, Object, Name, DType string
			Items, Dim              int
			Generation              int64
		} `json:"data"`
	}
	if err := json.Unmarshal(r.body, &list); err != nil || len(list.Data) != 1 {
		t.Fatalf("GET /v1/indexes: %d %s", r.status, r.body)
	}
	d := list.Data[0]
	if d.ID != "cat" || d.Name != "cat" || d.Object != "index" || d.Items != 13 || d.Dim != fakeDim || d.DType != "float32" || d.Generation < 2 {
		t.Errorf("index entry %+v", d)
	}
}

func TestThumbnails(t *testing.T) {
	dir := t.TempDir()
	fixtureIndex(t, dir, 10, []string{"a text"}, 6)
	x := openFixture(t, IndexSpec{Name: "cat", Dir: dir})
	thumbs := &fakeThumbs{}
	_, ts := start(t, &fakeEngine{}, Config{Indexes: x, Thumbnails: thumbs, APIKey: "secret"})
	auth := map[string]string{"Authorization": "Bearer secret"}
	b, _ := json.Marshal(map[string]any{"query": "a text", "k": 11})
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/v1/search", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var res searchAnswer
	json.NewDecoder(resp.Body).Decode(&res)
	resp.Body.Close()
	var imageID, textID string
	for _, d := range res.Data {
		if d.Kind == "text" {
			textID = d.ID
		} else if imageID == "" {
			imageID = d.ID
		}
	}
	if imageID == "" || textID == "" {
		t.Fatalf("fixture search gave %+v", res.Data)
	}

	r := do(t, http.MethodGet, ts.URL+"/v1/thumbnails/"+imageID+"?size=64", "", auth)
	if r.status != 200 || r.header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("thumbnail of %s: %d %s %s", imageID, r.status, r.header.Get("Content-Type"), r.body)
	}
	if _, err := jpeg.Decode(bytes.NewReader(r.body)); err != nil {
		t.Errorf("thumbnail is not a JPEG: %v", err)
	}
	if thumbs.edges[len(thumbs.edges)-1] != 64 {
		t.Errorf("size=64 asked the thumbnailer for %d", thumbs.edges[len(thumbs.edges)-1])
	}
	if r := do(t, http.MethodGet, ts.URL+"/v1/thumbnails/"+imageID, "", nil); r.status != http.StatusUnauthorized {
		t.Errorf("thumbnail without the key: %d, want 401", r.status)
	}

	// Anything but a live image's id is 404: paths, traversal, texts,
	// other spellings of an id, garbage rows.
	outside := filepath.Join(t.TempDir(), "secret.png")
	os.WriteFile(outside, pngBytes(t, 4, 4, color.Black), 0o644)
	_, _, row, _ := parseID(imageID)
	refused := []string{
		url.PathEscape(outside), outside, "../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", url.PathEscape(filepath.Join(dir, "img", "001.png")),
		textID, "cat:0:" + fmt.Sprint(row+1000), strings.Replace(imageID, "cat:", "cat:0", 1), "cat:+" + strings.TrimPrefix(imageID, "cat:"),
		"other" + imageID[3:], "", "cat", "cat:1", imageID + ":0", " " + imageID, url.PathEscape(imageID + "\x00"),
	}
	// The fixture replaced items 0, 5: their first vectors are garbage now.
	ix, _ := index.Open(dir)
	m := ix.Manifest()
	ix.Close()
	for _, p := range m.Chunks {
		if p.Rows > p.Items {
			for r := range p.Rows {
				if _, _, ok, _ := x.Lookup(formatID("cat", p.Chunk, r)); !ok {
					refused = append(refused, formatID("cat", p.Chunk, r))
				}
			}
		}
	}
	for _, id := range refused {
		r := do(t, http.MethodGet, ts.URL+"/v1/thumbnails/"+id, "", auth)
		if r.status != http.StatusNotFound {
			t.Errorf("thumbnail %q: %d, want 404: %s", id, r.status, r.body)
		}
	}
	for _, size := range []string{"0", "15", "1025", "big", "-1"} {
		if r := do(t, http.MethodGet, ts.URL+"/v1/thumbnails/"+imageID+"?size="+size, "", auth); r.status != 400 {
			t.Errorf("size=%s: %d, want 400", size, r.status)
		}
	}

	// A recorded file that went away, or that is not an image. Results show
	// paths as stored (relative to the index's root); the files are there.
	fileOf := func(id string) string {
		file, ok, err := x.ImageFile(id)
		if !ok || err != nil {
			t.Fatalf("ImageFile(%s): %v %v", id, ok, err)
		}
		return file
	}
	os.Remove(fileOf(imageID))
	if r := do(t, http.MethodGet, ts.URL+"/v1/thumbnails/"+imageID, "", auth); r.status != 404 {
		t.Errorf("deleted file: %d, want 404", r.status)
	} else {
		checkErrorShape(t, r, "file_not_found")
	}
	var other string
	for _, d := range res.Data {
		if d.Kind == "image" && d.ID != imageID {
			other = d.ID
			break
		}
	}
	os.WriteFile(fileOf(other), []byte("not an image"), 0o644)
	if r := do(t, http.MethodGet, ts.URL+"/v1/thumbnails/"+other, "", auth); r.status != http.StatusUnprocessableEntity {
		t.Errorf("undecodable file: %d, want 422", r.status)
	}
	// A file replaced by a FIFO: refused at once (opening it must not wait
	// for a writer).
	var third string
	for _, d := range res.Data {
		if d.Kind == "image" && d.ID != imageID && d.ID != other {
			third = d.ID
			break
		}
	}
	os.Remove(fileOf(third))
	if err := syscall.Mkfifo(fileOf(third), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := do(t, http.MethodGet, ts.URL+"/v1/thumbnails/"+third, "", auth); r.status != http.StatusNotFound {
		t.Errorf("a FIFO: %d, want 404", r.status)
	}
}

func TestPage(t *testing.T) {
	dir := t.TempDir()
	fixtureIndex(t, dir, 3, nil, 7)
	x := openFixture(t, IndexSpec{Name: "cat", Dir: dir})
	_, ts := start(t, &fakeEngine{}, Config{Indexes: x, APIKey: "k"})
	for path, ctype := range map[string]string{"/": "text/html", "/static/app.js": "text/javascript", "/static/app.css": "text/css"} {
		r := do(t, http.MethodGet, ts.URL+path, "", nil)
		if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), ctype) {
			t.Errorf("GET %s (open, no key): %d %s", path, r.status, r.header.Get("Content-Type"))
		}
		if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("GET %s: CSP %q", path, csp)
		}
		for _, bad := range []string{"http://", "https://", "//cdn", "url("} {
			if bytes.Contains(r.body, []byte(bad)) {
				t.Errorf("%s references %q: the page must need nothing from elsewhere", path, bad)
			}
		}
	}
	if r := do(t, http.MethodGet, ts.URL+"/static/index.html", "", nil); r.status != 404 {
		t.Errorf("GET /static/index.html: %d, want 404", r.status)
	}
}

func TestExpandIndexes(t *testing.T) {
	root := t.TempDir()
	for _, n := range []string{"shoes", "bags"} {
		fixtureIndex(t, filepath.Join(root, "all", n), 2, nil, 8)
	}
	os.MkdirAll(filepath.Join(root, "all", "not-an-index"), 0o755)
	fixtureIndex(t, filepath.Join(root, "other", "shoes"), 2, nil, 9)

	specs, err := ExpandIndexes([]string{filepath.Join(root, "all")})
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) != 2 || specs[0].Name != "bags" || specs[1].Name != "shoes" {
		t.Errorf("folder of indexes: %+v", specs)
	}
	specs, err = ExpandIndexes([]string{filepath.Join(root, "all", "shoes"), "more=" + filepath.Join(root, "other", "shoes")})
	if err != nil || len(specs) != 2 || specs[1].Name != "more" || specs[1].Dir != filepath.Join(root, "other", "shoes") {
		t.Errorf("NAME=PATH: %+v %v", specs, err)
	}
	_, err = ExpandIndexes([]string{filepath.Join(root, "all"), filepath.Join(root, "other", "shoes")})
	if _, ok := err.(*DuplicateIndexError); !ok {
		t.Errorf("two indexes named shoes: %v, want a DuplicateIndexError", err)
	}
	for _, bad := range []string{filepath.Join(root, "all", "not-an-index"), "x=" + filepath.Join(root, "all"), filepath.Join(root, "missing"), "a:b=" + filepath.Join(root, "all", "bags")} {
		if _, err := ExpandIndexes([]string{bad}); err == nil {
			t.Errorf("ExpandIndexes(%q) accepted", bad)
		}
	}
	// Another model's index is refused at open.
	_, err = OpenIndexes([]IndexSpec{{Name: "x", Dir: filepath.Join(root, "all", "bags")}}, IndexOptions{Model: index.ModelInfo{Graph: "sha256:other"}})
	if _, ok := err.(*index.MismatchError); !ok {
		t.Errorf("another model's index: %v, want a MismatchError", err)
	}
	// Another variant of the served model: refused as such, unless allowed
	// (with a note).
	int8 := searchModel
	int8.Variant = modelfiles.Int8
	spec := []IndexSpec{{Name: "x", Dir: filepath.Join(root, "all", "bags")}}
	_, err = OpenIndexes(spec, IndexOptions{Model: int8})
	if _, ok := err.(*index.VariantMismatchError); !ok {
		t.Errorf("another variant's index: %v, want a VariantMismatchError", err)
	}
	var notes []string
	x, err := OpenIndexes(spec, IndexOptions{AllowVariantMismatch: true, Logf: func(f string, a ...any) { notes = append(notes, fmt.Sprintf(f, a...)) }})
	if err != nil {
		t.Fatal(err)
	}
	if err := x.UseModel(int8); err != nil || len(notes) != 1 || !strings.Contains(notes[0], "another variant") {
		t.Errorf("allowed variant mismatch: %v, notes %q", err, notes)
	}
	x.Close()
	if _, err := OpenIndexes(spec, IndexOptions{Model: int8, AllowVariantMismatch: true}); err != nil {
		t.Errorf("allowed variant mismatch at open: %v", err)
	}
	// And one of another width by New.
	x = openFixture(t, IndexSpec{Name: "bags", Dir: filepath.Join(root, "all", "bags")})
	if _, err := New(wideEngine{&fakeEngine{}}, Config{Indexes: x}); err == nil || !strings.Contains(err.Error(), "dimensional") {
		t.Errorf("index of another width: %v", err)
	}
}

type wideEngine struct{ *fakeEngine }

func (wideEngine) Dim() int { return fakeDim * 2 }

// TestIndexGrowsWhileServed commits new generations while searches run: no
// search fails, and once a commit returns, every search sees it.
func TestIndexGrowsWhileServed(t *testing.T) {
	dir := t.TempDir()
	fixtureIndex(t, dir, 20, nil, 10)
	x := openFixture(t, IndexSpec{Name: "cat", Dir: dir})
	_, ts := start(t, &fakeEngine{}, Config{Indexes: x})

	var committed atomic.Int64 // items "new 0".."new N-1" are committed
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var failures atomic.Int64
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{}
			for {
				select {
				case <-stop:
					return
				default:
				}
				n := committed.Load()
				if n == 0 {
					continue
				}
				want := fmt.Sprintf("new %d", n-1)
				body, _ := json.Marshal(map[string]any{"query": want, "k": 1})
				resp, err := client.Post(ts.URL+"/v1/search", "application/json", bytes.NewReader(body))
				if err != nil {
					failures.Add(1)
					t.Error(err)
					return
				}
				var a searchAnswer
				err = json.NewDecoder(resp.Body).Decode(&a)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 || len(a.Data) != 1 {
					failures.Add(1)
					t.Errorf("search during growth: %d %v %+v", resp.StatusCode, err, a)
					return
				}
				// The newest committed text (or a later one) must win: its
				// vector is the query's own.
				if got := deref(a.Data[0].Text); got != want && committed.Load() == n {
					failures.Add(1)
					t.Errorf("stale answer: best is %q after %q was committed", got, want)
					return
				}
			}
		}()
	}
	var texts []string
	for i := range 30 {
		texts = append(texts, fmt.Sprintf("new %d", i))
	}
	searchtest.CommitTexts(t, dir, searchModel, texts, textVector, func(i int, s string) {
		committed.Store(int64(i + 1))
		// A search started now must see it.
		got := searchOK(t, ts.URL, map[string]any{"query": s, "k": 1})
		if deref(got.Data[0].Text) != s {
			t.Fatalf("after committing %q the best result is %+v", s, got.Data[0])
		}
	})
	close(stop)
	wg.Wait()
	if failures.Load() > 0 {
		t.Fatalf("%d failed searches", failures.Load())
	}
	if n := x.Info()[0].Items; n != 50 {
		t.Errorf("served index has %d items, want 50", n)
	}
}
