package imageproc

import (
	"bytes"
	"encoding/binary"
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
	rgb         *RGB // decoded whole image (non-JPEG formats)
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
func open(data []byte, opts Options, target int) (*source, error) {
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
		err = s.openGIF(data, opts)
	case fmtPNG, fmtWebP, fmtBMP, fmtTIFF:
		err = s.openStd(data, opts)
	default:
		return nil, ErrUnsupportedFormat
	}
	if err != nil {
		return s, err
	}
	if s.orientation < 1 || s.orientation > 8 {
		s.orientation = 1
	}
	return s, nil
}

func (s *source) openGIF(data []byte, opts Options) error {
	f, err := parseGIF(data)
	if err != nil {
		return err
	}
	if err := checkSize(f.canvasW, f.canvasH, opts); err != nil {
		return err
	}
	if err := guard(func() (err error) { s.rgb, err = decodeGIF(f); return }); err != nil {
		return err
	}
	s.w, s.h = s.rgb.W, s.rgb.H
	return nil
}

// openStd decodes PNG, WebP, BMP and TIFF with the Go decoders.
func (s *source) openStd(data []byte, opts Options) error {
	var cfgFn func([]byte) (image.Config, error)
	var decFn func([]byte) (image.Image, error)
	switch s.format {
	case fmtPNG:
		cfgFn = func(b []byte) (image.Config, error) { return png.DecodeConfig(bytes.NewReader(b)) }
		decFn = func(b []byte) (image.Image, error) { return png.Decode(bytes.NewReader(b)) }
	case fmtWebP:
		cfgFn = func(b []byte) (image.Config, error) { return webp.DecodeConfig(bytes.NewReader(b)) }
		decFn = func(b []byte) (image.Image, error) { return webp.Decode(bytes.NewReader(b)) }
	case fmtBMP:
		cfgFn = func(b []byte) (image.Config, error) { return bmp.DecodeConfig(bytes.NewReader(b)) }
		decFn = func(b []byte) (image.Image, error) { return bmp.Decode(bytes.NewReader(b)) }
	case fmtTIFF:
		cfgFn = func(b []byte) (image.Config, error) { return tiff.DecodeConfig(bytes.NewReader(b)) }
		decFn = func(b []byte) (image.Image, error) { return tiff.Decode(bytes.NewReader(b)) }
	}
	var cfg image.Config
	if err := guard(func() (err error) { cfg, err = cfgFn(data); return }); err != nil {
		return stdError(err)
	}
	if err := checkSize(cfg.Width, cfg.Height, opts); err != nil {
		return err
	}
	var img image.Image
	if err := guard(func() (err error) { img, err = decFn(data); return }); err != nil {
		return stdError(err)
	}
	plteLen := 256
	switch s.format {
	case fmtPNG:
		s.orientation = pngOrientation(data)
		plteLen = pngPaletteLen(data)
	case fmtWebP:
		s.orientation = webpOrientation(data)
	case fmtTIFF:
		s.orientation = tiffOrientation(data)
	}
	if rgb, ok := webpRGB(img); ok && s.format == fmtWebP {
		s.rgb = rgb
	} else {
		s.rgb = toRGB(img, plteLen)
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

// pngPaletteLen returns the number of PLTE entries (256 when absent).
func pngPaletteLen(data []byte) int {
	p := 8
	for p+12 <= len(data) {
		n := int(binary.BigEndian.Uint32(data[p:]))
		if n < 0 || p+12+n > len(data) {
			break
		}
		if string(data[p+4:p+8]) == "PLTE" {
			return n / 3
		}
		if string(data[p+4:p+8]) == "IDAT" {
			break
		}
		p += 12 + n
	}
	return 256
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
func toRGB(img image.Image, plteLen int) *RGB {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := &RGB{W: w, H: h, Pix: makePix(3 * w * h)}
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
