package report

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var fixedNow = func() time.Time { return time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC) }

// thumbJPEG is a small JPEG tinted by n, standing in for the decoder's
// thumbnails.
func thumbJPEG(t testing.TB, w, h, n int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(40 * n), uint8(x * 255 / w), uint8(y * 255 / h), 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 75}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var testLabels = []string{"dress", "sneaker", "boot", "bag"}

// fixtureRecord is image i: its top label is testLabels[i%4], with a
// score that falls with i.
func fixtureRecord(t testing.TB, i int, thumb []byte) Record {
	top := i % len(testLabels)
	var scores []Score
	p := 0.95 - float64(i%40)/50
	scores = append(scores, Score{testLabels[top], p})
	rest := (1 - p) / float64(len(testLabels)-1)
	for j, l := range testLabels {
		if j != top {
			scores = append(scores, Score{l, rest})
		}
	}
	return Record{
		Path:      fmt.Sprintf("catalog/%s/%04d.jpg", testLabels[top], i),
		Groups:    []Group{{Scores: scores}, {Name: "colour", Scores: []Score{{"red", 0.7}, {"blue", 0.3}}}},
		Thumbnail: thumb,
	}
}

// data reads the JSON data block of a report.
func data(t testing.TB, html []byte) map[string]json.RawMessage {
	t.Helper()
	m := regexp.MustCompile(`(?s)<script type="application/json" id="data">(.*?)</script>`).FindSubmatch(html)
	if m == nil {
		t.Fatal("no data block")
	}
	var d map[string]json.RawMessage
	if err := json.Unmarshal(m[1], &d); err != nil {
		t.Fatalf("data block is not JSON: %v", err)
	}
	return d
}

// externalRef finds a src, href or CSS url() that would fetch from the web.
var externalRef = regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?\s*(https?:)?//|url\(\s*["']?\s*(https?:)?//|@import`)

