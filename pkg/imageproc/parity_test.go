package imageproc

import (
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/fashionclip/fashionclip/internal/testutil"
	"github.com/fashionclip/fashionclip/pkg/npy"
)

func readNPYFile(t *testing.T, path string) ([]float32, []int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data, shape, err := npy.ReadFloat32(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return data, shape
}

func diffStats(a, b []float32) (maxAbs, meanAbs float64) {
	var sum float64
	for i := range a {
		d := math.Abs(float64(a[i]) - float64(b[i]))
		sum += d
		maxAbs = math.Max(maxAbs, d)
	}
	return maxAbs, sum / float64(len(a))
}

// TestReferenceParity compares File with the reference kit's expected
// pixel_values (HF CLIPImageProcessor on Pillow 9.4).
func TestReferenceParity(t *testing.T) {
	ref := testutil.ReferenceDir(t)
	// Bounds per image: exact parity except where DEVIATIONS applies.
	tests := []struct {
		name string
		max  float64
	}{
		{"a_portrait_420.jpg", 1e-6},
		{"b_landscape_444.jpg", 1e-6},
		{"c_progressive.jpg", 1e-6},
		{"d_gray.jpg", 1e-6},
		{"e_cmyk.jpg", 1e-6},
		{"f_exif6.jpg", 1e-6},
		{"g_exif3.jpg", 1e-6},
		{"h_small_60x80.jpg", 1e-6},
		{"i_rgb.png", 1e-6},
		{"j_palette.png", 1e-6},
		{"k_gray16.png", math.Inf(1)}, // DEVIATIONS: see TestGray16Deviation
		{"l_anim.gif", 1e-6},
		{"m_wide_strip.jpg", 1e-6},
		{"n_tall_strip.png", 1e-6},
		{"o_28x28_gray.png", 1e-6},
	}
	p := New(DefaultConfig(), Options{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want, shape := readNPYFile(t, filepath.Join(ref, "expected", "pixels", tc.name+".npy"))
			if len(shape) != 3 || shape[0] != 3 || shape[1] != 224 || shape[2] != 224 {
				t.Fatalf("reference shape %v", shape)
			}
			got, err := p.File(filepath.Join(ref, "images", tc.name))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("got %d values, want %d", len(got), len(want))
			}
			maxAbs, meanAbs := diffStats(got, want)
			t.Logf("max abs diff %.3g, mean abs diff %.3g", maxAbs, meanAbs)
			if maxAbs > tc.max {
				t.Errorf("max abs diff %g above %g", maxAbs, tc.max)
			}
		})
	}
}

// Pillow 9.4 opens 16-bit grey PNGs as mode "I" and its I→RGB conversion
// clips at 255, so the reference for k_gray16.png is a white page. We map
// 16 bits to 8 by rounding v*255/65535 instead (see DEVIATIONS). Check both
// facts: the reference is saturated, and ours is the rounded image.
func TestGray16Deviation(t *testing.T) {
	ref := testutil.ReferenceDir(t)
	path := filepath.Join(ref, "images", "k_gray16.png")
	want, _ := readNPYFile(t, filepath.Join(ref, "expected", "pixels", "k_gray16.png.npy"))
	p := New(DefaultConfig(), Options{})
	plane := len(want) / 3
	for c := 0; c < 3; c++ {
		for _, v := range want[c*plane : (c+1)*plane] {
			if v != p.lut[c][255] {
				t.Fatalf("reference is not saturated white: %g", v)
			}
		}
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	g16, ok := img.(*image.Gray16)
	if !ok {
		t.Fatalf("decoded as %T", img)
	}
	g8 := image.NewGray(g16.Rect)
	for i := range g8.Pix {
		v := float64(uint16(g16.Pix[2*i])<<8 | uint16(g16.Pix[2*i+1]))
		g8.Pix[i] = uint8(math.Round(v * 255 / 65535))
	}
	rounded, err := p.Image(g8)
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.File(path)
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := diffStats(got, rounded); m != 0 {
		t.Errorf("16-bit grey is not the rounded 8-bit image: max diff %g", m)
	}
	m, mean := diffStats(got, want)
	t.Logf("k_gray16.png vs Pillow's saturated reference: max abs %.3g, mean abs %.3g", m, mean)
}
