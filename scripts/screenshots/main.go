// Command screenshots renders the classify report and the search page in
// headless Chromium (the browser tests' tooling, internal/browsertest) and
// writes them as PNGs for the docs:
//
//	go run ./scripts/screenshots [-out docs]
//
// The report is made from the repository's sample images, copied to a
// catalogue of 48 under a temporary folder, with thumbnails from the
// decoder; its labels follow the file names and its scores are made up (no
// model is needed, so the picture is the same on every machine). The
// search page is served for real: the reference kit's tiny model (or a
// synthetic one without ../shared) embeds the same catalogue into an index,
// and the page searches it. The tiny model's weights are random, so the
// ranking shown means nothing; the page around it is what the picture is for.
package main

import (
	"context"
	"flag"
	"fmt"
	"hash/fnv"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fashionclip/fashionclip/internal/browsertest"
	"github.com/fashionclip/fashionclip/internal/index"
	"github.com/fashionclip/fashionclip/internal/report"
	"github.com/fashionclip/fashionclip/internal/server"
	"github.com/fashionclip/fashionclip/internal/server/modelengine"
	"github.com/fashionclip/fashionclip/internal/synth"
	"github.com/fashionclip/fashionclip/internal/thumbnail"
	"github.com/fashionclip/fashionclip/pkg/fashionclip"
)

func main() {
	out := flag.String("out", "docs", "folder for the PNGs")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "screenshots:", err)
		os.Exit(1)
	}
}

var labels = []string{"dress", "t-shirt", "jeans", "sneaker", "boot", "bag"}

