package report

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/fashionclip/fashionclip/internal/browsertest"
)

func TestProbe(t *testing.T) {
	br := browsertest.Start(t, browsertest.Options{})
	pool := thumbPool(t, 64, 120, 160, 75)
	out := filepath.Join(t.TempDir(), "report.html")
	c, _ := NewClassify(out, Options{})
	for i := range 10000 {
		c.Add(fixtureRecord(t, i, pool[i%len(pool)]))
	}
	c.Close()
	for i := range 6 {
		hash := []string{"", "#blob"}[i%2]
		tab, _ := br.Tab(2 * time.Minute)
		chromedp.Do(tab.Ctx, chromedp.Navigate(fileURL(out)+hash))
		s, err := browsertest.Eval[string](tab, `(async () => {
			while (document.readyState !== "complete") await new Promise(r => setTimeout(r, 5));
			const n = performance.getEntriesByType("navigation")[0];
			return JSON.stringify({painted: Math.round(window.reportPainted), load: Math.round(n.loadEventStart)});
		})()`)
		t.Log(hash, s, err)
		tab.Close()
	}
}
