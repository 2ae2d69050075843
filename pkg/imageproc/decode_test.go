package imageproc

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

func TestSniff(t *testing.T) {
	tests := []struct {
		data []byte
		want format
	}{
		{[]byte{0xFF, 0xD8, 0xFF, 0xE0}, fmtJPEG},
		{[]byte("\x89PNG\r\n\x1a\n...."), fmtPNG},
		{[]byte("GIF87a..."), fmtGIF},
		{[]byte("GIF89a..."), fmtGIF},
		{[]byte("RIFF\x00\x00\x00\x00WEBPVP8 "), fmtWebP},
		{[]byte("RIFF\x00\x00\x00\x00WAVEfmt "), ""},
		{[]byte("BM\x00\x00"), fmtBMP},
		{[]byte("II*\x00\x08\x00\x00\x00"), fmtTIFF},
		{[]byte("MM\x00*\x00\x00\x00\x08"), fmtTIFF},
		{[]byte{0xFF, 0xD8}, ""},
		{[]byte("<svg></svg>"), ""},
		{nil, ""},
	}
	for _, tc := range tests {
		if got := sniff(tc.data); got != tc.want {
			t.Errorf("sniff(%q) = %q, want %q", tc.data, got, tc.want)
		}
	}
}

// lzwLiterals encodes indices as GIF LZW using only literal codes, with a
// clear code every two pixels so the code width stays at litWidth+1.
func lzwLiterals(idx []byte, litWidth int) []byte {
	clear, eoi, width := 1<<litWidth, 1<<litWidth+1, litWidth+1
	var codes []int
	for i := 0; i < len(idx); i += 2 {
		codes = append(codes, clear)
		for _, v := range idx[i:min(i+2, len(idx))] {
			codes = append(codes, int(v))
		}
	}
	codes = append(codes, eoi)
	var out []byte
	var acc, n uint
	for _, c := range codes {
		acc |= uint(c) << n
		n += uint(width)
		for n >= 8 {
			out = append(out, byte(acc))
			acc >>= 8
			n -= 8
		}
	}
	if n > 0 {
		out = append(out, byte(acc))
	}
	return out
}

// craftGIF writes a one-frame GIF89a by hand, to reach cases encoders avoid.
func craftGIF(canvasW, canvasH int, palette []byte, transparent int, x0, y0, w, h int, idx []byte) []byte {
	var b bytes.Buffer
	b.WriteString("GIF89a")
	flags := byte(0)
	if palette != nil {
		bits := 0
		for 3<<(bits+1) < len(palette) {
			bits++
		}
		flags = 0x80 | byte(bits)
		for len(palette) < 3<<(bits+1) {
			palette = append(palette, 0)
		}
	}
	binary.Write(&b, binary.LittleEndian, []uint16{uint16(canvasW), uint16(canvasH)})
	b.Write([]byte{flags, 0, 0})
	b.Write(palette)
	b.Write([]byte{0x21, 0xFE, 3, 'h', 'i', '!', 0}) // a comment to skip
	if transparent >= 0 {
		b.Write([]byte{0x21, 0xF9, 4, 1, 0, 0, byte(transparent), 0})
	}
	b.WriteByte(',')
	binary.Write(&b, binary.LittleEndian, []uint16{uint16(x0), uint16(y0), uint16(w), uint16(h)})
	b.WriteByte(0)
	b.WriteByte(2)
	data := lzwLiterals(idx, 2)
	for len(data) > 0 {
		n := min(len(data), 255)
		b.WriteByte(byte(n))
		b.Write(data[:n])
		data = data[n:]
	}
	b.Write([]byte{0, ';'})
	return b.Bytes()
}

// Expected pixels are Pillow 9.4's for the same files: the canvas is filled
// with the transparent index (else index 0), the transparent index keeps its
// palette colour, indices past a short palette are grey levels, and a frame
// sticking out of the logical screen grows the canvas.
func TestGIFFirstFrame(t *testing.T) {
	pal := []byte{10, 20, 30, 40, 50, 60}
	a, b := "\x0a\x14\x1e", "\x28\x32\x3c"
	tests := []struct {
		name string
		data []byte
		w, h int
		want string // packed RGB
	}{
		{"short palette", craftGIF(2, 2, pal, -1, 0, 0, 2, 2, []byte{0, 1, 2, 3}), 2, 2,
			a + b + "\x02\x02\x02" + "\x03\x03\x03"},
		{"offset frame over transparent fill", craftGIF(4, 3, pal, 1, 1, 1, 2, 2, []byte{0, 1, 2, 3}), 4, 3,
			b + b + b + b + b + a + b + b + b + "\x02\x02\x02" + "\x03\x03\x03" + b},
		{"frame grows canvas", craftGIF(2, 2, pal, -1, 1, 1, 2, 1, []byte{1, 1}), 3, 2,
			a + a + a + a + b + b},
		{"no palette", craftGIF(2, 1, nil, -1, 0, 0, 2, 1, []byte{0, 3}), 2, 1,
			"\x00\x00\x00\x03\x03\x03"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeRGB(tc.data, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got.W != tc.w || got.H != tc.h || string(got.Pix) != tc.want {
				t.Errorf("got %dx%d %v, want %dx%d %v", got.W, got.H, got.Pix, tc.w, tc.h, []byte(tc.want))
			}
		})
	}
}

