package imageproc

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"

	"github.com/fashionclip/fashionclip/internal/fuzzseed"
)

// imageSeeds are small files of every format and layout the decoders
// handle, plus small versions of issue 13's hostile images, so that the
// fuzzer starts from every code path.
func imageSeeds(t testing.TB) map[string][]byte {
	t.Helper()
	pix := smoothRGB(40, 30)
	enc := func(comps int, o jpegOptions) []byte {
		src := append(append([]byte(nil), pix...), pix[:40*30]...)[:40*30*comps]
		b, err := encodeJPEG(src, 40, 30, comps, o)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	nrgba := image.NewNRGBA(image.Rect(0, 0, 9, 7))
	for i := range nrgba.Pix {
		nrgba.Pix[i] = byte(i * 13)
	}
	g16 := image.NewGray16(image.Rect(0, 0, 5, 4))
	for i := range g16.Pix {
		g16.Pix[i] = byte(i * 29)
	}
	pal := image.NewPaletted(image.Rect(0, 0, 6, 5), color.Palette{color.RGBA{1, 2, 3, 255}, color.RGBA{200, 100, 50, 255}})
	var bb, tb bytes.Buffer
	bmp.Encode(&bb, nrgba)
	tiff.Encode(&tb, nrgba, &tiff.Options{Compression: tiff.Deflate})
	seeds := map[string][]byte{
		"jpeg420":        enc(3, jpegOptions{quality: 80, hs: 2, vs: 2}),
		"jpeg444prog":    enc(3, jpegOptions{quality: 80, hs: 1, vs: 1, progressive: true}),
		"jpeggrey":       enc(1, jpegOptions{quality: 80}),
		"jpegcmyk":       enc(4, jpegOptions{quality: 80, hs: 2, vs: 2}),
		"jpegexif6":      enc(3, jpegOptions{quality: 70, hs: 2, vs: 1, app1: exifAPP1(binary.BigEndian, 6)}),
		"jpegmanyscans":  repeatLastScan(enc(3, jpegOptions{quality: 60, hs: 2, vs: 2, progressive: true}), 3),
		"png":            encodePNG(t, nrgba),
		"png16":          encodePNG(t, g16),
		"pngpalette":     encodePNG(t, pal),
		"pngtext":        insertChunk(encodePNG(t, pal), pngChunk("zTXt", append([]byte("k\x00\x00"), zlibBytes(bytes.Repeat([]byte("x"), 100))...))),
		"pngnoiend":      bytes.TrimSuffix(encodePNG(t, pal), iendChunk),
		"gif":            craftGIF(9, 9, []byte{1, 2, 3, 4, 5, 6}, 0, 1, 1, 7, 7, make([]byte, 49)),
		"gifextensions":  gifWithExtensions(20),
		"bmp":            bb.Bytes(),
		"tiff":           tb.Bytes(),
		"tiffexif":       tiffBlock(binary.LittleEndian, 8, 3, 1),
		"jpegsosonly":    jpegHeaderOnly(t),
		"pngheaderbomb":  pngHeaderOnly(100000, 100000),
		"empty":          nil,
		"webpriffheader": []byte("RIFF\x10\x00\x00\x00WEBPVP8 \x04\x00\x00\x00abcd"),
	}
	for _, name := range []string{"pattern.png", "pattern_lossy.webp", "pattern_lossless.webp"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		seeds[name] = b
	}
	return seeds
}

func TestWriteFuzzSeeds(t *testing.T) {
	fuzzseed.SkipUnlessWriting(t)
	for name, b := range imageSeeds(t) {
		for _, target := range []string{"FuzzPreprocess", "FuzzProbe"} {
			must(t, fuzzseed.Write("testdata/fuzz", target, name, b))
		}
	}
	for name, b := range exifSeeds() {
		must(t, fuzzseed.Write("testdata/fuzz", "FuzzEXIF", name, b))
	}
	for name, b := range gifSeeds() {
		must(t, fuzzseed.Write("testdata/fuzz", "FuzzGIF", name, b))
	}
	for i, s := range configSeeds {
		must(t, fuzzseed.Write("testdata/fuzz", "FuzzLoadConfig", "config"+string(rune('a'+i)), []byte(s)))
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// fuzzPre decodes with a small pixel limit so that a mutated header cannot
// make each run allocate hundreds of MB.
var fuzzPre = New(DefaultConfig(), Options{MaxPixels: 1 << 22})

// FuzzPreprocess drives the entry the CLI and the server use, cgo JPEG
// included: every input gives finite pixels of the right shape or a
// *DecodeError; Probe never disagrees with a successful decode.
func FuzzPreprocess(f *testing.F) {
	for _, b := range imageSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := fuzzPre.Process(context.Background(), data, Request{Thumbnail: 32})
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v is a %T, not a *DecodeError", err, err)
			}
			return
		}
		if len(res.Pixels) != fuzzPre.PixelCount() {
			t.Fatalf("%d values", len(res.Pixels))
		}
		for i, v := range res.Pixels {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("value %d is %v", i, v)
			}
		}
		if len(res.Thumbnail) == 0 {
			t.Fatal("no thumbnail")
		}
		info, err := Probe(data)
		if err != nil {
			t.Fatalf("decoded, but Probe fails: %v", err)
		}
		if info.Width != res.Info.Width || info.Height != res.Info.Height || info.Format != res.Info.Format {
			t.Fatalf("Probe %+v, decode %+v", info, res.Info)
		}
		DecodeRGB(data, Options{MaxPixels: 1 << 22, FastDecode: len(data)%2 == 0})
	})
}

