package imageproc

import (
	"context"
	"fmt"
	"math"
	"math/rand"
	"testing"
)

func TestBicubicFilter(t *testing.T) {
	tests := []struct{ x, want float64 }{
		{0, 1},
		{0.5, 0.5625},
		{-0.5, 0.5625},
		{1, 0},
		{1.5, -0.0625},
		{-1.5, -0.0625},
		{2, 0},
		{3, 0},
	}
	for _, tc := range tests {
		if got := bicubic(tc.x); got != tc.want {
			t.Errorf("bicubic(%g) = %g, want %g", tc.x, got, tc.want)
		}
	}
}

// Every output's fixed-point weights must add up to 1.0 (2^22) up to the
// rounding of each weight.
func TestAxisWeightsSumToOne(t *testing.T) {
	for _, tc := range [][2]int{{4, 2}, {2, 4}, {1200, 224}, {224, 1200}, {1, 224}, {1600, 298}, {28, 224}, {225, 224}} {
		a := newAxis(tc[0], tc[1], 0, tc[1])
		for i := 0; i < a.n; i++ {
			var sum int64
			for _, k := range a.k[i*a.kstride : (i+1)*a.kstride] {
				sum += int64(k)
			}
			if d := sum - 1<<precisionBits; d < -int64(a.taps[i]) || d > int64(a.taps[i]) {
				t.Fatalf("%v output %d: weights sum to %d", tc, i, sum)
			}
		}
	}
}

// resizeGrey resizes a one-channel image through the package's passes.
func resizeGrey(t *testing.T, in []byte, w, h, ow, oh int) []byte {
	t.Helper()
	rgb := makePix(3 * w * h)
	for i, v := range in {
		rgb[3*i], rgb[3*i+1], rgb[3*i+2] = v, v, v
	}
	ax, ay := newAxis(w, ow, 0, ow), newAxis(h, oh, 0, oh)
	out := makePix(3 * ow * oh)
	if err := resizeCrop(out, plane{pix: rgb, ls: 3 * w, ps: 3}, ax, ay, new(scratch)); err != nil {
		t.Fatal(err)
	}
	grey := make([]byte, ow*oh)
	for i := range grey {
		grey[i] = out[3*i]
		if out[3*i+1] != grey[i] || out[3*i+2] != grey[i] {
			t.Fatalf("channels differ at %d", i)
		}
	}
	return grey
}

