package browsertest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

func TestTabEvaluatesAndReportsProblems(t *testing.T) {
	b := Start(t, Options{Width: 800, Height: 600})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<!doctype html><title>t</title><p id=p>hello</p><script>
			window.sum = 1 + 2;
			if (location.search === "?boom") { console.error("bad thing"); throw new Error("kaboom"); }
		</script>`)
	}))
	defer ts.Close()

	tab, err := b.Tab(30 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Close()
	if err := chromedp.Do(tab.Ctx, chromedp.Navigate(ts.URL)); err != nil {
		t.Fatal(err)
	}
	if n, err := Eval[int](tab, "window.sum"); err != nil || n != 3 {
		t.Fatalf("window.sum = %d, %v", n, err)
	}
	if s, err := Eval[string](tab, "Promise.resolve(document.getElementById('p').textContent)"); err != nil || s != "hello" {
		t.Fatalf("awaited text = %q, %v", s, err)
	}
	if p := tab.Problems(); len(p) != 0 {
		t.Fatalf("clean page has problems: %q", p)
	}
	if err := chromedp.Do(tab.Ctx, chromedp.Navigate(ts.URL+"?boom")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(tab.Problems()) < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	p := strings.Join(tab.Problems(), "\n")
	if !strings.Contains(p, "bad thing") || !strings.Contains(p, "kaboom") {
		t.Errorf("problems = %q, want the console error and the exception", p)
	}
	png, err := tab.Screenshot(ts.URL, "document.readyState === 'complete'")
	if err != nil || len(png) < 8 || string(png[1:4]) != "PNG" {
		t.Errorf("screenshot: %d bytes, %v", len(png), err)
	}
}
