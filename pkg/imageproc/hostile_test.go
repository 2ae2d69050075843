package imageproc

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Issue 13: every hostile image is refused (or, where Pillow accepts it,
// decoded) with an error that says why; none may crash or run long. The
// figures before and after the limits are BenchmarkHostile's.
func TestHostileImages(t *testing.T) {
	want := map[string]struct {
		is     error
		substr string
	}{
		"png zTXt 16 MB":               {ErrTooComplex, "too much memory used in PNG text chunks"},
		"png iTXt 16 MB":               {ErrTooComplex, "too much memory used in PNG text chunks"},
		"png zTXt chunk over 1 MiB":    {ErrTooComplex, "inflates to 1048576 bytes or more"},
		"jpeg 600 repeated scans":      {ErrTooComplex, "more than 100 scans"},
		"gif 100000 extension blocks":  {ErrTooComplex, "more than 4096 GIF extension blocks"},
		"jpeg data stops after header": {errTruncated, "truncated"},
		"jpeg size bomb":               {ErrTooLarge, "60000x60000"},
		"png size bomb":                {ErrTooLarge, "100000x100000"},
		"gif size bomb":                {ErrTooLarge, "65535x65535"},
	}
	cases := hostileCases(t)
	if len(cases) != len(want) {
		t.Fatalf("%d cases, %d expectations", len(cases), len(want))
	}
	p := New(DefaultConfig(), Options{})
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			w := want[name]
			_, err := p.Bytes(data)
			var de *DecodeError
			if !errors.As(err, &de) || !errors.Is(err, w.is) || !strings.Contains(err.Error(), w.substr) {
				t.Fatalf("got %v, want a *DecodeError wrapping %v with %q", err, w.is, w.substr)
			}
		})
	}
}

// Text below Pillow's limits is read, not refused.
func TestPNGTextWithinLimits(t *testing.T) {
	p := New(DefaultConfig(), Options{})
	// 40 MB of text in 50 KB of chunks.
	if _, err := p.Bytes(pngTextBomb(t, "zTXt", 50<<10, 60<<10)); err != nil {
		t.Fatal(err)
	}
	plain := insertChunk(encodePNG(t, image.NewGray(image.Rect(0, 0, 4, 4))), pngChunk("tEXt", []byte("Comment\x00hello")))
	if _, err := p.Bytes(plain); err != nil {
		t.Fatal(err)
	}
}

// A legitimate progressive file has far fewer scans than the limit, and
// the limit is an option.
func TestScanLimit(t *testing.T) {
	data := progressiveBomb(t, 64, 64, 20) // ~30 scans
	if _, err := New(DefaultConfig(), Options{}).Bytes(data); err != nil {
		t.Fatalf("default limit: %v", err)
	}
	if _, err := New(DefaultConfig(), Options{MaxScans: 5}).Bytes(data); !errors.Is(err, ErrTooComplex) {
		t.Fatalf("MaxScans 5: %v", err)
	}
	if _, err := New(DefaultConfig(), Options{MaxScans: -1}).Bytes(progressiveBomb(t, 64, 64, 150)); err != nil {
		t.Fatalf("no limit: %v", err)
	}
}

