package report

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fashionclip/fashionclip/internal/browsertest"
)

// photoThumb is a thumbnail-sized stand-in for a product photo: a light
// backdrop with a soft shadow, a garment with shading, folds and fabric
// texture, and sensor noise. Its JPEG is about as large as a real product
// photo's at the same size and quality.
func photoThumb(tb testing.TB, w, h, quality int, seed uint64) []byte {
	tb.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	base := [3]float64{60 + rng.Float64()*160, 40 + rng.Float64()*160, 40 + rng.Float64()*160}
	freq := 0.2 + rng.Float64()*0.5
	cx, cy := float64(w)*(0.45+rng.Float64()*0.1), float64(h)*(0.5+rng.Float64()*0.05)
	rx, ry := float64(w)*(0.28+rng.Float64()*0.1), float64(h)*(0.38+rng.Float64()*0.05)
	for y := range h {
		for x := range w {
			dx, dy := (float64(x)-cx)/rx, (float64(y)-cy)/ry
			d := dx*dx + dy*dy
			var c [3]float64
			if d < 1 {
				shade := 0.75 + 0.25*math.Cos(dx*1.4) + 0.08*math.Sin(float64(y)*0.09+dx*3)
				weave := 10 * math.Sin(float64(x)*freq) * math.Sin(float64(y)*freq*1.3)
				for k := range c {
					c[k] = base[k]*shade + weave
				}
			} else {
				bg := 238 - 18*math.Exp(-(d-1)*3)
				c = [3]float64{bg, bg, bg - 3}
			}
			px := color.RGBA{A: 255}
			for k, v := range c {
				v += rng.NormFloat64() * 3
				v = max(0, min(255, v))
				switch k {
				case 0:
					px.R = uint8(v)
				case 1:
					px.G = uint8(v)
				case 2:
					px.B = uint8(v)
				}
			}
			img.SetRGBA(x, y, px)
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// thumbPool is a few distinct thumbnails, reused across records.
func thumbPool(tb testing.TB, n, w, h, quality int) [][]byte {
	pool := make([][]byte, n)
	for i := range pool {
		pool[i] = photoThumb(tb, w, h, quality, uint64(i))
	}
	return pool
}

// BenchmarkClassifyAdd is the writer's cost per record: keeping it, and
// base64-streaming its thumbnail into the report file.
func BenchmarkClassifyAdd(b *testing.B) {
	pool := thumbPool(b, 16, 120, 160, 75)
	recs := make([]Record, 64)
	for i := range recs {
		recs[i] = fixtureRecord(b, i, pool[i%len(pool)])
	}
	c, err := NewClassify(filepath.Join(b.TempDir(), "r.html"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Abort()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := c.Add(recs[i%len(recs)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkClassifyClose is the HTML write at the end for 10,000 records:
// the data block, the script, the rename.
func BenchmarkClassifyClose10k(b *testing.B) {
	thumb := photoThumb(b, 120, 160, 75, 1)
	recs := make([]Record, 10_000)
	for i := range recs {
		recs[i] = fixtureRecord(b, i, thumb)
	}
	dir := b.TempDir()
	for b.Loop() {
		b.StopTimer()
		c, err := NewClassify(filepath.Join(dir, "r.html"), Options{})
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range recs {
			if err := c.Add(r); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapAlloc)/float64(len(recs)), "heap-B/record")
		b.StartTimer()
		if err := c.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReport10kInBrowser writes the report of 10,000 images with
// photo-sized thumbnails and measures it in headless Chromium: file size,
// time from navigation to the first page of cards painted with their
// thumbnails decoded, and the time the filter box and the score slider
// take to show their result (performance.now(), two animation frames).
//
// FASHIONCLIP_REPORT_THUMB=WxH:Q picks the thumbnail size (default 120x160:75).
func BenchmarkReport10kInBrowser(b *testing.B) {
	w, h, q := 120, 160, 75
	if v := os.Getenv("FASHIONCLIP_REPORT_THUMB"); v != "" {
		if _, err := fmt.Sscanf(v, "%dx%d:%d", &w, &h, &q); err != nil {
			b.Fatalf("FASHIONCLIP_REPORT_THUMB=%q: want WxH:Q", v)
		}
	}
	br := browsertest.Start(b, browsertest.Options{Width: 1280, Height: 900})
	pool := thumbPool(b, 64, w, h, q)
	var thumbBytes int
	for _, p := range pool {
		thumbBytes += len(p)
	}
	dir := b.TempDir()
	out := filepath.Join(dir, "report.html")
	c, err := NewClassify(out, Options{})
	if err != nil {
		b.Fatal(err)
	}
	const n = 10_000
	for i := range n {
		if err := c.Add(fixtureRecord(b, i, pool[i%len(pool)])); err != nil {
			b.Fatal(err)
		}
	}
	if err := c.Close(); err != nil {
		b.Fatal(err)
	}
	st, _ := os.Stat(out)
	var paint, load, filter, slider float64
	for b.Loop() {
		tab, err := br.Tab(2 * time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		if err := chromedp.Do(tab.Ctx, chromedp.Navigate(fileURL(out))); err != nil {
			b.Fatal(err)
		}
		// Painted: the first screenful shown with its thumbnails decoded
		// (report.js sets reportPainted), while the bulk may still load.
		if err := tab.Wait("window.reportPainted > 0"); err != nil {
			b.Fatal(err)
		}
		p, err := browsertest.Eval[float64](tab, "window.reportPainted")
		if err != nil {
			b.Fatal(err)
		}
		if err := tab.Wait("document.readyState === 'complete'"); err != nil {
			b.Fatal(err)
		}
		loaded, _ := browsertest.Eval[float64](tab, `performance.getEntriesByType("navigation")[0].loadEventStart`)
		load += loaded
		paint += p
		react := func(js string) float64 {
			ms, err := browsertest.Eval[float64](tab, `(async () => { const t0 = performance.now(); `+js+`
				await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
				if (!document.querySelector("#grid .card")) throw new Error("nothing shown");
				return performance.now() - t0; })()`)
			if err != nil {
				b.Fatal(err)
			}
			return ms
		}
		filter += react(`const f = document.getElementById("filter"); f.value = "sneak"; f.dispatchEvent(new Event("input"));`)
		react(`const f = document.getElementById("filter"); f.value = ""; f.dispatchEvent(new Event("input"));`)
		slider += react(`const s = document.getElementById("minscore"); s.value = 0.5; s.dispatchEvent(new Event("input"));`)
		if pr := tab.Problems(); len(pr) > 0 {
			b.Fatalf("browser console: %q", pr)
		}
		tab.Close()
	}
	runs := float64(b.N)
	b.ReportMetric(float64(st.Size())/1e6, "file-MB")
	b.ReportMetric(float64(thumbBytes)/float64(len(pool)), "thumb-B")
	b.ReportMetric(paint/runs, "paint-ms")
	b.ReportMetric(load/runs, "load-ms")
	b.ReportMetric(filter/runs, "filter-ms")
	b.ReportMetric(slider/runs, "slider-ms")
	b.ReportMetric(0, "ns/op")
}
