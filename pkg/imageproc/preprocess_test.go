package imageproc

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/png"
	"sync"
	"testing"
)

func TestResizedSize(t *testing.T) {
	tests := []struct{ w, h, rw, rh int }{
		{1200, 1600, 224, 298}, // int(224*1600/1200) = int(298.67)
		{1600, 1200, 298, 224},
		{60, 80, 224, 298},
		{640, 640, 224, 224},
		{1600, 300, 1194, 224}, // 1194.67
		{240, 1500, 224, 1400},
		{3, 700, 224, 52266},
		{224, 225, 224, 225},
	}
	for _, tc := range tests {
		if rw, rh := resizedSize(tc.w, tc.h, 224); rw != tc.rw || rh != tc.rh {
			t.Errorf("%dx%d: got %dx%d, want %dx%d", tc.w, tc.h, rw, rh, tc.rw, tc.rh)
		}
	}
}

func TestPixelCountAndBytesInto(t *testing.T) {
	p := New(DefaultConfig(), Options{})
	if got := p.PixelCount(); got != 3*224*224 {
		t.Fatalf("PixelCount = %d", got)
	}
	data := smallJPEG(t)
	want, err := p.Bytes(data)
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]float32, p.PixelCount())
	if err := p.BytesInto(dst, data); err != nil {
		t.Fatal(err)
	}
	if m, _ := diffStats(dst, want); m != 0 {
		t.Errorf("BytesInto differs from Bytes by %g", m)
	}
	for _, n := range []int{0, 10, p.PixelCount() + 1} {
		if err := p.BytesInto(make([]float32, n), data); err == nil {
			t.Errorf("BytesInto accepted %d values", n)
		}
	}
	noCrop := DefaultConfig()
	noCrop.DoCenterCrop = false
	pn := New(noCrop, Options{})
	if pn.PixelCount() != 0 {
		t.Error("PixelCount must be 0 when the shape depends on the image")
	}
	got, err := pn.Bytes(data) // 64×48 → 298×224
	if err != nil || len(got) != 3*298*224 {
		t.Fatalf("no crop: %d values, %v", len(got), err)
	}
}

// With no resize, a 6×6 crop of a 2×2 image pads as HF's center_crop does:
// offsets floor((2-6)/2) = -2, so the image lands at rows and columns 2..3
// and the rest is pixel value 0 before rescaling.
func TestCropPadding(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DoResize = false
	cfg.CropHeight, cfg.CropWidth = 6, 5 // width: floor((2-5)/2) = -2 too
	p := New(cfg, Options{})
	img := image.NewGray(image.Rect(0, 0, 2, 2))
	img.Pix = []byte{255, 255, 255, 255}
	got, err := p.Image(img)
	if err != nil {
		t.Fatal(err)
	}
	for c := 0; c < 3; c++ {
		white, black := p.lut[c][255], p.lut[c][0]
		for y := 0; y < 6; y++ {
			for x := 0; x < 5; x++ {
				want := black
				if y >= 2 && y < 4 && x >= 2 && x < 4 {
					want = white
				}
				if v := got[c*30+y*5+x]; v != want {
					t.Fatalf("channel %d (%d,%d) = %g, want %g", c, x, y, v, want)
				}
			}
		}
	}
}

// Values from numpy: (np.float32(v)*np.float32(1/255) - mean) / std, all
// float32, which is what the reference kit used.
func TestNormalisationValues(t *testing.T) {
	p := New(DefaultConfig(), Options{})
	tests := []struct {
		c    int
		v    int
		want float32
	}{
		{0, 0, -1.7922626},
		{0, 255, 1.9303361},
		{1, 128, 0.16889732},
		{2, 255, 2.145897},
		{2, 77, -0.38527465},
	}
	for _, tc := range tests {
		if got := p.lut[tc.c][tc.v]; got != tc.want {
			t.Errorf("channel %d value %d → %.8g, want %.8g", tc.c, tc.v, got, tc.want)
		}
	}
	raw := DefaultConfig()
	raw.DoRescale, raw.DoNormalize = false, false
	if got := New(raw, Options{}).lut[1][200]; got != 200 {
		t.Errorf("without rescale and normalise 200 → %g", got)
	}
}

// An in-memory greyscale image (e.g. Fashion-MNIST) must preprocess exactly
// like the same pixels read from a PNG file.
func TestImageMatchesFile(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 28, 28))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 13)
	}
	p := New(DefaultConfig(), Options{})
	fromImage, err := p.Image(img)
	if err != nil {
		t.Fatal(err)
	}
	fromFile, err := p.File(writeFixture(t, "mnist.png", encodePNG(t, img)))
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := diffStats(fromImage, fromFile); m != 0 {
		t.Errorf("Image and File differ by %g", m)
	}
	if _, err := p.Image(nil); err == nil {
		t.Error("nil image accepted")
	}
}