// Truncation follows Pillow 9.4 (python3-pil 9.4.0 on libjpeg-turbo 2.1.5,
// ImageFile.LOAD_TRUNCATED_IMAGES False): the outcome of each case below is
// what Image.open(f).load() gave for the same cut of a Pillow-written file.
// Entropy data that runs out is refused, even when only EOI is missing (the
// decoder needs bytes past the last code to finish); a file holding an EOI
// marker is decoded however early it comes (the missing part is grey); PNG
// and GIF may lack what follows the image data.
func TestTruncationLikePillow(t *testing.T) {
	j := smallJPEG(t)
	prog, err := encodeJPEG(smoothRGB(64, 48), 64, 48, 3, jpegOptions{quality: 90, hs: 2, vs: 2, progressive: true})
	must(t, err)
	lastSOS := bytes.LastIndex(prog, []byte{0xFF, 0xDA})
	header := jpegHeaderOnly(t)
	half := j[:len(header)+(len(j)-len(header))/2] // half of the entropy data
	pal := image.NewPaletted(image.Rect(0, 0, 30, 20), color.Palette{color.RGBA{1, 2, 3, 255}, color.RGBA{200, 100, 50, 255}})
	for i := range pal.Pix {
		pal.Pix[i] = byte(i % 2)
	}
	pngData := encodePNG(t, pal)
	var gb bytes.Buffer
	must(t, gif.Encode(&gb, pal, nil))
	g := gb.Bytes()
	eoi := []byte{0xFF, 0xD9}
	tests := []struct {
		name string
		data []byte
		ok   bool
	}{
		{"jpeg without EOI", j[:len(j)-2], false},
		{"jpeg cut in half", half, false},
		{"jpeg stops after SOS", header, false},
		{"jpeg SOS then EOI", append(append([]byte(nil), header...), eoi...), true},
		{"jpeg half then EOI", append(append([]byte(nil), half...), eoi...), true},
		{"jpeg EOI replaced by zeros", append(append([]byte(nil), j[:len(j)-2]...), make([]byte, 16)...), true},
		{"jpeg with trailing junk", append(append([]byte(nil), j...), "junkjunk"...), true},
		{"progressive without EOI", prog[:len(prog)-2], false},
		{"progressive cut before last scan", prog[:lastSOS], false},
		{"progressive cut before last scan, EOI", append(append([]byte(nil), prog[:lastSOS]...), eoi...), true},
		{"png without IEND", pngData[:len(pngData)-12], true},
		{"png IEND cut in its header", pngData[:len(pngData)-6], true},
		{"png cut in IDAT", pngData[:len(pngData)-20], false},
		{"png trailing text cut short", append(pngData[:len(pngData)-12], pngChunk("tEXt", []byte("k\x00vvvvvvvv"))[:14]...), false},
		{"gif without trailer", g[:len(g)-1], true},
		{"gif last sub-block cut", g[:len(g)-4], false},
		{"gif cut", g[:len(g)*3/4], false},
	}
	p := New(DefaultConfig(), Options{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.Bytes(tc.data)
			if tc.ok && err != nil {
				t.Fatalf("Pillow accepts it, got %v", err)
			}
			if !tc.ok && !errors.Is(err, errTruncated) {
				t.Fatalf("Pillow says truncated, got %v", err)
			}
		})
	}
}

// A decode stops when its context is cancelled, also inside libjpeg's
// absorption of a progressive file's scans, and says so with ctx.Err().
func TestCancelGiantProgressiveJPEG(t *testing.T) {
	data := progressiveBomb(t, 9000, 9000, 90) // 90+ scans over 81 M pixels: seconds of work
	p := New(DefaultConfig(), Options{})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := p.ReuseContext(ctx, nil, data)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	var de *DecodeError
	if errors.As(err, &de) {
		t.Fatalf("cancellation reported as an input error: %v", err)
	}
	// Already cancelled: nothing is decoded.
	if _, err := p.BytesContext(ctx, smallJPEG(t)); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
}

// The Go decoders stop too (they read through a context check).
func TestCancelGoDecoders(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p := New(DefaultConfig(), Options{})
	for name, data := range map[string][]byte{
		"png": encodeTestPNG(t, 64, 64),
		"gif": craftGIF(9, 9, []byte{1, 2, 3}, -1, 0, 0, 9, 9, make([]byte, 81)),
	} {
		s, err := open(ctx, data, Options{}, 0)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s: open gave %v (%v)", name, err, s)
		}
		if _, err := p.BytesContext(ctx, data); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestProbe(t *testing.T) {
	j, err := encodeJPEG(smoothRGB(40, 30), 40, 30, 3, jpegOptions{quality: 80, hs: 1, vs: 1, progressive: true, app1: exifAPP1(binary.BigEndian, 6)})
	must(t, err)
	tests := []struct {
		name string
		data []byte
		want Info
		min  int64 // DecodeBytes at least
	}{
		{"progressive jpeg", j, Info{Format: "jpeg", Width: 40, Height: 30, Orientation: 6, Progressive: true}, 3*1200 + 3*5*4*128},
		{"jpeg bomb", resizeSOF(j, 60000, 60000), Info{Format: "jpeg", Width: 60000, Height: 60000, Orientation: 6, Progressive: true}, 3 * 3600000000},
		{"png header", pngHeaderOnly(100000, 100000), Info{Format: "png", Width: 100000, Height: 100000, Orientation: 1}, 1e10},
		{"gif", craftGIF(20, 10, []byte{1, 2, 3}, -1, 0, 0, 2, 2, make([]byte, 4)), Info{Format: "gif", Width: 20, Height: 10, Orientation: 1}, 800},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Probe(tc.data)
			must(t, err)
			if got.DecodeBytes < tc.min {
				t.Errorf("DecodeBytes %d < %d", got.DecodeBytes, tc.min)
			}
			got.DecodeBytes = 0
			if got != tc.want {
				t.Errorf("Probe = %+v, want %+v", got, tc.want)
			}
		})
	}
	if _, err := Probe([]byte("hello")); !errors.Is(err, ErrUnsupportedFormat) {
		t.Errorf("text: %v", err)
	}
}