func TestGIFAnimationFirstFrameAndInterlace(t *testing.T) {
	pal := color.Palette{color.RGBA{255, 0, 0, 255}, color.RGBA{0, 0, 255, 255}, color.RGBA{0, 255, 0, 255}}
	f1 := image.NewPaletted(image.Rect(0, 0, 5, 11), pal)
	for i := range f1.Pix {
		f1.Pix[i] = byte(i % 2)
	}
	f2 := image.NewPaletted(image.Rect(0, 0, 5, 11), pal)
	for i := range f2.Pix {
		f2.Pix[i] = 2
	}
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, &gif.GIF{Image: []*image.Paletted{f1, f2}, Delay: []int{10, 10}}); err != nil {
		t.Fatal(err)
	}
	got, err := DecodeRGB(buf.Bytes(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 55; i++ {
		want := []byte{255, 0, 0}
		if i%2 == 1 {
			want = []byte{0, 0, 255}
		}
		if !bytes.Equal(got.Pix[3*i:3*i+3], want) {
			t.Fatalf("pixel %d = %v, want %v (first frame)", i, got.Pix[3*i:3*i+3], want)
		}
	}
	// Interlaced rows arrive in passes 0,8 / 4 / 2,6,10 / 1,3,5,7,9.
	idx := make([]byte, 11)
	order := []int{0, 8, 4, 2, 6, 10, 1, 3, 5, 7, 9}
	for i, row := range order {
		idx[i] = byte(row % 4)
	}
	data := craftGIF(1, 11, []byte{0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3}, -1, 0, 0, 1, 11, idx)
	data[len(data)-len(lzwLiterals(idx, 2))-5] |= 0x40 // descriptor flags: interlaced
	got, err = DecodeRGB(data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for y := 0; y < 11; y++ {
		if got.Pix[3*y] != byte(y%4) {
			t.Fatalf("interlaced row %d holds %d", y, got.Pix[3*y])
		}
	}
}

func TestToRGBConversions(t *testing.T) {
	gray := image.NewGray(image.Rect(0, 0, 2, 1))
	gray.Pix = []byte{7, 250}
	gray16 := image.NewGray16(image.Rect(0, 0, 3, 1))
	// 128/257 rounds down, 129/257 up, 65535 is 255: v*255/65535 rounded.
	gray16.Pix = []byte{0, 128, 0, 129, 0xFF, 0xFF}
	nrgba := image.NewNRGBA(image.Rect(0, 0, 1, 1))
	nrgba.Pix = []byte{200, 100, 50, 0} // fully transparent: colour kept, alpha dropped
	pal := image.NewPaletted(image.Rect(0, 0, 3, 1), color.Palette{color.NRGBA{9, 8, 7, 0}, color.RGBA{1, 2, 3, 255}})
	pal.Pix = []byte{0, 1, 5}
	cmyk := image.NewCMYK(image.Rect(0, 0, 2, 1))
	cmyk.Pix = []byte{100, 50, 200, 30, 10, 20, 30, 200} // Pillow: (137,181,49), (53,51,49)
	sub := image.NewGray(image.Rect(0, 0, 4, 4))
	sub.Pix[5], sub.Pix[6] = 77, 88
	tests := []struct {
		name    string
		img     image.Image
		plteLen int
		want    []byte
	}{
		{"gray", gray, 256, []byte{7, 7, 7, 250, 250, 250}},
		{"gray16", gray16, 256, []byte{0, 0, 0, 1, 1, 1, 255, 255, 255}},
		{"nrgba", nrgba, 256, []byte{200, 100, 50}},
		{"paletted beyond PLTE", pal, 2, []byte{9, 8, 7, 1, 2, 3, 5, 5, 5}},
		{"cmyk", cmyk, 256, []byte{137, 181, 49, 53, 51, 49}},
		{"sub-image", sub.SubImage(image.Rect(1, 1, 3, 2)), 256, []byte{77, 77, 77, 88, 88, 88}},
	}
	for _, tc := range tests {
		if got := toRGB(tc.img, tc.plteLen, false); !bytes.Equal(got.Pix, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got.Pix, tc.want)
		}
	}
}

// A flat 4-component JPEG at quality 100 decodes to its exact samples, so
// the CMYK→RGB step can be checked against Pillow's integer formula on
// Adobe-inverted samples.
func TestCMYKJPEG(t *testing.T) {
	for _, ycck := range []bool{false, true} {
		for _, c := range [][4]byte{{255, 255, 255, 255}, {0, 0, 0, 0}, {155, 205, 55, 225}, {245, 235, 225, 55}} {
			const w, h = 16, 16
			pix := bytes.Repeat(c[:], w*h)
			data, err := encodeJPEG(pix, w, h, 4, jpegOptions{quality: 100, hs: 1, vs: 1, ycck: ycck})
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeRGB(data, Options{})
			if err != nil {
				t.Fatal(err)
			}
			k := int(c[3])
			want := []byte{byte(k - muldiv255(255-int(c[0]), k)), byte(k - muldiv255(255-int(c[1]), k)), byte(k - muldiv255(255-int(c[2]), k))}
			if ycck {
				// YCCK round-trips only approximately through the colour
				// transform; allow one level.
				for i := range want {
					if d := int(got.Pix[i]) - int(want[i]); d < -2 || d > 2 {
						t.Errorf("YCCK %v: got %v, want about %v", c, got.Pix[:3], want)
					}
				}
				continue
			}
			if !bytes.Equal(got.Pix[:3], want) || !bytes.Equal(got.Pix[3*(w*h-1):], want) {
				t.Errorf("CMYK %v: got %v, want %v", c, got.Pix[:3], want)
			}
		}
	}
}

func TestWebPFixtures(t *testing.T) {
	read := func(name string) *RGB {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		rgb, err := DecodeRGB(data, Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return rgb
	}
	ref := read("pattern.png")
	if got := read("pattern_lossless.webp"); !bytes.Equal(got.Pix, ref.Pix) {
		t.Error("lossless WebP differs from the PNG of the same pixels")
	}
	// Lossy WebP: the libwebp-style YCbCr→RGB must give Pillow's pixels.
	got, pillow := read("pattern_lossy.webp"), read("pattern_lossy_pillow.png")
	if !bytes.Equal(got.Pix, pillow.Pix) {
		diff := 0
		for i := range got.Pix {
			if got.Pix[i] != pillow.Pix[i] {
				diff++
			}
		}
		t.Errorf("lossy WebP: %d of %d samples differ from Pillow's decode", diff, len(got.Pix))
	}
}

func TestBMPAndTIFF(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 7, 5))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 37)
		if i%4 == 3 {
			img.Pix[i] = 255
		}
	}
	want := toRGB(img, 256, false).Pix
	var b, tf bytes.Buffer
	if err := bmp.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if err := tiff.Encode(&tf, img, nil); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"bmp": b.Bytes(), "tiff": tf.Bytes()} {
		got, err := DecodeRGB(data, Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(got.Pix, want) {
			t.Errorf("%s: pixels differ", name)
		}
	}
}