// Hand-checked values (and Pillow 9.4's output for the same calls).
func TestResizeHandChecked(t *testing.T) {
	tests := []struct {
		in     []byte
		w, out int
		want   []byte
	}{
		// 4→2: weights 0.4587, 0.4587, 0.1198, -0.0372 → 255*0.0826 = 21.
		{[]byte{0, 0, 255, 255}, 4, 2, []byte{21, 234}},
		// 2→4: output 1 weighs the right pixel 0.2071 → 52.8 → 53.
		{[]byte{0, 255}, 2, 4, []byte{0, 53, 202, 255}},
		{[]byte{0, 0, 0, 255, 255, 255}, 6, 3, []byte{0, 128, 255}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.in, "→", tc.out), func(t *testing.T) {
			// Horizontal and, transposed, vertical.
			if got := resizeGrey(t, tc.in, tc.w, 1, tc.out, 1); string(got) != string(tc.want) {
				t.Errorf("horizontal: got %v, want %v", got, tc.want)
			}
			if got := resizeGrey(t, tc.in, 1, tc.w, 1, tc.out); string(got) != string(tc.want) {
				t.Errorf("vertical: got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestResizeConstantStaysConstant(t *testing.T) {
	sizes := [][4]int{{10, 10, 224, 224}, {1200, 1600, 224, 298}, {3, 700, 224, 52266}, {224, 224, 224, 224}, {500, 224, 500, 224}, {500, 300, 373, 224}, {1, 1, 224, 224}}
	for _, v := range []byte{0, 1, 128, 254, 255} {
		for _, s := range sizes {
			if s[3] > 2000 {
				s[3] = 2000 // keep the test small; still an upscale
			}
			in := make([]byte, s[0]*s[1])
			for i := range in {
				in[i] = v
			}
			for i, got := range resizeGrey(t, in, s[0], s[1], s[2], s[3]) {
				if got != v {
					t.Fatalf("value %d, %v: pixel %d became %d", v, s, i, got)
				}
			}
		}
	}
}

// naiveResize is a direct transcription of Pillow's ImagingResample for the
// whole image, written independently of the package's tables and kernels:
// coefficients in float64, horizontal pass on every row, then vertical.
func naiveResize(src []byte, w, h, ow, oh int) []byte {
	coeffs := func(in, out int) (bounds [][2]int, ks [][]int32) {
		scale := float64(in) / float64(out)
		fs := math.Max(scale, 1)
		support := 2 * fs
		for xx := 0; xx < out; xx++ {
			center := (float64(xx) + 0.5) * scale
			xmin := int(center - support + 0.5)
			if xmin < 0 {
				xmin = 0
			}
			xmax := int(center + support + 0.5)
			if xmax > in {
				xmax = in
			}
			var ws []float64
			sum := 0.0
			for x := xmin; x < xmax; x++ {
				v := bicubic((float64(x) - center + 0.5) / fs)
				ws = append(ws, v)
				sum += v
			}
			k := make([]int32, len(ws))
			for i, v := range ws {
				if sum != 0 {
					v /= sum
				}
				k[i] = int32(math.Copysign(math.Abs(v)*(1<<22)+0.5, v))
			}
			bounds = append(bounds, [2]int{xmin, xmax})
			ks = append(ks, k)
		}
		return bounds, ks
	}
	clip := func(s int32) byte { return byte(min(max(s>>22, 0), 255)) }
	cur, cw, ch := src, w, h
	if ow != w {
		b, ks := coeffs(w, ow)
		next := make([]byte, 3*ow*ch)
		for y := 0; y < ch; y++ {
			for x := 0; x < ow; x++ {
				for c := 0; c < 3; c++ {
					s := int32(1 << 21)
					for i, k := range ks[x] {
						s += int32(cur[3*(y*cw+b[x][0]+i)+c]) * k
					}
					next[3*(y*ow+x)+c] = clip(s)
				}
			}
		}
		cur, cw = next, ow
	}
	if oh != h {
		b, ks := coeffs(h, oh)
		next := make([]byte, 3*cw*oh)
		for y := 0; y < oh; y++ {
			for x := 0; x < cw; x++ {
				for c := 0; c < 3; c++ {
					s := int32(1 << 21)
					for i, k := range ks[y] {
						s += int32(cur[3*((b[y][0]+i)*cw+x)+c]) * k
					}
					next[3*(y*cw+x)+c] = clip(s)
				}
			}
		}
		cur = next
	}
	return cur
}

// transpose applies an EXIF orientation by composing the elementary moves
// (mirror, flip, swap axes), independently of orient().
func transpose(src []byte, w, h, o int) ([]byte, int, int) {
	at := func(x, y int) []byte { return src[3*(y*w+x) : 3*(y*w+x)+3] }
	ow, oh := w, h
	if o >= 5 {
		ow, oh = h, w
	}
	out := make([]byte, 3*ow*oh)
	for y := 0; y < oh; y++ {
		for x := 0; x < ow; x++ {
			sx, sy := x, y
			if o >= 5 { // swap axes first (TRANSPOSE) …
				sx, sy = y, x
			}
			// … then mirror and/or flip the stored image.
			switch o {
			case 2, 6:
				if o == 2 {
					sx = w - 1 - sx
				} else {
					sy = h - 1 - sy
				}
			case 3, 7:
				sx, sy = w-1-sx, h-1-sy
			case 4, 8:
				if o == 4 {
					sy = h - 1 - sy
				} else {
					sx = w - 1 - sx
				}
			}
			copy(out[3*(y*ow+x):], at(sx, sy))
		}
	}
	return out, ow, oh
}

func randomImage(rng *rand.Rand, w, h int) []byte {
	pix := makePix(3 * w * h)
	smooth := rng.Intn(2) == 0
	for i := range pix {
		if smooth {
			x, y := (i/3)%w, (i/3)/w
			pix[i] = byte(128 + 100*math.Sin(float64(x)*0.05+float64(i%3))*math.Cos(float64(y)*0.07))
		} else {
			pix[i] = byte(rng.Intn(256))
		}
	}
	return pix
}

// The package computes only the crop window, reads sources through an
// orientation without copying and runs SIMD kernels; all of it must agree
// bit for bit with the naive whole-image resize followed by a crop.
func TestResizeCropMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	levels := []int{simdLevel()}
	if levels[0] != 0 {
		levels = append(levels, 0)
	}
	defer capSIMD(2)
	type cfgCase struct {
		name string
		cfg  Config
	}
	def := DefaultConfig()
	big := def
	big.CropHeight, big.CropWidth = 260, 240 // crop larger than the short side: padding
	small := def
	small.ShortestEdge, small.CropHeight, small.CropWidth = 64, 48, 56
	noResize := def
	noResize.DoResize = false
	noCrop := def
	noCrop.DoCenterCrop = false
	cfgs := []cfgCase{{"default", def}, {"padded", big}, {"small", small}, {"noresize", noResize}, {"nocrop", noCrop}}
	sizes := [][2]int{{1, 1}, {2, 3}, {28, 28}, {60, 80}, {223, 300}, {224, 224}, {300, 224}, {301, 225}, {512, 230}, {9, 40}}
	for i := 0; i < 4; i++ {
		sizes = append(sizes, [2]int{1 + rng.Intn(300), 1 + rng.Intn(300)})
	}
	for ci, cc := range cfgs {
		p := New(cc.cfg, Options{})
		for si, sz := range sizes {
			if ci > 0 && si%3 != 0 {
				continue // the other configurations on a third of the sizes
			}
			w, h := sz[0], sz[1]
			src := randomImage(rng, w, h)
			for o := 1; o <= 8; o++ {
				if testing.Short() && o != 1 && o != 6 {
					continue
				}
				want := naivePipeline(p, src, w, h, o)
				for _, level := range levels {
					capSIMD(level)
					name := fmt.Sprintf("simd%d/%s/%dx%d/o%d", level, cc.name, w, h, o)
					got, _, err := p.run(context.Background(), nil, &source{w: w, h: h, orientation: o, rgb: &RGB{W: w, H: h, Pix: src}}, nil, Request{})
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					if len(got) != len(want) {
						t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
					}
					for j := range got {
						if got[j] != want[j] {
							t.Fatalf("%s: value %d is %g, want %g", name, j, got[j], want[j])
						}
					}
				}
			}
		}
	}
}

// naivePipeline is the HF pipeline spelled out on whole images.
func naivePipeline(p *Preprocessor, src []byte, w, h, o int) []float32 {
	cfg := p.cfg
	img, w, h := transpose(src, w, h, o)
	rw, rh := w, h
	if cfg.DoResize {
		if w <= h {
			rw, rh = cfg.ShortestEdge, int(float64(cfg.ShortestEdge*h)/float64(w))
		} else {
			rw, rh = int(float64(cfg.ShortestEdge*w)/float64(h)), cfg.ShortestEdge
		}
		img = naiveResize(img, w, h, rw, rh)
	}
	ch, cw := rh, rw
	top, left := 0, 0
	if cfg.DoCenterCrop {
		ch, cw = cfg.CropHeight, cfg.CropWidth
		top = int(math.Floor(float64(rh-ch) / 2))
		left = int(math.Floor(float64(rw-cw) / 2))
	}
	out := make([]float32, 3*ch*cw)
	for c := 0; c < 3; c++ {
		for y := 0; y < ch; y++ {
			for x := 0; x < cw; x++ {
				v := byte(0) // HF pads with zeros before rescaling
				if sy, sx := y+top, x+left; sy >= 0 && sy < rh && sx >= 0 && sx < rw {
					v = img[3*(sy*rw+sx)+c]
				}
				f := float32(v) * float32(cfg.RescaleFactor)
				out[c*ch*cw+y*cw+x] = (f - cfg.Mean[c]) / cfg.Std[c]
			}
		}
	}
	return out
}
