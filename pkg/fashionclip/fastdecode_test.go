package fashionclip

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/fashionclip/fashionclip/internal/synth"
	"github.com/fashionclip/fashionclip/pkg/imageproc"
)

// TestFastDecodeDeviation measures what --fast-decode changes: pixels against
// the exact path and the embedding's cosine on the tiny reference model. The
// figures are logged (the README quotes them); the bounds catch a broken
// DCT-scaling path, not the expected small drift.
func TestFastDecodeDeviation(t *testing.T) {
	ref, _ := loadReference(t)
	m := loadModel(t, filepath.Join(ref, "models", "tiny-optimum"))
	exact := imageproc.New(m.PreprocessConfig(), imageproc.Options{})
	fast := imageproc.New(m.PreprocessConfig(), imageproc.Options{FastDecode: true})
	big := t.TempDir()
	paths, err := synth.WriteJPEGs(context.Background(), big, 3, 1200, 1600)
	if err != nil {
		t.Fatal(err)
	}
	refJPEGs, _ := filepath.Glob(filepath.Join(ref, "images", "*.jpg"))
	paths = append(paths, refJPEGs...)
	ctx := context.Background()
	for _, p := range paths {
		a, err := exact.File(p)
		if err != nil {
			t.Fatal(err)
		}
		b, err := fast.File(p)
		if err != nil {
			t.Fatal(err)
		}
		var maxd, sum float64
		for i := range a {
			d := math.Abs(float64(a[i] - b[i]))
			maxd = math.Max(maxd, d)
			sum += d
		}
		// Normalised units: one 8-bit level is about 1/(255·0.27) ≈ 0.0146.
		embs, err := m.EncodeImages(ctx, [][]float32{a, b})
		if err != nil {
			t.Fatal(err)
		}
		c := Dot(embs[0], embs[1])
		t.Logf("%-24s max |Δpixel| %.4f (%.1f levels), mean %.5f (%.2f levels), cosine %.6f",
			filepath.Base(p), maxd, maxd*255*0.27, sum/float64(len(a)), sum/float64(len(a))*255*0.27, c)
		if c < 0.99 {
			t.Errorf("%s: fast decode moved the embedding to cosine %.5f", p, c)
		}
	}
}
