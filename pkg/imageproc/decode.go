package imageproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"strings"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"
)

// RGB is a packed 8-bit RGB image: pixel (x, y) is Pix[3*(y*W+x):][:3].
type RGB struct {
	W, H int
	Pix  []byte
}

// DefaultMaxPixels is the default decompression-bomb limit: Pillow's
// MAX_IMAGE_PIXELS (at which Pillow starts warning).
const DefaultMaxPixels = 89_478_485

// Options tune decoding.
type Options struct {
	// MaxPixels refuses images whose header declares more pixels, before
	// any decoding. 0 means DefaultMaxPixels; a negative value disables the
	// check.
	MaxPixels int64
	// FastDecode lets libjpeg shrink JPEGs by 1/2, 1/4 or 1/8 in the DCT
	// domain while the short side stays at least the resize target (224 for
	// DecodeRGB). Much faster on large photos, but no longer bit-exact with
	// Pillow.
	FastDecode bool
	// MaxFileBytes bounds the files File and FileContext read (see
	// ReadFile). 0 means DefaultMaxFileBytes; negative, no limit.
	MaxFileBytes int64
	// MaxScans refuses progressive (and other multi-scan) JPEGs with more
	// scans (ErrTooComplex). 0 means DefaultMaxScans; negative, no limit.
	MaxScans int
}

// DefaultMaxScans bounds the scans of a JPEG. Encoders write about ten
// (libjpeg's progressive script) and at most a few dozen; each scan may
// touch every coefficient block, so the limit bounds the work of a file
// that repeats scans to burn CPU.
const DefaultMaxScans = 100

func (o Options) maxScans() int { return orDefault(o.MaxScans, DefaultMaxScans) }

// orDefault reads an Options limit: 0 means def, negative means none (0).
func orDefault[T ~int | ~int64](v, def T) T {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

func (o Options) limit() int64 {
	if o.MaxPixels == 0 {
		return DefaultMaxPixels
	}
	return o.MaxPixels
}

type format string

const (
	fmtJPEG format = "jpeg"
	fmtPNG  format = "png"
	fmtGIF  format = "gif"
	fmtWebP format = "webp"
	fmtBMP  format = "bmp"
	fmtTIFF format = "tiff"
)

// sniff identifies the format from the magic bytes.
func sniff(b []byte) format {
	switch {
	case len(b) >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF:
		return fmtJPEG
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return fmtPNG
	case isGIF(b):
		return fmtGIF
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return fmtWebP
	case bytes.HasPrefix(b, []byte("BM")):
		return fmtBMP
	case bytes.HasPrefix(b, []byte("II*\x00")) || bytes.HasPrefix(b, []byte("MM\x00*")):
		return fmtTIFF
	}
	return ""
}

// source is an image ready for resampling: an oriented view over decoded
// rows, plus what is needed to decode more lazily (JPEG).
type source struct {
	format      format
	w, h        int // stored size, after DCT scaling for fast JPEG
	orientation int // 1..8
	jpegDenom   int
	maxScans    int  // JPEG scan limit, 0 for none
	rgb         *RGB // decoded whole image (non-JPEG formats)
	info        Info // what the header said
}

// checkSize applies the decompression-bomb guard to a header's dimensions.
func checkSize(w, h int, opts Options) error {
	if w <= 0 || h <= 0 {
		return fmt.Errorf("invalid image size %dx%d", w, h)
	}
	if lim := opts.limit(); lim > 0 && int64(w)*int64(h) > lim {
		return fmt.Errorf("%w: %dx%d = %d pixels, above the limit of %d", ErrTooLarge, w, h, int64(w)*int64(h), lim)
	}
	return nil
}

// open reads the header and, for every format but JPEG, decodes the pixels.
// target is the short side wanted by FastDecode (0: no DCT scaling).
func open(ctx context.Context, data []byte, opts Options, target int) (*source, error) {
	if len(data) == 0 {
		return nil, errors.New("file is empty")
	}
	f := sniff(data)
	s := &source{format: f, orientation: 1}
	var err error
	switch f {
	case fmtJPEG:
		err = s.openJPEG(data, opts, target)
	case fmtGIF:
		err = s.openGIF(ctx, data, opts)
	case fmtPNG, fmtWebP, fmtBMP, fmtTIFF:
		err = s.openStd(ctx, data, opts)
	default:
		return nil, ErrUnsupportedFormat
	}
	if err != nil {
		return s, err
	}
	if s.orientation < 1 || s.orientation > 8 {
		s.orientation = 1
	}
	s.info.Orientation = s.orientation
	return s, nil
}

func (s *source) openGIF(ctx context.Context, data []byte, opts Options) error {
	f, err := parseGIF(data)
	if err != nil {
		return err
	}
	s.info = gifInfo(f)
	if err := checkSize(f.canvasW, f.canvasH, opts); err != nil {
		return err
	}
	if err := guard(func() (err error) { s.rgb, err = decodeGIF(ctx, f); return }); err != nil {
		return err
	}
	s.w, s.h = s.rgb.W, s.rgb.H
	return nil
}

// openStd decodes PNG, WebP, BMP and TIFF with the Go decoders, which read
// through ctxReader so that cancellation stops them.
func (s *source) openStd(ctx context.Context, data []byte, opts Options) error {
	var cfgFn func([]byte) (image.Config, error)
	var decFn func(io.Reader) (image.Image, error)
	plteLen := 256
	var pngInfo *pngScan
	switch s.format {
	case fmtPNG:
		cfgFn = func(b []byte) (image.Config, error) { return png.DecodeConfig(bytes.NewReader(b)) }
		decFn = func(r io.Reader) (image.Image, error) { return png.Decode(r) }
	case fmtWebP:
		s.orientation = webpOrientation(data)
		cfgFn = func(b []byte) (image.Config, error) { return webp.DecodeConfig(bytes.NewReader(b)) }
		decFn = webp.Decode
	case fmtBMP:
		cfgFn = func(b []byte) (image.Config, error) { return bmp.DecodeConfig(bytes.NewReader(b)) }
		decFn = bmp.Decode
	case fmtTIFF:
		s.orientation = tiffOrientation(data)
		cfgFn = func(b []byte) (image.Config, error) { return tiff.DecodeConfig(bytes.NewReader(b)) }
		// tiff needs an io.ReaderAt; it reads strip by strip, so the check
		// between reads still applies.
		decFn = func(io.Reader) (image.Image, error) { return tiff.Decode(ctxReaderAt{ctx, bytes.NewReader(data)}) }
	}
	var cfg image.Config
	if err := guard(func() (err error) { cfg, err = cfgFn(data); return }); err != nil {
		return stdError(err)
	}
	s.info = stdInfo(s.format, cfg)
	if err := checkSize(cfg.Width, cfg.Height, opts); err != nil {
		return err
	}
	if s.format == fmtPNG {
		sc, err := scanPNG(data)
		if err != nil {
			return err
		}
		pngInfo, plteLen, s.orientation = sc, sc.plteLen, sc.orientation
	}
	var src io.Reader = bytes.NewReader(data)
	if pngInfo != nil {
		src = pngImageStream(data, pngInfo)
	}
	var img image.Image
	if err := guard(func() (err error) { img, err = decFn(ctxReader{ctx, src}); return }); err != nil {
		return stdError(err)
	}
	if rgb, ok := webpRGB(img); ok && s.format == fmtWebP {
		s.rgb = rgb
	} else {
		// The decoded image is ours: wide formats are narrowed in place.
		s.rgb = toRGB(img, plteLen, true)
	}
	s.w, s.h = s.rgb.W, s.rgb.H
	return nil
}

// guard turns a panic inside a third-party decoder into an error: malformed
// input must never bring the caller down.
func guard(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed image: decoder failed: %v", r)
		}
	}()
	return f()
}

