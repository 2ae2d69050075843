package imageproc

/*
#include "jpeg.h"
*/
import "C"

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"unsafe"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"
)

// Info is what an image's header says, known before its pixels are
// decoded.
type Info struct {
	Format        string // "jpeg", "png", "gif", "webp", "bmp", "tiff"
	Width, Height int    // as stored, before the EXIF orientation
	Orientation   int    // EXIF orientation 1..8 (1 when absent)
	Progressive   bool   // a JPEG whose scans are all buffered before output
	// DecodeBytes estimates the peak memory (bytes, the encoded input not
	// included) that preprocessing this image takes, for a server that
	// caps concurrent decodes by memory rather than by count. It errs on the
	// high side.
	DecodeBytes int64
}

// Pixels is Width*Height.
func (i Info) Pixels() int64 { return int64(i.Width) * int64(i.Height) }

// Probe reads the header of an encoded image without decoding its pixels:
// microseconds for any file, whatever size it declares. It does not apply
// Options.MaxPixels; compare Info.Pixels or Info.DecodeBytes with your own
// budget. Errors are *DecodeError values.
func Probe(data []byte) (Info, error) {
	info, err := probe(data)
	if err != nil {
		return Info{}, &DecodeError{Format: info.Format, Err: err}
	}
	return info, nil
}

func probe(data []byte) (Info, error) {
	if len(data) == 0 {
		return Info{}, errors.New("file is empty")
	}
	f := sniff(data)
	info := Info{Format: string(f), Orientation: 1}
	switch f {
	case fmtJPEG:
		var ci C.fc_jpeg_info
		if C.fc_jpeg_header((*C.uchar)(unsafe.Pointer(&data[0])), C.size_t(len(data)), &ci) != 0 {
			return info, jpegErr(&ci)
		}
		info = jpegInfo(&ci)
		info.Orientation = jpegOrientation(data)
	case fmtGIF:
		g, err := parseGIF(data)
		if err != nil {
			return info, err
		}
		info = gifInfo(g)
	case fmtPNG, fmtWebP, fmtBMP, fmtTIFF:
		var cfg image.Config
		err := guard(func() (err error) {
			switch f {
			case fmtPNG:
				cfg, err = png.DecodeConfig(bytes.NewReader(data))
			case fmtWebP:
				cfg, err = webp.DecodeConfig(bytes.NewReader(data))
			case fmtBMP:
				cfg, err = bmp.DecodeConfig(bytes.NewReader(data))
			case fmtTIFF:
				cfg, err = tiff.DecodeConfig(bytes.NewReader(data))
			}
			return err
		})
		if err != nil {
			return info, stdError(err)
		}
		info = stdInfo(f, cfg)
		switch f {
		case fmtPNG:
			// The header is enough for the size; a body that the decode
			// would refuse leaves the orientation unknown.
			if sc, err := scanPNG(data); err == nil {
				info.Orientation = sc.orientation
			}
		case fmtWebP:
			info.Orientation = webpOrientation(data)
		case fmtTIFF:
			info.Orientation = tiffOrientation(data)
		}
	default:
		return info, ErrUnsupportedFormat
	}
	if info.Orientation < 1 || info.Orientation > 8 {
		info.Orientation = 1
	}
	return info, nil
}

// Every estimate adds the resampling scratch and the output tensor, a few
// MB whatever the image.
const scratchBytes = 8 << 20

func jpegInfo(ci *C.fc_jpeg_info) Info {
	w, h := int64(ci.width), int64(ci.height)
	info := Info{Format: string(fmtJPEG), Width: int(ci.width), Height: int(ci.height), Progressive: ci.progressive != 0}
	// Decoded rows (at most all of them), plus, for a progressive file,
	// libjpeg's whole-image coefficient buffer: 64 coefficients of 2 bytes
	// per 8×8 block and component (full-resolution chroma assumed).
	info.DecodeBytes = 3*w*h + scratchBytes
	if info.Progressive {
		info.DecodeBytes += int64(ci.components) * ((w + 7) / 8) * ((h + 7) / 8) * 128
	}
	return info
}

func gifInfo(f *gifFrame) Info {
	n := int64(f.canvasW) * int64(f.canvasH)
	// Frame indices, canvas indices, RGB.
	return Info{Format: string(fmtGIF), Width: f.canvasW, Height: f.canvasH, Orientation: 1,
		DecodeBytes: int64(f.w)*int64(f.h) + 4*n + scratchBytes}
}

// stdInfo estimates the Go decoders' cost from the colour model they will
// produce: their image, plus the RGB copy unless toRGB narrows in place.
func stdInfo(f format, cfg image.Config) Info {
	n := int64(cfg.Width) * int64(cfg.Height)
	var bpp int64 = 4
	inPlace := false
	switch cfg.ColorModel {
	case color.GrayModel:
		bpp = 1
	case color.Gray16Model:
		bpp = 2
	case color.NRGBAModel, color.RGBAModel:
		inPlace = true
	case color.NRGBA64Model, color.RGBA64Model:
		bpp, inPlace = 8, true
	case color.YCbCrModel, color.NYCbCrAModel:
		bpp = 3 // lossy WebP's planes (with alpha), rounded up
	case color.CMYKModel:
		bpp = 4
	default:
		if _, ok := cfg.ColorModel.(color.Palette); ok {
			bpp = 1
		}
	}
	total := bpp * n
	if !inPlace {
		total += 3 * n
	}
	return Info{Format: string(f), Width: cfg.Width, Height: cfg.Height, Orientation: 1, DecodeBytes: total + scratchBytes}
}

// ctxReaderAt is ctxReader for decoders that seek (x/image/tiff).
type ctxReaderAt struct {
	ctx context.Context
	r   *bytes.Reader
}

func (c ctxReaderAt) Read(p []byte) (int, error) { return ctxReader{c.ctx, c.r}.Read(p) }

func (c ctxReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.ReadAt(p, off)
}

var _ io.ReaderAt = ctxReaderAt{}
