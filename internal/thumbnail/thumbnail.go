// Package thumbnail makes the small JPEGs of HTML reports and of the
// server's /v1/thumbnails: decode with pkg/imageproc's bounded decoder
// (EXIF orientation applied, libjpeg's DCT scaling for large JPEGs),
// shrink by area averaging, encode as baseline JPEG. Full images never
// leave this package.
package thumbnail

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/jpeg"

	"github.com/fashionclip/fashionclip/pkg/imageproc"
)

// Defaults for Options' zero fields.
const (
	DefaultMaxEdge = 256
	DefaultQuality = 80
)

// Options tune a thumbnail.
type Options struct {
	// MaxEdge bounds the longer side in pixels (never upscaled).
	MaxEdge int
	// Quality is the JPEG quality, 1–100.
	Quality int
	// MaxPixels is the decoder's pixel budget (imageproc.Options.MaxPixels).
	MaxPixels int64
}

func (o Options) withDefaults() Options {
	if o.MaxEdge <= 0 {
		o.MaxEdge = DefaultMaxEdge
	}
	if o.Quality <= 0 || o.Quality > 100 {
		o.Quality = DefaultQuality
	}
	return o
}

// FromBytes decodes an encoded image (any format imageproc reads) and
// returns its thumbnail.
func FromBytes(data []byte, o Options) ([]byte, error) {
	o = o.withDefaults()
	rgb, err := imageproc.DecodeRGB(data, imageproc.Options{MaxPixels: o.MaxPixels, FastDecode: true})
	if err != nil {
		return nil, err
	}
	return FromRGB(rgb, o)
}

// FromFile reads an image file through imageproc's bounded read (regular
// files only, at most imageproc.DefaultMaxFileBytes, stopping with ctx) and
// returns its thumbnail.
func FromFile(ctx context.Context, path string, o Options) ([]byte, error) {
	data, err := imageproc.ReadFile(ctx, path, imageproc.DefaultMaxFileBytes)
	if err != nil {
		return nil, err
	}
	return FromBytes(data, o)
}

// FromRGB returns the thumbnail of an already decoded image.
func FromRGB(src *imageproc.RGB, o Options) ([]byte, error) {
	o = o.withDefaults()
	if src == nil || src.W <= 0 || src.H <= 0 || len(src.Pix) < 3*src.W*src.H {
		return nil, errors.New("thumbnail: empty image")
	}
	w, h := Fit(src.W, src.H, o.MaxEdge)
	img := shrink(src, w, h)
	var buf bytes.Buffer
	buf.Grow(w * h / 2)
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: o.Quality}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Fit is the size of a w×h image shrunk so that its longer side is at most
// edge, keeping the aspect ratio (each side at least 1).
func Fit(w, h, edge int) (int, int) {
	if w <= edge && h <= edge {
		return w, h
	}
	if w >= h {
		return edge, max(1, (h*edge+w/2)/w)
	}
	return max(1, (w*edge+h/2)/h), edge
}

// shrink resizes src to w×h (not larger) by averaging the source area under
// each output pixel, weighting partly covered pixels by their coverage: no
// aliasing, and cheap for the large factors of thumbnails.
func shrink(src *imageproc.RGB, w, h int) *image.RGBA {
	xs := spans(src.W, w)
	ys := spans(src.H, h)
	// Horizontal pass into rows of w×3 sums (float32), then vertical.
	rows := make([]float32, src.H*w*3)
	for y := range src.H {
		line := src.Pix[3*y*src.W : 3*(y+1)*src.W]
		out := rows[y*w*3 : (y+1)*w*3]
		for x, sp := range xs {
			var r, g, b float32
			for i, wt := range sp.weights {
				p := line[3*(sp.first+i):]
				r += wt * float32(p[0])
				g += wt * float32(p[1])
				b += wt * float32(p[2])
			}
			out[3*x], out[3*x+1], out[3*x+2] = r, g, b
		}
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	for y, sp := range ys {
		o := dst.Pix[y*dst.Stride:]
		for x := range w {
			var r, g, b float32
			for i, wt := range sp.weights {
				p := rows[((sp.first+i)*w+x)*3:]
				r += wt * p[0]
				g += wt * p[1]
				b += wt * p[2]
			}
			o[4*x], o[4*x+1], o[4*x+2], o[4*x+3] = clamp8(r), clamp8(g), clamp8(b), 255
		}
	}
	return dst
}

// span is the source pixels under one output pixel and their weights
// (summing to 1).
type span struct {
	first   int
	weights []float32
}

func spans(in, out int) []span {
	s := make([]span, out)
	scale := float64(in) / float64(out)
	for i := range s {
		lo, hi := float64(i)*scale, float64(i+1)*scale
		first := int(lo)
		last := min(in-1, int(hi-1e-9))
		ws := make([]float32, last-first+1)
		for j := first; j <= last; j++ {
			cover := min(hi, float64(j+1)) - max(lo, float64(j))
			ws[j-first] = float32(cover / scale)
		}
		s[i] = span{first, ws}
	}
	return s
}

func clamp8(v float32) uint8 {
	switch {
	case v <= 0:
		return 0
	case v >= 255:
		return 255
	}
	return uint8(v + 0.5)
}