// stdError gives the Go decoders' end-of-data errors one name.
func stdError(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return errTruncated
	}
	// The decoders' UnsupportedError types all say so in their message.
	if strings.Contains(err.Error(), "unsupported") {
		return fmt.Errorf("%w: %v", ErrUnsupportedFormat, err)
	}
	return err
}

// round16 maps a 16-bit sample to 8 bits by rounding v*255/65535 (= v/257).
func round16(v uint16) byte { return byte((uint32(v) + 128) / 257) }

// muldiv255 is Pillow's rounding a*b/255.
func muldiv255(a, b int) int {
	t := a*b + 128
	return ((t >> 8) + t) >> 8
}

// toRGB converts a decoded image to packed RGB with Pillow's convert("RGB")
// semantics: grey is replicated, palettes are looked up, alpha is dropped
// (not composited). plteLen is the number of palette entries the file
// actually defined; Pillow maps indices past them to grey levels.
//
// With inPlace (the image is the caller's own scratch), 4- and 8-byte
// pixels are narrowed inside the image's own buffer: every pixel is read
// before its 3 bytes are written, and they never land past it. A
// near-limit 16-bit RGBA PNG then needs its decoded 8 bytes a pixel and
// nothing more.
func toRGB(img image.Image, plteLen int, inPlace bool) *RGB {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := &RGB{W: w, H: h}
	if inPlace {
		out.Pix = reusablePix(img, w, h)
	}
	if out.Pix == nil {
		out.Pix = makePix(3 * w * h)
	}
	dst := out.Pix
	if m, ok := img.(*image.NYCbCrA); ok {
		img = &m.YCbCr // alpha is dropped, as convert("RGB") does
	}
	switch m := img.(type) {
	case *image.Gray:
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:w]
			d := dst[y*w*3 : (y+1)*w*3]
			for x, v := range row {
				d[x*3], d[x*3+1], d[x*3+2] = v, v, v
			}
		}
	case *image.Gray16:
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:2*w]
			d := dst[y*w*3 : (y+1)*w*3]
			for x := 0; x < w; x++ {
				v := round16(uint16(row[2*x])<<8 | uint16(row[2*x+1]))
				d[x*3], d[x*3+1], d[x*3+2] = v, v, v
			}
		}
	case *image.NRGBA:
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:4*w]
			d := dst[y*w*3 : (y+1)*w*3]
			for x := 0; x < w; x++ {
				copy(d[x*3:x*3+3], row[x*4:x*4+3])
			}
		}
	case *image.NRGBA64:
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:8*w]
			d := dst[y*w*3 : (y+1)*w*3]
			for x := 0; x < w; x++ {
				for c := 0; c < 3; c++ {
					d[x*3+c] = round16(uint16(row[x*8+2*c])<<8 | uint16(row[x*8+2*c+1]))
				}
			}
		}
	case *image.RGBA:
		if m.Opaque() {
			for y := 0; y < h; y++ {
				row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:4*w]
				d := dst[y*w*3 : (y+1)*w*3]
				for x := 0; x < w; x++ {
					copy(d[x*3:x*3+3], row[x*4:x*4+3])
				}
			}
			break
		}
		generic(dst, img)
	case *image.RGBA64:
		if m.Opaque() {
			for y := 0; y < h; y++ {
				row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:8*w]
				d := dst[y*w*3 : (y+1)*w*3]
				for x := 0; x < w; x++ {
					for c := 0; c < 3; c++ {
						d[x*3+c] = round16(uint16(row[x*8+2*c])<<8 | uint16(row[x*8+2*c+1]))
					}
				}
			}
			break
		}
		generic(dst, img)
	case *image.Paletted:
		var lut [256 * 3]byte
		for i := 0; i < 256; i++ {
			lut[i*3], lut[i*3+1], lut[i*3+2] = byte(i), byte(i), byte(i)
			if i < len(m.Palette) && i < plteLen {
				c := color.NRGBAModel.Convert(m.Palette[i]).(color.NRGBA)
				if n, ok := m.Palette[i].(color.NRGBA); ok {
					c = n // keep the colour of transparent entries
				}
				lut[i*3], lut[i*3+1], lut[i*3+2] = c.R, c.G, c.B
			}
		}
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:w]
			d := dst[y*w*3 : (y+1)*w*3]
			for x, v := range row {
				copy(d[x*3:x*3+3], lut[int(v)*3:int(v)*3+3])
			}
		}
	case *image.YCbCr:
		// Only images handed to Image() get here (WebP uses webpRGB).
		for y := 0; y < h; y++ {
			d := dst[y*w*3 : (y+1)*w*3]
			for x := 0; x < w; x++ {
				yi, ci := m.YOffset(b.Min.X+x, b.Min.Y+y), m.COffset(b.Min.X+x, b.Min.Y+y)
				d[x*3], d[x*3+1], d[x*3+2] = color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
			}
		}
	case *image.CMYK:
		// Pillow's CMYK→RGB: (255-C)(255-K)/255, rounded.
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:4*w]
			d := dst[y*w*3 : (y+1)*w*3]
			for x := 0; x < w; x++ {
				nk := 255 - int(row[x*4+3])
				for c := 0; c < 3; c++ {
					d[x*3+c] = byte(nk - muldiv255(int(row[x*4+c]), nk))
				}
			}
		}
	default:
		generic(dst, img)
	}
	return out
}