// Probe's estimate bounds what a decode takes: checked on the RSS figures of
// TestPeakRSS, and here on the Go heap for a 16-bit PNG.
func TestProbeEstimateCoversHeap(t *testing.T) {
	var b bytes.Buffer
	must(t, writePNG16(&b, 600, 500))
	info, err := Probe(b.Bytes())
	must(t, err)
	if want := int64(8 * 600 * 500); info.DecodeBytes < want {
		t.Fatalf("DecodeBytes %d < the decoder's image %d", info.DecodeBytes, want)
	}
}

func TestThumbnail(t *testing.T) {
	data, err := encodeJPEG(smoothRGB(1200, 1600), 1200, 1600, 3, jpegOptions{quality: 90, hs: 2, vs: 2})
	must(t, err)
	p := New(DefaultConfig(), Options{})
	plain, err := p.Bytes(data)
	must(t, err)
	for _, size := range []int{160, 256} {
		res, err := p.Process(context.Background(), data, Request{Thumbnail: size})
		must(t, err)
		if !slicesEqual(res.Pixels, plain) {
			t.Fatal("asking for a thumbnail changed the pixels")
		}
		rgb, err := DecodeRGB(res.Thumbnail, Options{})
		must(t, err)
		// The crop is 224×224: never enlarged.
		if want := min(size, 224); rgb.W != want || rgb.H != want {
			t.Errorf("size %d: thumbnail %dx%d, want %dx%d", size, rgb.W, rgb.H, want, want)
		}
		if res.Info.Width != 1200 || res.Info.Height != 1600 || res.Info.Format != "jpeg" {
			t.Errorf("info %+v", res.Info)
		}
	}
	if _, err := p.Process(context.Background(), data, Request{Thumbnail: 100, ThumbnailQuality: 101}); err == nil {
		t.Error("quality 101 accepted")
	}
}

