package thumbnail

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/fashionclip/fashionclip/internal/testutil"
	"github.com/fashionclip/fashionclip/pkg/imageproc"
)

func TestFit(t *testing.T) {
	for _, c := range []struct{ w, h, edge, ww, wh int }{
		{1200, 1600, 256, 192, 256},
		{1600, 1200, 256, 256, 192},
		{100, 50, 256, 100, 50},
		{5000, 10, 256, 256, 1},
		{10, 5000, 256, 1, 256},
		{300, 300, 256, 256, 256},
	} {
		if w, h := Fit(c.w, c.h, c.edge); w != c.ww || h != c.wh {
			t.Errorf("Fit(%d, %d, %d) = %d×%d, want %d×%d", c.w, c.h, c.edge, w, h, c.ww, c.wh)
		}
	}
}

func encodeJPEG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// halves is a w×h image, red on the left half and blue on the right.
func halves(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{220, 20, 20, 255}
			if x >= w/2 {
				c = color.RGBA{20, 20, 220, 255}
			}
			img.Set(x, y, c)
		}
	}
	return img
}

func decode(t *testing.T, b []byte) image.Image {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("thumbnail is not a JPEG: %v", err)
	}
	return img
}

func near(c color.Color, r, g, b uint8, tol int) bool {
	cr, cg, cb, _ := c.RGBA()
	d := func(a uint32, b uint8) int { return abs(int(a>>8) - int(b)) }
	return d(cr, r) <= tol && d(cg, g) <= tol && d(cb, b) <= tol
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func TestFromBytes(t *testing.T) {
	big := encodeJPEG(t, halves(1200, 1600))
	var pngBuf bytes.Buffer
	png.Encode(&pngBuf, halves(40, 30))
	tests := []struct {
		name   string
		data   []byte
		o      Options
		w, h   int
		errAny bool
	}{
		{"large JPEG", big, Options{}, 192, 256, false},
		{"large JPEG, small edge", big, Options{MaxEdge: 64}, 48, 64, false},
		{"small PNG is not upscaled", pngBuf.Bytes(), Options{}, 40, 30, false},
		{"not an image", []byte("hello"), Options{}, 0, 0, true},
		{"over the pixel budget", big, Options{MaxPixels: 1000}, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := FromBytes(tt.data, tt.o)
			if tt.errAny {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			img := decode(t, b)
			if s := img.Bounds().Size(); s.X != tt.w || s.Y != tt.h {
				t.Fatalf("thumbnail is %v, want %d×%d", s, tt.w, tt.h)
			}
			// Colours survive the averaging: red left, blue right.
			if !near(img.At(2, tt.h/2), 220, 20, 20, 24) || !near(img.At(tt.w-3, tt.h/2), 20, 20, 220, 24) {
				t.Errorf("colours lost: left %v right %v", img.At(2, tt.h/2), img.At(tt.w-3, tt.h/2))
			}
		})
	}
	if n := len(mustThumb(t, big)); n > 12<<10 {
		t.Errorf("a 192×256 thumbnail of a plain image takes %d bytes", n)
	}
}

func mustThumb(t *testing.T, b []byte) []byte {
	t.Helper()
	out, err := FromBytes(b, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The EXIF orientation is applied: the reference kit's orientation-6
// image is stored landscape and shown portrait.
func TestOrientation(t *testing.T) {
	p := filepath.Join(testutil.ReferenceDir(t), "images", "f_exif6.jpg")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Skipf("reference kit image: %v", err)
	}
	rgb, err := imageproc.DecodeRGB(data, imageproc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	img := decode(t, mustThumb(t, data))
	w, h := Fit(rgb.W, rgb.H, DefaultMaxEdge)
	if s := img.Bounds().Size(); s.X != w || s.Y != h {
		t.Errorf("thumbnail %v, want the oriented %d×%d", s, w, h)
	}
}

func TestFromRGBRefusesEmpty(t *testing.T) {
	for _, img := range []*imageproc.RGB{nil, {W: 0, H: 3}, {W: 2, H: 2, Pix: make([]byte, 5)}} {
		if _, err := FromRGB(img, Options{}); err == nil {
			t.Errorf("FromRGB(%+v) accepted", img)
		}
	}
}

func BenchmarkFromBytes1200x1600(b *testing.B) {
	var buf bytes.Buffer
	jpeg.Encode(&buf, halves(1200, 1600), &jpeg.Options{Quality: 90})
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := FromBytes(data, Options{MaxEdge: 192}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestFromFile(t *testing.T) {
	dir := t.TempDir()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 64, 32)), nil); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "a.jpg")
	os.WriteFile(good, buf.Bytes(), 0o644)
	jpg, err := FromFile(context.Background(), good, Options{MaxEdge: 16})
	if err != nil {
		t.Fatal(err)
	}
	if cfg, err := jpeg.DecodeConfig(bytes.NewReader(jpg)); err != nil || cfg.Width != 16 || cfg.Height != 8 {
		t.Errorf("thumbnail %+v, %v", cfg, err)
	}
	if _, err := FromFile(context.Background(), dir, Options{}); !errors.Is(err, imageproc.ErrNotRegular) {
		t.Errorf("a folder: %v", err)
	}
}