// writeFixture stores data in a temporary file and returns its path.
func writeFixture(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func smallJPEG(t testing.TB) []byte {
	t.Helper()
	data, err := encodeJPEG(smoothRGB(64, 48), 64, 48, 3, jpegOptions{quality: 90, hs: 2, vs: 2})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// pngHeaderOnly claims a size in IHDR and holds no pixel data.
func pngHeaderOnly(w, h uint32) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2
	return bytes.Join([][]byte{[]byte("\x89PNG\r\n\x1a\n"), pngChunk("IHDR", ihdr), pngChunk("IEND", nil)}, nil)
}

// jpegWithSize rewrites the SOF dimensions of a JPEG.
func jpegWithSize(t *testing.T, data []byte, w, h uint16) []byte {
	out := append([]byte(nil), data...)
	for i := 2; i+9 < len(out); {
		m := out[i+1]
		if m == 0xC0 || m == 0xC2 {
			binary.BigEndian.PutUint16(out[i+5:], h)
			binary.BigEndian.PutUint16(out[i+7:], w)
			return out
		}
		i += 2 + int(binary.BigEndian.Uint16(out[i+2:]))
	}
	t.Fatal("no SOF")
	return nil
}

func TestDecodeErrors(t *testing.T) {
	jpg := smallJPEG(t)
	pngData := encodePNG(t, image.NewGray(image.Rect(0, 0, 40, 30)))
	gifData := craftGIF(20, 20, []byte{1, 2, 3, 4, 5, 6}, -1, 0, 0, 20, 20, make([]byte, 400))
	bombGIF := craftGIF(65535, 65535, []byte{1, 2, 3}, -1, 0, 0, 1, 1, []byte{0})
	tests := []struct {
		name   string
		data   []byte
		opts   Options
		is     error  // errors.Is target, if any
		substr string // in the message
	}{
		{"empty", nil, Options{}, nil, "empty"},
		{"text", []byte("hello, world"), Options{}, ErrUnsupportedFormat, "unsupported"},
		{"random", bytes.Repeat([]byte{0x5A, 0x17, 0x99}, 100), Options{}, ErrUnsupportedFormat, ""},
		{"jpeg magic only", []byte{0xFF, 0xD8, 0xFF}, Options{}, nil, "jpeg"},
		{"jpeg truncated in headers", jpg[:300], Options{}, errTruncated, "truncated"},
		{"jpeg truncated in scan", jpg[:len(jpg)*3/4], Options{}, errTruncated, "truncated"},
		{"jpeg without EOI", jpg[:len(jpg)-2], Options{}, errTruncated, "truncated"},
		{"jpeg bomb", jpegWithSize(t, jpg, 60000, 60000), Options{}, ErrTooLarge, "60000x60000 = 3600000000 pixels"},
		{"png bomb", pngHeaderOnly(100000, 100000), Options{}, ErrTooLarge, "100000x100000"},
		{"gif bomb", bombGIF, Options{}, ErrTooLarge, "65535x65535"},
		{"custom limit", pngData, Options{MaxPixels: 1000}, ErrTooLarge, "above the limit of 1000"},
		{"truncated png", pngData[:len(pngData)-20], Options{}, nil, "png"},
		{"png header only", pngHeaderOnly(10, 10), Options{}, nil, "png"},
		{"truncated gif", gifData[:len(gifData)/2], Options{}, errTruncated, "truncated"},
		{"zero-size png", pngHeaderOnly(0, 5), Options{}, nil, "png"},
	}
	p := New(DefaultConfig(), Options{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFixture(t, "input.bin", tc.data)
			pp := p
			if tc.opts != (Options{}) {
				pp = New(DefaultConfig(), tc.opts)
			}
			_, err := pp.File(path)
			if err == nil {
				t.Fatal("no error")
			}
			var de *DecodeError
			if !errors.As(err, &de) || de.Path != path {
				t.Fatalf("error %v (%T) does not carry the path", err, err)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("message %q does not name the file", err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.substr) {
				t.Errorf("message %q lacks %q", err, tc.substr)
			}
			if _, err := DecodeRGB(tc.data, tc.opts); err == nil {
				t.Error("DecodeRGB accepted it")
			}
		})
	}
	t.Run("limit disabled", func(t *testing.T) {
		if _, err := New(DefaultConfig(), Options{MaxPixels: -1}).Bytes(pngData); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		_, err := p.File(filepath.Join(t.TempDir(), "nope.jpg"))
		var de *DecodeError
		if !errors.As(err, &de) || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "nope.jpg") {
			t.Fatalf("got %v", err)
		}
	})
}

