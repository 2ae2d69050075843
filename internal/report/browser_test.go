package report

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fashionclip/fashionclip/internal/browsertest"
)

func fileURL(path string) string { return (&url.URL{Scheme: "file", Path: path}).String() }

// writeFixtureReport writes n fixture records (and one failure) to a report.
func writeFixtureReport(t testing.TB, dir string, n int, o Options) string {
	t.Helper()
	out := filepath.Join(dir, "report.html")
	c, err := NewClassify(out, o)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := c.Add(fixtureRecord(t, i, thumbJPEG(t, 24, 32, i%7))); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Add(Record{Path: "broken.jpg", Err: fmt.Errorf("broken.jpg: not an image")}); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

type cardInfo struct {
	Path   string `json:"path"`
	Label  string `json:"label"`
	Hidden bool   `json:"hidden"`
}

const cardsJS = `[...document.querySelectorAll("#grid .card")].map(c => ({path: c.dataset.path, label: c.dataset.label,
	hidden: c.offsetParent === null}))`

// cards lists the grid's cards once the page has rendered them all.
func cards(t *testing.T, tab *browsertest.Tab) []cardInfo {
	t.Helper()
	if err := tab.Wait(`window.reportReady === true && !document.querySelector("#grid[data-busy]")`); err != nil {
		t.Fatal(err)
	}
	cs, err := browsertest.Eval[[]cardInfo](tab, cardsJS)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func TestClassifyReportInBrowser(t *testing.T) {
	b := browsertest.Start(t, browsertest.Options{})
	const n = 60
	out := writeFixtureReport(t, t.TempDir(), n, Options{PageSize: 1000})
	tab := b.NewTab(t, time.Minute)
	if err := chromedp.Do(tab.Ctx, chromedp.Navigate(fileURL(out))); err != nil {
		t.Fatal(err)
	}
	if err := tab.Wait("window.reportReady === true"); err != nil {
		t.Fatal(err)
	}

	// One card per image, each with its top label.
	cs := cards(t, tab)
	if len(cs) != n {
		t.Fatalf("%d cards, want %d", len(cs), n)
	}
	seen := map[string]bool{}
	for _, c := range cs {
		var i int
		fmt.Sscanf(filepath.Base(c.Path), "%04d.jpg", &i)
		if want := testLabels[i%4]; c.Label != want {
			t.Errorf("card %s shows top label %q, want %q", c.Path, c.Label, want)
		}
		if c.Hidden {
			t.Errorf("card %s is hidden", c.Path)
		}
		seen[c.Path] = true
	}
	if len(seen) != n {
		t.Errorf("%d distinct cards, want %d", len(seen), n)
	}
	// The first thumbnails are decoded pictures of the right size.
	w, err := browsertest.Eval[int](tab, `(async () => { const img = document.querySelector("#grid .card img");
		for (let i = 0; i < 100 && !img.getAttribute("src"); i++) await new Promise(r => setTimeout(r, 20));
		await img.decode(); return img.naturalWidth; })()`)
	if err != nil || w != 24 {
		t.Errorf("first thumbnail: naturalWidth %d, %v; want 24", w, err)
	}
	// The failure is listed with its error.
	if f, _ := browsertest.Eval[string](tab, `document.getElementById("failed").textContent`); !strings.Contains(f, "broken.jpg: not an image") {
		t.Errorf("failed list %q", f)
	}

	// The filter hides the cards of other labels, and the tabs.
	if _, err := browsertest.Eval[bool](tab, `(() => { const f = document.getElementById("filter"); f.value = "SNEA";
		f.dispatchEvent(new Event("input")); return true; })()`); err != nil {
		t.Fatal(err)
	}
	cs = cards(t, tab)
	if len(cs) != n/4 {
		t.Errorf("filter 'SNEA': %d cards, want %d", len(cs), n/4)
	}
	for _, c := range cs {
		if c.Label != "sneaker" {
			t.Errorf("filter 'SNEA' left a %q card", c.Label)
		}
	}
	tabs, _ := browsertest.Eval[[]string](tab, `[...document.querySelectorAll("#tabs .tab")].map(b => b.dataset.label)`)
	if strings.Join(tabs, ",") != ",sneaker" {
		t.Errorf("tabs under the filter: %q", tabs)
	}

	// A tab shows one label; the minimum score hides low scores.
	browsertest.Eval[bool](tab, `(() => { const f = document.getElementById("filter"); f.value = "";
		f.dispatchEvent(new Event("input")); document.querySelector('#tabs .tab[data-label="boot"]').click(); return true; })()`)
	cs = cards(t, tab)
	if len(cs) != n/4 || cs[0].Label != "boot" {
		t.Errorf("boot tab: %d cards (first %+v)", len(cs), cs[0])
	}
	browsertest.Eval[bool](tab, `(() => { document.querySelector('#tabs .tab[data-label=""]').click();
		const s = document.getElementById("minscore"); s.value = 0.8; s.dispatchEvent(new Event("input")); return true; })()`)
	want := 0
	for i := range n {
		if 0.95-float64(i%40)/50 >= 0.8-1e-9 {
			want++
		}
	}
	if cs = cards(t, tab); len(cs) != want {
		t.Errorf("min score 0.8: %d cards, want %d", len(cs), want)
	}
}

func TestClassifyReportPages(t *testing.T) {
	b := browsertest.Start(t, browsertest.Options{})
	out := writeFixtureReport(t, t.TempDir(), 55, Options{PageSize: 20})
	tab := b.NewTab(t, time.Minute)
	if err := chromedp.Do(tab.Ctx, chromedp.Navigate(fileURL(out))); err != nil {
		t.Fatal(err)
	}
	if err := tab.Wait("window.reportReady === true"); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for page := range 3 {
		cs := cards(t, tab)
		if want := min(20, 55-20*page); len(cs) != want {
			t.Errorf("page %d: %d cards, want %d", page, len(cs), want)
		}
		for _, c := range cs {
			if seen[c.Path] {
				t.Errorf("page %d repeats %s", page, c.Path)
			}
			seen[c.Path] = true
		}
		browsertest.Eval[bool](tab, `(() => { const b = [...document.querySelectorAll("#pager button")].pop(); b.click(); return true; })()`)
	}
	if len(seen) != 55 {
		t.Errorf("the pages showed %d images, want 55", len(seen))
	}
}

func TestAssetsAndSearchReportInBrowser(t *testing.T) {
	b := browsertest.Start(t, browsertest.Options{})
	dir := t.TempDir()
	out := writeFixtureReport(t, dir, 8, Options{AssetsDir: filepath.Join(dir, "report files")})
	tab := b.NewTab(t, time.Minute)
	if err := chromedp.Do(tab.Ctx, chromedp.Navigate(fileURL(out))); err != nil {
		t.Fatal(err)
	}
	if err := tab.Wait("window.reportReady === true"); err != nil {
		t.Fatal(err)
	}
	w, err := browsertest.Eval[int](tab, `(async () => { const img = document.querySelector("#grid .card img");
		for (let i = 0; i < 100 && !img.getAttribute("src"); i++) await new Promise(r => setTimeout(r, 20));
		await img.decode(); return img.naturalWidth; })()`)
	if err != nil || w != 24 {
		t.Errorf("asset thumbnail: naturalWidth %d, %v", w, err)
	}

	sout := filepath.Join(dir, "search.html")
	hits := []SearchHit{{Path: "x/a.jpg", Score: 0.9, Thumbnail: thumbJPEG(t, 16, 8, 2)}, {Text: "a text", IsText: true, Score: 0.5}, {Path: "b.jpg", Score: 0.1}}
	if err := WriteSearch(sout, SearchInfo{Query: "white sneaker", Index: "idx"}, hits, Options{}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(tab.Ctx, chromedp.Navigate(fileURL(sout))); err != nil {
		t.Fatal(err)
	}
	if err := tab.Wait("window.reportReady === true"); err != nil {
		t.Fatal(err)
	}
	got, err := browsertest.Eval[[]string](tab, `[...document.querySelectorAll("#grid .card")].map(c =>
		(c.dataset.path || c.dataset.text) + " " + c.querySelector(".top span").textContent)`)
	if err != nil || strings.Join(got, "|") != "x/a.jpg 0.9000|a text 0.5000|b.jpg 0.1000" {
		t.Errorf("search cards %q, %v", got, err)
	}
}

func TestDupesReportInBrowser(t *testing.T) {
	b := browsertest.Start(t, browsertest.Options{})
	out := filepath.Join(t.TempDir(), "dupes.html")
	groups := []DupeGroup{
		{Group: 1, Exact: true, Members: []DupeMember{{Path: "a.jpg", Score: 1}, {Path: "copy/a.jpg", Score: 1}}},
		{Group: 2, MaxDistance: 0.02, Members: []DupeMember{{Path: "b.jpg", Score: 1}, {Path: "c.jpg", Score: 0.98}, {Path: "d.jpg", Score: 0.985}}},
	}
	// A page of two cards: the later thumbnails load from the bulk blocks.
	thumb := func(string) []byte { return thumbJPEG(t, 16, 8, 3) }
	if err := WriteDupes(out, DupesInfo{Index: "idx", Threshold: 0.97}, groups, thumb, Options{PageSize: 2}); err != nil {
		t.Fatal(err)
	}
	tab := b.NewTab(t, time.Minute)
	if err := chromedp.Do(tab.Ctx, chromedp.Navigate(fileURL(out))); err != nil {
		t.Fatal(err)
	}
	if err := tab.Wait("window.reportReady === true"); err != nil {
		t.Fatal(err)
	}
	got, err := browsertest.Eval[[]string](tab, `[...document.querySelectorAll("section.dupes")].map(s =>
		s.dataset.exact + ":" + [...s.querySelectorAll(".card")].map(c => c.dataset.path).join(","))`)
	if err != nil || strings.Join(got, "|") != "true:a.jpg,copy/a.jpg|false:b.jpg,c.jpg,d.jpg" {
		t.Errorf("sections %q, %v", got, err)
	}
	w, err := browsertest.Eval[int](tab, `(async () => { const imgs = [...document.querySelectorAll("section.dupes img")];
		imgs[imgs.length - 1].scrollIntoView();
		const img = imgs[imgs.length - 1];
		for (let i = 0; i < 200 && !img.getAttribute("src"); i++) await new Promise(r => setTimeout(r, 20));
		await img.decode(); return imgs.length * 1000 + img.naturalWidth; })()`)
	if err != nil || w != 5016 {
		t.Errorf("thumbnails: %d (want 5 images, the last 16 pixels wide), %v", w, err)
	}
}