func slicesEqual(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// BenchmarkThumbnail measures the thumbnail's extra cost on the 1200×1600
// JPEG of BenchmarkPreprocessJPEG1200x1600 (compare the two sub-benchmarks).
func BenchmarkThumbnail(b *testing.B) {
	data, err := encodeJPEG(smoothRGB(1200, 1600), 1200, 1600, 3, jpegOptions{quality: 90, hs: 2, vs: 2})
	must(b, err)
	p := New(DefaultConfig(), Options{})
	dst := make([]float32, p.PixelCount())
	// The thumbnail step alone, on a 224×224 crop.
	crop := makePix(3 * 224 * 224)
	copy(crop, smoothRGB(224, 224))
	b.Run("thumbnail step only", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := thumbnail(crop, 224, 224, 192, 0, &scratch{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, size := range []int{0, 192} {
		b.Run(fmt.Sprintf("thumbnail=%d", size), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := p.Process(context.Background(), data, Request{Dst: dst, Thumbnail: size}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "a.jpg")
	must(t, os.WriteFile(small, smallJPEG(t), 0o644))
	if _, err := ReadFile(context.Background(), small, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(context.Background(), small, 10); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), small) {
		t.Errorf("limit: %v", err)
	}
	link := filepath.Join(dir, "zero.jpg")
	must(t, os.Symlink("/dev/zero", link))
	if _, err := ReadFile(context.Background(), link, 0); !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), link) {
		t.Errorf("/dev/zero: %v", err)
	}
	if _, err := New(DefaultConfig(), Options{}).File(dir); !errors.Is(err, ErrNotRegular) {
		t.Errorf("folder: %v", err)
	}
	fifo := filepath.Join(dir, "fifo.jpg")
	must(t, syscall.Mkfifo(fifo, 0o644))
	done := make(chan error, 1)
	go func() { _, err := ReadFile(context.Background(), fifo, 0); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrNotRegular) {
			t.Errorf("FIFO: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("ReadFile blocked on a FIFO with no writer")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ReadFile(ctx, small, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestLibjpegTurboVersion(t *testing.T) {
	v := LibjpegTurboVersion()
	if parts := strings.Split(v, "."); len(parts) != 3 {
		t.Fatalf("version %q", v)
	}
	if _, err := strconv.Atoi(strings.Split(v, ".")[0]); err != nil {
		t.Fatalf("version %q", v)
	}
}

// TestPeakRSS measures the peak resident memory of preprocessing the two
// near-limit images of issue 13 (a 16-bit RGBA PNG and a progressive 4:4:4
// JPEG of 9459×9459 = 89.47 M pixels), each in a fresh child process. It
// takes about a minute and 1 GB, so it runs only with FASHIONCLIP_PEAK_RSS=1:
//
//	FASHIONCLIP_PEAK_RSS=1 go test -run TestPeakRSS -v ./pkg/imageproc
func TestPeakRSS(t *testing.T) {
	if path := os.Getenv("FASHIONCLIP_RSS_CHILD"); path != "" {
		data, err := os.ReadFile(path)
		must(t, err)
		if _, err := New(DefaultConfig(), Options{}).Bytes(data); err != nil {
			t.Fatal(err)
		}
		// VmHWM is this process image's own peak: getrusage's maxrss would
		// include the parent's memory at the time of the fork.
		status, err := os.ReadFile("/proc/self/status")
		must(t, err)
		for _, line := range strings.Split(string(status), "\n") {
			if strings.HasPrefix(line, "VmHWM:") {
				fmt.Println("PEAK", strings.Fields(line)[1])
			}
		}
		return
	}
	if os.Getenv("FASHIONCLIP_PEAK_RSS") == "" {
		t.Skip("set FASHIONCLIP_PEAK_RSS=1 to measure peak RSS of near-limit images")
	}
	const side = 9459
	dir := os.Getenv("FASHIONCLIP_PEAK_RSS_DIR") // keeps the files, e.g. to measure another build
	if dir == "" {
		dir = t.TempDir()
	}
	pngPath := filepath.Join(dir, "rgba16.png")
	f, err := os.Create(pngPath)
	must(t, err)
	must(t, writePNG16(f, side, side))
	must(t, f.Close())
	jpgPath := filepath.Join(dir, "prog444.jpg")
	if _, err := os.Stat(jpgPath); err != nil {
		jpg, err := encodeJPEG(smoothRGB(side, side), side, side, 3, jpegOptions{quality: 90, hs: 1, vs: 1, progressive: true})
		must(t, err)
		must(t, os.WriteFile(jpgPath, jpg, 0o644))
	}
	for _, path := range []string{pngPath, jpgPath} {
		st, _ := os.Stat(path)
		cmd := exec.Command(os.Args[0], "-test.run=^TestPeakRSS$")
		cmd.Env = append(os.Environ(), "FASHIONCLIP_RSS_CHILD="+path)
		start := time.Now()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", path, err, out)
		}
		var kb int64
		for _, line := range strings.Split(string(out), "\n") {
			if f := strings.Fields(line); len(f) == 2 && f[0] == "PEAK" {
				kb, _ = strconv.ParseInt(f[1], 10, 64)
			}
		}
		if kb == 0 {
			t.Fatalf("%s: no peak reported:\n%s", path, out)
		}
		t.Logf("%s (%d bytes): peak RSS %d MiB, %.1f s", filepath.Base(path), st.Size(), kb/1024, time.Since(start).Seconds())
		if kb/1024 > 768 {
			t.Errorf("%s: peak RSS %d MiB > 768 MiB", filepath.Base(path), kb/1024)
		}
	}
}

// The streaming JPEG path (rows through the horizontal pass as they are
// decoded) gives the very values of decoding the rows first, for every
// layout, orientation and crop geometry it takes.
func TestJPEGStreamingMatchesRows(t *testing.T) {
	defer func() { streamJPEG = true }()
	sizes := [][2]int{{203, 157}, {157, 203}, {224, 300}, {300, 224}, {1000, 40}, {50, 900}, {224, 224}}
	for _, sz := range sizes {
		for _, o := range []int{1, 2, 3, 4, 6} {
			for _, comps := range []int{1, 3, 4} {
				w, h := sz[0], sz[1]
				pix := smoothRGB(w, h)
				src := append(append([]byte(nil), pix...), pix[:w*h]...)[:w*h*comps]
				data, err := encodeJPEG(src, w, h, comps, jpegOptions{quality: 85, hs: 2, vs: 2, progressive: comps == 3, app1: exifAPP1(binary.LittleEndian, o)})
				must(t, err)
				for _, cfg := range []Config{DefaultConfig(), func() Config { c := DefaultConfig(); c.CropHeight, c.CropWidth = 100, 400; return c }()} {
					p := New(cfg, Options{})
					streamJPEG = true
					got, err := p.Bytes(data)
					must(t, err)
					streamJPEG = false
					want, err := p.Bytes(data)
					must(t, err)
					if !slicesEqual(got, want) {
						t.Errorf("%dx%d orientation %d, %d components, crop %dx%d: streaming differs", w, h, o, comps, cfg.CropWidth, cfg.CropHeight)
					}
				}
			}
		}
	}
}