// FuzzProbe: header reading alone never panics and gives sane sizes.
func FuzzProbe(f *testing.F) {
	for _, b := range imageSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := Probe(data)
		if err != nil {
			return
		}
		if info.Width < 0 || info.Height < 0 || info.DecodeBytes < 0 || info.Orientation < 1 || info.Orientation > 8 {
			t.Fatalf("Probe gave %+v", info)
		}
	})
}

func exifSeeds() map[string][]byte {
	return map[string][]byte{
		"le":        exifAPP1(binary.LittleEndian, 6),
		"be":        exifAPP1(binary.BigEndian, 3),
		"byte":      tiffBlock(binary.LittleEndian, 5, 1, 1),
		"long":      tiffBlock(binary.BigEndian, 7, 4, 1),
		"count2":    tiffBlock(binary.BigEndian, 2, 3, 2),
		"badoffset": []byte("II*\x00\xff\xff\xff\x7f"),
		"manytags":  append([]byte("MM\x00*\x00\x00\x00\x08\xff\xff"), make([]byte, 120)...),
	}
}

// FuzzEXIF runs every orientation reader on the same bytes, raw and framed
// the way each container holds them.
func FuzzEXIF(f *testing.F) {
	for _, b := range exifSeeds() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		check := func(where string, o int) {
			if o < 0 || o > math.MaxUint32 {
				t.Fatalf("%s: orientation %d", where, o)
			}
		}
		check("tiff", tiffOrientation(b))
		check("exif", exifOrientation(b))
		check("jpeg", jpegOrientation(append([]byte{0xFF, 0xD8}, b...)))
		app1 := append([]byte{0xFF, 0xD8, 0xFF, 0xE1, byte((len(b) + 8) >> 8), byte(len(b) + 8), 'E', 'x', 'i', 'f', 0, 0}, b...)
		check("jpeg app1", jpegOrientation(app1))
		check("webp", webpOrientation(append([]byte("RIFF\x00\x00\x00\x00WEBP"), b...)))
		xmpOrientation(b)
		rawProfile(b)
		if sc, err := scanPNG(append(append([]byte(nil), pngMagic...), b...)); err == nil {
			check("png", sc.orientation)
		}
	})
}

func gifSeeds() map[string][]byte {
	return map[string][]byte{
		"plain":       craftGIF(4, 3, []byte{1, 2, 3, 4, 5, 6}, -1, 0, 0, 4, 3, make([]byte, 12)),
		"transparent": craftGIF(5, 5, []byte{9, 9, 9}, 0, 1, 1, 3, 3, make([]byte, 9)),
		"outside":     craftGIF(2, 2, nil, -1, 1, 1, 3, 3, make([]byte, 9)),
		"extensions":  gifWithExtensions(10),
	}
}

// FuzzGIF runs the GIF reader alone, without the pixel limit's help beyond
// a bound on the canvas the fuzzer may ask for.
func FuzzGIF(f *testing.F) {
	for _, b := range gifSeeds() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := parseGIF(b)
		if err != nil || g.canvasW*g.canvasH > 1<<20 {
			return
		}
		rgb, err := decodeGIF(context.Background(), g)
		if err != nil {
			return
		}
		if rgb.W != g.canvasW || rgb.H != g.canvasH || len(rgb.Pix) != 3*rgb.W*rgb.H {
			t.Fatalf("canvas %dx%d, got %dx%d with %d bytes", g.canvasW, g.canvasH, rgb.W, rgb.H, len(rgb.Pix))
		}
	})
}

var configSeeds = []string{
	`{}`, `{"crop_size": 224, "size": 224, "image_mean": [0.48, 0.45, 0.40], "image_std": [0.26, 0.26, 0.27]}`,
	`{"crop_size": {"height": 100000, "width": 3}, "size": {"shortest_edge": 0}}`, `{"image_std": [1e-40, 1, 1]}`,
	`{"rescale_factor": 1e300, "do_rescale": true}`, `{"image_mean": 7, "resample": 2}`, `null`, `[]`,
}

// FuzzLoadConfig: preprocessor_config.json is refused with a message naming
// the file, or gives a Preprocessor whose output is finite.
func FuzzLoadConfig(f *testing.F) {
	for _, s := range configSeeds {
		f.Add([]byte(s))
	}
	img := image.NewGray(image.Rect(0, 0, 3, 2))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 51)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "preprocessor_config.json")
		must(t, os.WriteFile(path, b, 0o644))
		cfg, err := LoadConfig(path)
		if err != nil {
			if !bytes.Contains([]byte(err.Error()), []byte(path)) {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		px, err := New(cfg, Options{}).Image(img)
		if err != nil {
			t.Fatalf("valid config, Image fails: %v", err)
		}
		for i, v := range px {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("config %s: value %d is %v", b, i, v)
			}
		}
	})
}