func run(out string) error {
	tmp, err := os.MkdirTemp("", "fashionclip-screenshots-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	catalog, err := makeCatalog(filepath.Join(tmp, "catalog"))
	if err != nil {
		return err
	}
	br, err := browsertest.Launch(browsertest.Options{Width: 1280, Height: 860})
	if err != nil {
		return err
	}
	defer br.Close()

	reportPath := filepath.Join(tmp, "report.html")
	if err := writeReport(reportPath, catalog); err != nil {
		return err
	}
	if err := shoot(br, "file://"+reportPath, "window.reportPainted > 0", "", filepath.Join(out, "report.png")); err != nil {
		return err
	}
	url, stop, err := serveCatalog(tmp, catalog)
	if err != nil {
		return err
	}
	defer stop()
	return shoot(br, url+"/?q="+strings.ReplaceAll("red dress - stripes", " ", "+"),
		`(() => { const imgs = [...document.querySelectorAll("#results .card img")];
			return imgs.length > 0 && imgs.every(i => i.src.startsWith("blob:")); })()`,
		`Promise.all([...document.querySelectorAll("#results img")].map(i => i.decode().catch(() => {})))`,
		filepath.Join(out, "search-page.png"))
}

// makeCatalog copies the sample images to dir/LABEL/NN-NAME, 8 per label.
func makeCatalog(dir string) ([]string, error) {
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	samples, _ := filepath.Glob(filepath.Join(root, "testdata", "images", "*"))
	if len(samples) == 0 {
		return nil, fmt.Errorf("no sample images in %s", filepath.Join(root, "testdata", "images"))
	}
	var paths []string
	for i := range 8 * len(samples) {
		src := samples[i%len(samples)]
		b, err := os.ReadFile(src)
		if err != nil {
			return nil, err
		}
		label := labelOf(src)
		p := filepath.Join(dir, label, fmt.Sprintf("%02d-%s", i/len(samples), filepath.Base(src)))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

func labelOf(path string) string {
	base := filepath.Base(path)
	for _, l := range []string{"dress", "tshirt", "jeans", "sneaker", "boot", "bag"} {
		if strings.Contains(base, l) {
			if l == "tshirt" {
				return "t-shirt"
			}
			return l
		}
	}
	return "bag"
}

// writeReport writes a classify report of the catalogue with made-up,
// deterministic scores peaking at the file's own label.
func writeReport(path string, catalog []string) error {
	w, err := report.NewClassify(path, report.Options{
		Command: "fashionclip classify catalog/ --labels dress,t-shirt,jeans,sneaker,boot,bag --report report.html",
		Groups:  []report.LabelGroup{{Labels: labels}},
	})
	if err != nil {
		return err
	}
	for _, p := range catalog {
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		th, err := thumbnail.FromBytes(data, thumbnail.Options{MaxEdge: 160, Quality: 75})
		if err != nil {
			return err
		}
		if err := w.Add(report.Record{Path: p, Groups: []report.Group{{Scores: madeUpScores(p)}}, Thumbnail: th}); err != nil {
			return err
		}
	}
	w.Add(report.Record{Path: filepath.Join(filepath.Dir(catalog[0]), "truncated.jpg"),
		Err: fmt.Errorf("decode jpeg: premature end of data segment")})
	return w.Close()
}

func madeUpScores(p string) []report.Score {
	h := fnv.New32a()
	h.Write([]byte(p))
	top := 0.55 + float64(h.Sum32()%40)/100
	own := labelOf(p)
	scores := []report.Score{{Label: own, Score: top}}
	rest := (1 - top) / float64(len(labels)-1)
	for i, l := range labels {
		if l != own {
			scores = append(scores, report.Score{Label: l, Score: rest * (1.6 - float64(i)*0.2)})
		}
	}
	return scores
}

// serveCatalog embeds the catalogue into an index and serves it with the
// page, on a loopback port.
func serveCatalog(tmp string, catalog []string) (string, func(), error) {
	root, err := moduleRoot()
	if err != nil {
		return "", nil, err
	}
	modelDir := filepath.Join(filepath.Dir(root), "shared", "reference", "models", "tiny-optimum")
	if _, err := os.Stat(modelDir); err != nil {
		modelDir = filepath.Join(tmp, "tiny")
		if err := synth.Write(modelDir, "combined", synth.Tiny()); err != nil {
			return "", nil, err
		}
	}
	ctx := context.Background()
	rt, err := fashionclip.NewRuntime(fashionclip.RuntimeOptions{Library: os.Getenv("FASHIONCLIP_ORT_LIB")})
	if err != nil {
		return "", nil, err
	}
	m, err := rt.Load(ctx, modelDir, fashionclip.Options{CacheDir: filepath.Join(tmp, "graphs")})
	if err != nil {
		return "", nil, err
	}
	res, err := m.EncodeImageFiles(ctx, catalog)
	if err != nil {
		return "", nil, err
	}
	idx := filepath.Join(tmp, "catalog.idx")
	info := index.ModelInfo{Folder: modelDir, Graph: "screenshots"}
	w, err := index.OpenWriter(idx, index.Options{Model: info})
	if err != nil {
		return "", nil, err
	}
	for _, r := range res {
		if r.Err == nil {
			st, _ := os.Stat(r.Item)
			w.Add(index.Item{Path: r.Item, Size: st.Size(), MTime: st.ModTime()}, r.Embedding)
		}
	}
	if err := w.Close(); err != nil {
		return "", nil, err
	}
	eng, err := modelengine.New(ctx, m)
	if err != nil {
		return "", nil, err
	}
	x, err := server.OpenIndexes([]server.IndexSpec{{Name: "catalog", Dir: idx}}, server.IndexOptions{Model: info})
	if err != nil {
		return "", nil, err
	}
	s, err := server.New(eng, server.Config{Indexes: x, Thumbnails: modelengine.Thumbnails{}})
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { s.Serve(sctx, ln); close(done) }()
	return "http://" + ln.Addr().String(), func() { cancel(); <-done; x.Close(); m.Close(); rt.Close() }, nil
}

// shoot opens url, waits for ready (and then settle, a promise), and saves
// the viewport as a PNG.
func shoot(br *browsertest.Browser, url, ready, settle, png string) error {
	tab, err := br.Tab(2 * time.Minute)
	if err != nil {
		return err
	}
	defer tab.Close()
	if err := chromedp.Do(tab.Ctx, chromedp.Navigate(url)); err != nil {
		return err
	}
	if err := tab.Wait(ready); err != nil {
		return fmt.Errorf("%s: %w", url, err)
	}
	if settle != "" {
		if _, err := browsertest.Eval[chromedp.Void](tab, settle); err != nil {
			return err
		}
	}
	b, err := chromedp.Run(tab.Ctx, chromedp.CaptureScreenshot())
	if err != nil {
		return err
	}
	if p := tab.Problems(); len(p) > 0 {
		return fmt.Errorf("%s: the page logged errors: %q", url, p)
	}
	if err := os.MkdirAll(filepath.Dir(png), 0o755); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "wrote", png)
	return os.WriteFile(png, b, 0o644)
}

// moduleRoot finds the folder holding go.mod from the working folder up.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working folder")
		}
		dir = parent
	}
}
