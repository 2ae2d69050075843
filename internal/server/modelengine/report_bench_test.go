package modelengine

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"path/filepath"
	"testing"
	"time"

	"github.com/fashionclip/fashionclip/internal/report"
	"github.com/fashionclip/fashionclip/internal/thumbnail"
	"github.com/fashionclip/fashionclip/pkg/imageproc"
)

// BenchmarkClassifyReportShare puts the costs of `classify --report` side
// by side, per image, in one run: the model's image encode (a batch of 32,
// what classify's pipeline runs), a thumbnail made by a second decode of a
// 1200×1600 JPEG (internal/thumbnail, as the search page does), a thumbnail encoded from the
// 224-short-side image the preprocessing already made (what a thumbnail
// from the same decode costs: what classify --report does), and the report writer's Add. The model is
// FASHIONCLIP_BENCH_MODEL (the synthetic ViT-B/32) or the tiny one.
func BenchmarkClassifyReportShare(b *testing.B) {
	eng := benchEngine(b)
	ctx := context.Background()
	photo := image.NewRGBA(image.Rect(0, 0, 1200, 1600))
	for y := range 1600 {
		for x := range 1200 {
			photo.SetRGBA(x, y, color.RGBA{uint8(x), uint8(y), uint8(x ^ y), 255})
		}
	}
	var jb bytes.Buffer
	jpeg.Encode(&jb, photo, &jpeg.Options{Quality: 90})
	jpg := jb.Bytes()
	px, err := eng.Preprocess(context.Background(), jpg)
	if err != nil {
		b.Fatal(err)
	}
	batch := make([][]float32, 32)
	for i := range batch {
		batch[i] = px
	}
	resized, err := imageproc.DecodeRGB(jpg, imageproc.Options{FastDecode: true})
	if err != nil {
		b.Fatal(err)
	}
	pre := &imageproc.RGB{W: 224, H: 298, Pix: resized.Pix[:224*298*3]} // stands in for the pre-crop resize
	w, err := report.NewClassify(filepath.Join(b.TempDir(), "r.html"), report.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Abort()
	small, _ := thumbnail.FromRGB(pre, thumbnail.Options{MaxEdge: 160, Quality: 75})
	rec := report.Record{Path: "catalog/dresses/000123.jpg", Thumbnail: small,
		Groups: []report.Group{{Scores: []report.Score{{Label: "dress", Score: 0.9}, {Label: "skirt", Score: 0.05}, {Label: "top", Score: 0.05}}}}}
	var enc, second, same, add time.Duration
	for b.Loop() {
		t0 := time.Now()
		if _, err := eng.EncodeImages(ctx, batch); err != nil {
			b.Fatal(err)
		}
		enc += time.Since(t0) / time.Duration(len(batch))
		t0 = time.Now()
		if _, err := thumbnail.FromBytes(jpg, thumbnail.Options{MaxEdge: 160, Quality: 75}); err != nil {
			b.Fatal(err)
		}
		second += time.Since(t0)
		t0 = time.Now()
		if _, err := thumbnail.FromRGB(pre, thumbnail.Options{MaxEdge: 160, Quality: 75}); err != nil {
			b.Fatal(err)
		}
		same += time.Since(t0)
		t0 = time.Now()
		if err := w.Add(rec); err != nil {
			b.Fatal(err)
		}
		add += time.Since(t0)
	}
	n := float64(b.N)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / n }
	b.ReportMetric(ms(enc), "encode-ms/img")
	b.ReportMetric(ms(second), "thumb-2nd-decode-ms/img")
	b.ReportMetric(ms(same), "thumb-same-decode-ms/img")
	b.ReportMetric(ms(add), "writer-ms/img")
	b.ReportMetric(0, "ns/op")
}