// Truncated and bit-flipped variants of valid files of every format must
// give errors or pixels, never a panic or a crash in C.
func TestMangledInputNeverPanics(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	prog, err := encodeJPEG(smoothRGB(40, 30), 40, 30, 3, jpegOptions{quality: 80, hs: 2, vs: 1, progressive: true})
	if err != nil {
		t.Fatal(err)
	}
	gray, err := encodeJPEG(smoothRGB(40, 30)[:1200], 40, 30, 1, jpegOptions{quality: 80})
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewNRGBA(image.Rect(0, 0, 20, 15))
	for i := range img.Pix {
		img.Pix[i] = byte(rng.Intn(256))
	}
	var bb, tb bytes.Buffer
	bmp.Encode(&bb, img)
	tiff.Encode(&tb, img, &tiff.Options{Compression: tiff.Deflate})
	webp, _ := os.ReadFile(filepath.Join("testdata", "pattern_lossy.webp"))
	webpLL, _ := os.ReadFile(filepath.Join("testdata", "pattern_lossless.webp"))
	inputs := map[string][]byte{
		"jpeg": smallJPEG(t), "progressive": prog, "grey": gray, "png": encodePNG(t, img),
		"gif": craftGIF(9, 9, []byte{1, 2, 3, 4, 5, 6}, 0, 1, 1, 7, 7, make([]byte, 49)),
		"bmp": bb.Bytes(), "tiff": tb.Bytes(), "webp": webp, "webp-lossless": webpLL,
	}
	p := New(DefaultConfig(), Options{})
	for name, data := range inputs {
		for i := 0; i < 150; i++ {
			m := append([]byte(nil), data...)
			if i%2 == 0 {
				m = m[:rng.Intn(len(m))]
			} else {
				for j := 0; j < 1+rng.Intn(4); j++ {
					m[rng.Intn(len(m))] ^= byte(1 + rng.Intn(255))
				}
			}
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("%s variant %d: panic %v", name, i, r)
					}
				}()
				p.Bytes(m)
				DecodeRGB(m, Options{FastDecode: i%3 == 0})
			}()
		}
	}
}