// reusablePix returns the first 3*w*h bytes of img's buffer when toRGB's
// conversion of img may write there, else nil.
func reusablePix(img image.Image, w, h int) []byte {
	var pix []byte
	var stride, bpp int
	switch m := img.(type) {
	case *image.NRGBA:
		pix, stride, bpp = m.Pix, m.Stride, 4
	case *image.NRGBA64:
		pix, stride, bpp = m.Pix, m.Stride, 8
	case *image.RGBA:
		if !m.Opaque() { // converted through At, which reads as it goes
			return nil
		}
		pix, stride, bpp = m.Pix, m.Stride, 4
	case *image.RGBA64:
		if !m.Opaque() {
			return nil
		}
		pix, stride, bpp = m.Pix, m.Stride, 8
	default:
		return nil
	}
	n := 3 * w * h
	if img.Bounds().Min != (image.Point{}) || stride != bpp*w || cap(pix)-n < padBytes {
		return nil
	}
	return pix[:n]
}

// generic converts through color.NRGBAModel (un-premultiplying alpha).
func generic(dst []byte, img image.Image) {
	b := img.Bounds()
	i := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			switch c := img.At(x, y).(type) {
			case color.Gray16:
				v := round16(c.Y)
				dst[i], dst[i+1], dst[i+2] = v, v, v
			case color.NRGBA64:
				dst[i], dst[i+1], dst[i+2] = round16(c.R), round16(c.G), round16(c.B)
			default:
				n := color.NRGBA64Model.Convert(c).(color.NRGBA64)
				dst[i], dst[i+1], dst[i+2] = round16(n.R), round16(n.G), round16(n.B)
			}
			i += 3
		}
	}
}
