package imageproc

import (
	"math"
	"testing"
)

// smoothRGB draws a smooth synthetic w×h pattern (gradients and low
// frequencies, like a product photo's background and shading).
func smoothRGB(w, h int) []byte {
	pix := make([]byte, 3*w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			fx, fy := float64(x)/float64(w), float64(y)/float64(h)
			i := 3 * (y*w + x)
			pix[i] = byte(127 + 120*math.Sin(6*fx+2*fy))
			pix[i+1] = byte(255 * fy)
			pix[i+2] = byte(127 + 120*math.Cos(9*fx*fy+3*fy))
		}
	}
	return pix
}

func benchJPEG(b *testing.B, fast bool) {
	data, err := encodeJPEG(smoothRGB(1200, 1600), 1200, 1600, 3, jpegOptions{quality: 90, hs: 2, vs: 2})
	if err != nil {
		b.Fatal(err)
	}
	p := New(DefaultConfig(), Options{FastDecode: fast})
	dst := make([]float32, p.PixelCount())
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := p.BytesInto(dst, data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPreprocessJPEG1200x1600 is the exact path end to end: decode,
// resize, crop, normalise.
func BenchmarkPreprocessJPEG1200x1600(b *testing.B) { benchJPEG(b, false) }

// BenchmarkPreprocessJPEG1200x1600Fast uses DCT-domain downscaling.
func BenchmarkPreprocessJPEG1200x1600Fast(b *testing.B) { benchJPEG(b, true) }