// The preprocessor decodes only the rows it needs (libjpeg skips the rows
// above and entropy-decodes the rest); those rows must be the very rows of
// a full decode for every sampling layout.
func TestJPEGRowRangeMatchesFullDecode(t *testing.T) {
	const w, h = 203, 157
	pix := smoothRGB(w, h)
	for i := range pix {
		pix[i] += byte(i % 17)
	}
	tests := []struct {
		name  string
		comps int
		o     jpegOptions
	}{
		{"420", 3, jpegOptions{quality: 85, hs: 2, vs: 2}},
		{"422", 3, jpegOptions{quality: 85, hs: 2, vs: 1}},
		{"440", 3, jpegOptions{quality: 85, hs: 1, vs: 2}},
		{"444", 3, jpegOptions{quality: 85, hs: 1, vs: 1}},
		{"411", 3, jpegOptions{quality: 85, hs: 4, vs: 1}},
		{"progressive 420", 3, jpegOptions{quality: 85, hs: 2, vs: 2, progressive: true}},
		{"grey", 1, jpegOptions{quality: 85}},
		{"cmyk", 4, jpegOptions{quality: 85, hs: 2, vs: 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := append(append([]byte(nil), pix...), pix[:w*h]...)[:w*h*tc.comps]
			data, err := encodeJPEG(src, w, h, tc.comps, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			s, err := open(context.Background(), data, Options{}, 0)
			if err != nil {
				t.Fatal(err)
			}
			full := makePix(3 * w * h)
			if err := s.decodeJPEGRows(context.Background(), data, 0, h, full); err != nil {
				t.Fatal(err)
			}
			for _, r := range [][2]int{{0, 1}, {1, 2}, {7, 9}, {8, 16}, {15, 40}, {16, 17}, {33, 157}, {100, 156}, {156, 157}, {60, 60}} {
				part := makePix(3 * w * (r[1] - r[0]))
				if err := s.decodeJPEGRows(context.Background(), data, r[0], r[1], part); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(part, full[3*w*r[0]:3*w*r[1]]) {
					t.Errorf("rows %d..%d differ from the full decode", r[0], r[1])
				}
			}
		})
	}
}

func TestToRGBDropsAlphaOfNYCbCrA(t *testing.T) {
	r := image.Rect(0, 0, 5, 3)
	m := image.NewNYCbCrA(r, image.YCbCrSubsampleRatio420)
	for i := range m.Y {
		m.Y[i], m.A[i] = byte(40*i), byte(7*i)
	}
	for i := range m.Cb {
		m.Cb[i], m.Cr[i] = byte(90+20*i), byte(200-30*i)
	}
	got := toRGB(m, 0, false)
	want := toRGB(&m.YCbCr, 0, false)
	if !bytes.Equal(got.Pix, want.Pix) {
		t.Fatalf("NYCbCrA gives %v, its YCbCr without alpha %v", got.Pix, want.Pix)
	}
	y, cb, cr := m.Y[m.YOffset(4, 2)], m.Cb[m.COffset(4, 2)], m.Cr[m.COffset(4, 2)]
	if rr, gg, bb := color.YCbCrToRGB(y, cb, cr); !bytes.Equal(got.Pix[3*(2*5+4):3*(2*5+4)+3], []byte{rr, gg, bb}) {
		t.Fatalf("pixel (4,2) = %v, want %v", got.Pix[3*(2*5+4):][:3], []byte{rr, gg, bb})
	}
}