func TestConcurrentUse(t *testing.T) {
	var inputs [][]byte
	for i, sz := range [][2]int{{300, 500}, {640, 200}, {90, 90}, {1000, 1001}} {
		data, err := encodeJPEG(smoothRGB(sz[0], sz[1]), sz[0], sz[1], 3, jpegOptions{quality: 80, hs: 2, vs: 2, app1: exifAPP1(binary.BigEndian, 1+i*2)})
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, data)
	}
	inputs = append(inputs, encodePNG(t, image.NewGray(image.Rect(0, 0, 50, 70))))
	p := New(DefaultConfig(), Options{})
	want := make([][]float32, len(inputs))
	for i, in := range inputs {
		var err error
		if want[i], err = p.Bytes(in); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			dst := make([]float32, p.PixelCount())
			for r := 0; r < 6; r++ {
				i := (g + r) % len(inputs)
				if err := p.BytesInto(dst, inputs[i]); err != nil {
					errs <- err
					return
				}
				if m, _ := diffStats(dst, want[i]); m != 0 {
					errs <- fmt.Errorf("goroutine %d input %d differs by %g", g, i, m)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestFastDecode(t *testing.T) {
	pix := smoothRGB(1200, 1600)
	tests := []struct {
		name         string
		w, h, o      int
		wantW, wantH int
	}{
		{"portrait /4", 1200, 1600, 1, 300, 400},
		{"rotated /4", 1200, 1600, 6, 400, 300},
		{"/2", 600, 500, 1, 300, 250},
		{"/8", 1800, 2000, 1, 225, 250},
		{"too small to shrink", 300, 400, 1, 300, 400},
		{"odd sizes round up", 455, 1001, 1, 228, 501},
	}
	exact := New(DefaultConfig(), Options{})
	fast := New(DefaultConfig(), Options{FastDecode: true})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := pix
			if tc.w != 1200 || tc.h != 1600 {
				src = smoothRGB(tc.w, tc.h)
			}
			data, err := encodeJPEG(src, tc.w, tc.h, 3, jpegOptions{quality: 90, hs: 2, vs: 2, app1: exifAPP1(binary.LittleEndian, tc.o)})
			if err != nil {
				t.Fatal(err)
			}
			rgb, err := DecodeRGB(data, Options{FastDecode: true})
			if err != nil {
				t.Fatal(err)
			}
			if rgb.W != tc.wantW || rgb.H != tc.wantH {
				t.Fatalf("fast decode gave %dx%d, want %dx%d", rgb.W, rgb.H, tc.wantW, tc.wantH)
			}
			a, err := exact.Bytes(data)
			if err != nil {
				t.Fatal(err)
			}
			b, err := fast.Bytes(data)
			if err != nil {
				t.Fatal(err)
			}
			m, mean := diffStats(a, b)
			t.Logf("fast vs exact: max %.3g, mean %.3g", m, mean)
			if tc.wantW == tc.w && tc.wantH == tc.h && m != 0 {
				t.Errorf("no shrinking, yet the result differs by %g", m)
			}
			if mean > 0.02 || m > 0.5 {
				t.Errorf("fast decode too far from exact: max %g, mean %g", m, mean)
			}
		})
	}
	// PNG input ignores FastDecode.
	png := encodePNG(t, image.NewGray(image.Rect(0, 0, 900, 900)))
	a, _ := exact.Bytes(png)
	b, _ := fast.Bytes(png)
	if !bytes.Equal(f32bytes(a), f32bytes(b)) {
		t.Error("FastDecode changed a PNG")
	}
}

func f32bytes(v []float32) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, v)
	return b.Bytes()
}

func TestReuseKeepsStorageWhenLargeEnough(t *testing.T) {
	p := New(DefaultConfig(), Options{})
	data := encodeTestPNG(t, 40, 30)
	want, err := p.Bytes(data)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		dst       []float32
		sameStore bool
	}{
		{"nil", nil, false},
		{"too small", make([]float32, 10), false},
		{"recycled, length 0", make([]float32, 0, p.PixelCount()), true},
	}
	for _, c := range cases {
		got, err := p.Reuse(c.dst, data)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) || got[0] != want[0] || got[len(got)-1] != want[len(want)-1] {
			t.Fatalf("%s: tensor differs from Bytes", c.name)
		}
		if same := cap(c.dst) > 0 && &got[0] == &c.dst[:1][0]; same != c.sameStore {
			t.Fatalf("%s: reused storage = %v, want %v", c.name, same, c.sameStore)
		}
	}
}

func encodeTestPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