func TestClassifyReport(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.html")
	c, err := NewClassify(out, Options{Command: "fashionclip classify catalog --report out.html", Now: fixedNow,
		Groups: []LabelGroup{{Labels: append(testLabels, "unused")}}})
	if err != nil {
		t.Fatal(err)
	}
	const n = 30
	thumbs := map[string][]byte{}
	for i := range n {
		th := thumbJPEG(t, 24, 32, i)
		r := fixtureRecord(t, i, th)
		thumbs[r.Path] = th
		if err := c.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	hostile := `bad</script><img src=x onerror=alert(1)>&.jpg`
	if err := c.Add(Record{Path: hostile, Err: errors.New(`cannot decode: "</script>"`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("the report exists before Close")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Add(fixtureRecord(t, 0, nil)); err == nil {
		t.Error("Add after Close accepted")
	}
	html, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("left beside the report: %v", ents)
	}
	if m := externalRef.Find(html); m != nil {
		t.Errorf("report references something outside: %q", m)
	}
	if bytes.Contains(html, []byte("<img src=x")) {
		t.Error("a path reached the page as markup")
	}

	d := data(t, html)
	var groups []struct {
		Name   string
		Labels []string
	}
	json.Unmarshal(d["groups"], &groups)
	if len(groups) != 2 || groups[0].Name != "" || strings.Join(groups[0].Labels, ",") != "dress,sneaker,boot,bag,unused" ||
		groups[1].Name != "colour" || strings.Join(groups[1].Labels, ",") != "red,blue" {
		t.Errorf("groups = %+v", groups)
	}
	var items [][]json.RawMessage
	if err := json.Unmarshal(d["items"], &items); err != nil {
		t.Fatal(err)
	}
	if len(items) != n {
		t.Fatalf("%d items, want %d", len(items), n)
	}
	for i, it := range items {
		var path string
		var ref [3]int
		var scores []float64
		json.Unmarshal(it[0], &path)
		json.Unmarshal(it[1], &ref)
		json.Unmarshal(it[2], &scores)
		want := fixtureRecord(t, i, nil)
		if path != want.Path {
			t.Errorf("item %d path %q, want %q", i, path, want.Path)
		}
		if groups[0].Labels[int(scores[0])] != want.Groups[0].Scores[0].Label ||
			math.Abs(scores[1]-want.Groups[0].Scores[0].Score) > 5e-5 || len(scores) != 8 {
			t.Errorf("item %d scores %v, want %+v", i, scores, want.Groups[0].Scores)
		}
		// The thumbnail is exactly the bytes given, in its block.
		block := regexp.MustCompile(fmt.Sprintf(`<script type="text/plain" class="thumbs" id="t%d">([^<]*)</script>`, ref[0])).FindSubmatch(html)
		if block == nil {
			t.Fatalf("item %d: no block %d", i, ref[0])
		}
		got, err := base64.StdEncoding.DecodeString(string(block[1][ref[1] : ref[1]+ref[2]]))
		if err != nil || !bytes.Equal(got, thumbs[path]) {
			t.Errorf("item %d: thumbnail differs from the one given (%v)", i, err)
		}
	}
	var failed [][]any
	json.Unmarshal(d["failed"], &failed)
	if len(failed) != 1 || failed[0][0] != hostile || failed[0][1] != `cannot decode: "</script>"` || failed[0][2] != nil {
		t.Errorf("failed = %q", failed)
	}
	var h header
	json.Unmarshal(d["h"], &h)
	if h.Kind != "classify" || h.Title != "fashionclip classify" || h.Created != "2026-11-02T10:00:00Z" || h.PageSize != defaultPageSize || h.Cwd == "" {
		t.Errorf("header %+v", h)
	}
}

func TestClassifyThumbnailsRefused(t *testing.T) {
	out := filepath.Join(t.TempDir(), "r.html")
	c, err := NewClassify(out, Options{MaxThumbnailBytes: 2000})
	if err != nil {
		t.Fatal(err)
	}
	var te *ThumbnailError
	for _, th := range [][]byte{[]byte("\x89PNG\r\n\x1a\n...."), append([]byte{0xFF, 0xD8, 0xFF}, make([]byte, 3000)...), {0xFF}} {
		if err := c.Add(Record{Path: "x.jpg", Groups: []Group{{Scores: []Score{{"a", 1}}}}, Thumbnail: th}); !errors.As(err, &te) {
			t.Errorf("thumbnail %q: %v, want a ThumbnailError", th[:min(4, len(th))], err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	html, _ := os.ReadFile(out)
	var items [][]json.RawMessage
	json.Unmarshal(data(t, html)["items"], &items)
	if len(items) != 3 || string(items[0][1]) != "null" {
		t.Errorf("records with refused thumbnails: %d, thumb %s", len(items), items[0][1])
	}
	if bytes.Contains(html, []byte(`class="thumbs"`)) {
		t.Error("a refused thumbnail was written")
	}
}

func TestClassifyAssets(t *testing.T) {
	root := t.TempDir()
	out := filepath.Join(root, "reports", "run 1.html")
	os.MkdirAll(filepath.Dir(out), 0o755)
	assets := filepath.Join(root, "reports", "run 1 files")
	c, err := NewClassify(out, Options{AssetsDir: assets})
	if err != nil {
		t.Fatal(err)
	}
	th := thumbJPEG(t, 10, 10, 1)
	for i := range 5 {
		if err := c.Add(fixtureRecord(t, i, th)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	html, _ := os.ReadFile(out)
	d := data(t, html)
	var h header
	json.Unmarshal(d["h"], &h)
	if h.Assets != "./run%201%20files/" {
		t.Errorf("assets prefix %q", h.Assets)
	}
	var items [][]json.RawMessage
	json.Unmarshal(d["items"], &items)
	var name string
	json.Unmarshal(items[4][1], &name)
	if b, err := os.ReadFile(filepath.Join(assets, name)); err != nil || !bytes.Equal(b, th) {
		t.Errorf("asset %q: %v", name, err)
	}
	if bytes.Contains(html, []byte(`class="thumbs"`)) {
		t.Error("assets mode wrote inline thumbnails")
	}
}

func TestClassifyAbortLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	c, err := NewClassify(filepath.Join(dir, "r.html"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	c.Add(fixtureRecord(t, 1, thumbJPEG(t, 8, 8, 1)))
	c.Abort()
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("Abort left %v", ents)
	}
	if _, err := NewClassify(filepath.Join(dir, "missing", "r.html"), Options{}); err == nil {
		t.Error("a report in a missing folder was started")
	}
}

func TestSearchReport(t *testing.T) {
	out := filepath.Join(t.TempDir(), "s.html")
	hits := []SearchHit{
		{Path: "a.jpg", Score: 0.91234, Thumbnail: thumbJPEG(t, 8, 8, 1)},
		{Text: "red </script> dress", IsText: true, Score: 0.5},
		{Path: "c.jpg", Score: 0.25, Thumbnail: []byte("not a jpeg")},
	}
	err := WriteSearch(out, SearchInfo{Query: `"white sneaker" - logo`, Index: "catalog.idx"}, hits, Options{})
	var te *ThumbnailError
	if !errors.As(err, &te) || te.Path != "c.jpg" {
		t.Errorf("WriteSearch error %v, want a ThumbnailError for c.jpg", err)
	}
	html, _ := os.ReadFile(out)
	if m := externalRef.Find(html); m != nil {
		t.Errorf("report references something outside: %q", m)
	}
	d := data(t, html)
	var q string
	json.Unmarshal(d["query"], &q)
	var got [][]any
	json.Unmarshal(d["hits"], &got)
	if q != `"white sneaker" - logo` || len(got) != 3 || got[0][0] != "a.jpg" || got[0][3] != 0.9123 ||
		got[1][0] != nil || got[1][1] != "red </script> dress" || got[2][2] != nil {
		t.Errorf("query %q hits %v", q, got)
	}
}

func TestRelURL(t *testing.T) {
	for _, c := range []struct{ from, to, want string }{
		{"/a/b", "/a/b", "./"},
		{"/a/b", "/a/b/c d", "./c%20d/"},
		{"/a/b", "/a", "./../"},
		{"/a/b", "/x/y#z", "./../../x/y%23z/"},
	} {
		if got, err := relURL(c.from, c.to); err != nil || got != c.want {
			t.Errorf("relURL(%q, %q) = %q, %v; want %q", c.from, c.to, got, err, c.want)
		}
	}
}

func TestDupesReport(t *testing.T) {
	out := filepath.Join(t.TempDir(), "d.html")
	groups := []DupeGroup{
		{Group: 1, Exact: true, Members: []DupeMember{{Path: "a.jpg", Score: 1}, {Path: "copy/a.jpg", Score: 1}}},
		{Group: 2, MaxDistance: 0.0123, Members: []DupeMember{{Path: "b.jpg", Score: 1}, {Path: "c.jpg", Score: 0.98765}, {Path: "bad.jpg", Score: 0.99}}},
	}
	thumbs := map[string][]byte{"a.jpg": thumbJPEG(t, 8, 8, 1), "copy/a.jpg": thumbJPEG(t, 8, 8, 1), "b.jpg": thumbJPEG(t, 8, 8, 2), "bad.jpg": []byte("not a jpeg")}
	var asked []string
	err := WriteDupes(out, DupesInfo{Index: "catalog.idx", Threshold: 0.97}, groups, func(p string) []byte {
		asked = append(asked, p)
		return thumbs[p]
	}, Options{PageSize: 2})
	var te *ThumbnailError
	if !errors.As(err, &te) || te.Path != "bad.jpg" {
		t.Errorf("WriteDupes error %v, want a ThumbnailError for bad.jpg", err)
	}
	if len(asked) != 5 {
		t.Errorf("thumbnails asked for %v, want every member once", asked)
	}
	html, _ := os.ReadFile(out)
	if m := externalRef.Find(html); m != nil {
		t.Errorf("report references something outside: %q", m)
	}
	d := data(t, html)
	var got [][]any
	json.Unmarshal(d["groups"], &got)
	if len(got) != 2 || got[0][1] != true || got[1][1] != false || got[1][2] != 0.0123 {
		t.Fatalf("groups %v", got)
	}
	m := got[1][3].([]any)
	c := m[1].([]any)
	if len(m) != 3 || c[0] != "c.jpg" || c[1] != nil || c[2] != 0.9877 {
		t.Errorf("members of group 2: %v", m)
	}
	// The first page (2 cards) is in block 0, later thumbnails in block 1.
	first, later := got[0][3].([]any)[0].([]any)[1].([]any), m[0].([]any)[1].([]any)
	if first[0] != 0.0 || later[0] != 1.0 {
		t.Errorf("thumbnail blocks: first %v, later %v", first, later)
	}
}
