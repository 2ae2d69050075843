package imageproc

import (
	"errors"
	"fmt"
	"image"
	"io/fs"
	"os"
	"sync"
)

// Preprocessor turns images into CLIP pixel_values. It is safe for
// concurrent use.
type Preprocessor struct {
	cfg    Config
	opts   Options
	cfgErr error
	lut    [3][256]float32 // uint8 sample → normalised value, per channel
	pool   sync.Pool       // *scratch
}

// scratch holds the buffers one call needs, reused through the pool.
type scratch struct {
	dec  []byte // decoded JPEG rows
	tmp  []byte // horizontal pass output
	tmp2 []byte // vertical pass output when it needs reordering
	crop []byte // resized pixels inside the crop window
}

// New returns a Preprocessor for cfg. An invalid cfg makes every call fail
// with the reason.
func New(cfg Config, opts Options) *Preprocessor {
	p := &Preprocessor{cfg: cfg, opts: opts, cfgErr: cfg.validate()}
	p.pool.New = func() any { return new(scratch) }
	// HF's rescale-then-normalize in float32: v*factor, then (x-mean)/std,
	// each rounded to float32 (the explicit conversions forbid FMA fusion).
	// On uint8 input the whole chain is a 256-entry table per channel.
	scale := float32(cfg.RescaleFactor)
	for c := 0; c < 3; c++ {
		for v := 0; v < 256; v++ {
			x := float32(v)
			if cfg.DoRescale {
				x = float32(x * scale)
			}
			if cfg.DoNormalize {
				x = float32(x-cfg.Mean[c]) / cfg.Std[c]
			}
			p.lut[c][v] = x
		}
	}
	return p
}

// PixelCount is the number of float32 values one image becomes (3*H*W), or
// 0 when that depends on the image (DoCenterCrop off).
func (p *Preprocessor) PixelCount() int {
	if !p.cfg.DoCenterCrop {
		return 0
	}
	return 3 * p.cfg.CropHeight * p.cfg.CropWidth
}

// File preprocesses the image file at path into CHW float32 values. Errors
// are *DecodeError values naming the path.
func (p *Preprocessor) File(path string) ([]float32, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &DecodeError{Path: path, Err: err}
	}
	out, err := p.bytes(nil, data)
	if err != nil {
		return nil, withPath(err, path)
	}
	return out, nil
}

// Bytes preprocesses an encoded image held in memory.
func (p *Preprocessor) Bytes(data []byte) ([]float32, error) {
	return p.bytes(nil, data)
}

// BytesInto is Bytes writing into dst, which must hold exactly the output
// (PixelCount values); it allocates no output.
func (p *Preprocessor) BytesInto(dst []float32, data []byte) error {
	if dst == nil {
		return errors.New("imageproc: BytesInto needs a destination")
	}
	_, err := p.bytes(dst, data)
	return err
}

// Reuse preprocesses data into dst's storage when it is large enough (else
// into a new slice) and returns the tensor: pipelines recycle buffers with it.
func (p *Preprocessor) Reuse(dst []float32, data []byte) ([]float32, error) {
	n := p.PixelCount()
	if n == 0 || cap(dst) < n {
		return p.Bytes(data)
	}
	dst = dst[:n]
	return dst, p.BytesInto(dst, data)
}

// Image preprocesses an already-decoded image, e.g. a 28×28 *image.Gray.
// Alpha is dropped and 16-bit samples are rounded to 8 bits, as for files.
func (p *Preprocessor) Image(img image.Image) ([]float32, error) {
	if p.cfgErr != nil {
		return nil, fmt.Errorf("imageproc: invalid config: %w", p.cfgErr)
	}
	if img == nil {
		return nil, &DecodeError{Err: errors.New("nil image")}
	}
	b := img.Bounds()
	if err := checkSize(b.Dx(), b.Dy(), p.opts); err != nil {
		return nil, &DecodeError{Err: err}
	}
	var rgb *RGB
	if err := guard(func() error { rgb = toRGB(img, 256); return nil }); err != nil {
		return nil, &DecodeError{Err: err}
	}
	s := &source{w: rgb.W, h: rgb.H, orientation: 1, rgb: rgb}
	out, err := p.run(nil, s, nil)
	if err != nil {
		return nil, &DecodeError{Err: err}
	}
	return out, nil
}

func withPath(err error, path string) error {
	var de *DecodeError
	if errors.As(err, &de) {
		de.Path = path
		return de
	}
	return &DecodeError{Path: path, Err: err}
}

func (p *Preprocessor) bytes(dst []float32, data []byte) ([]float32, error) {
	if p.cfgErr != nil {
		return nil, fmt.Errorf("imageproc: invalid config: %w", p.cfgErr)
	}
	target := 0
	if p.cfg.DoResize {
		target = p.cfg.ShortestEdge
	}
	s, err := open(data, p.opts, target)
	if err != nil {
		return nil, &DecodeError{Format: formatName(s), Err: err}
	}
	out, err := p.run(dst, s, data)
	if err != nil {
		return nil, &DecodeError{Format: string(s.format), Err: err}
	}
	return out, nil
}

func formatName(s *source) string {
	if s == nil {
		return ""
	}
	return string(s.format)
}

// resizedSize is HF's get_resize_output_image_size with
// default_to_square=False: the short side becomes edge and the long side
// int(edge*long/short), a float64 division truncated.
func resizedSize(w, h, edge int) (int, int) {
	short, long := w, h
	if w > h {
		short, long = h, w
	}
	newLong := int(float64(edge*long) / float64(short))
	if w <= h {
		return edge, newLong
	}
	return newLong, edge
}

// floorDiv2 is Python's n // 2.
func floorDiv2(n int) int {
	if n < 0 {
		return -((-n + 1) / 2)
	}
	return n / 2
}

// run resizes, crops and normalises s into dst (allocated when nil).
func (p *Preprocessor) run(dst []float32, s *source, data []byte) ([]float32, error) {
	cfg := p.cfg
	w, h := orientedSize(s.orientation, s.w, s.h)
	rw, rh := w, h
	if cfg.DoResize {
		rw, rh = resizedSize(w, h, cfg.ShortestEdge)
		if rw <= 0 || rh <= 0 {
			return nil, fmt.Errorf("image %dx%d is too thin to resize", w, h)
		}
	}
	// Crop window in resized coordinates, as HF's center_crop: offsets
	// floor((size-crop)/2), zero padding where the window leaves the image.
	outH, outW, top, left := rh, rw, 0, 0
	if cfg.DoCenterCrop {
		outH, outW = cfg.CropHeight, cfg.CropWidth
		top, left = floorDiv2(rh-outH), floorDiv2(rw-outW)
	}
	n := 3 * outH * outW
	if dst == nil {
		dst = make([]float32, n)
	} else if len(dst) != n {
		return nil, fmt.Errorf("destination holds %d values, the image needs %d", len(dst), n)
	}
	ry0, ry1 := max(top, 0), min(top+outH, rh)
	rx0, rx1 := max(left, 0), min(left+outW, rw)
	ax := newAxis(w, rw, rx0, rx1)
	ay := newAxis(h, rh, ry0, ry1)

	sc, _ := p.pool.Get().(*scratch)
	if sc == nil { // a Preprocessor not made by New
		sc = new(scratch)
	}
	defer p.pool.Put(sc)

	var src plane
	if s.rgb != nil {
		src, _, _ = orient(s.rgb.Pix, s.w, s.h, 3*s.w, 0, s.orientation)
	} else {
		// Decode only the stored rows that hold the source pixels read.
		r0, r1 := storedRows(s.orientation, s.h, ax.srcLo, ax.srcHi, ay.srcLo, ay.srcHi)
		need := (r1 - r0) * 3 * s.w
		sc.dec = grow(sc.dec, need)
		if err := s.decodeJPEGRows(data, r0, r1, sc.dec); err != nil {
			return nil, err
		}
		src, _, _ = orient(sc.dec, s.w, s.h, 3*s.w, r0, s.orientation)
	}

	nx, ny := rx1-rx0, ry1-ry0
	sc.crop = grow(sc.crop, 3*nx*ny)
	crop := sc.crop
	if err := resizeCrop(crop, src, ax, ay, sc); err != nil {
		return nil, err
	}

	// CHW output through the lookup tables; padded pixels are value 0.
	area := outH * outW
	for c := 0; c < 3; c++ {
		lut := &p.lut[c]
		pad := lut[0]
		out := dst[c*area : (c+1)*area]
		for y := 0; y < outH; y++ {
			row := out[y*outW : (y+1)*outW]
			ry := y + top
			if ry < ry0 || ry >= ry1 {
				for x := range row {
					row[x] = pad
				}
				continue
			}
			in := crop[(ry-ry0)*nx*3 : (ry-ry0+1)*nx*3]
			for x := range row {
				rx := x + left
				if rx < rx0 || rx >= rx1 {
					row[x] = pad
					continue
				}
				row[x] = lut[in[(rx-rx0)*3+c]]
			}
		}
	}
	return dst, nil
}

// DecodeRGB decodes an encoded image to packed 8-bit RGB with its EXIF
// orientation applied, as Pillow's exif_transpose + convert("RGB") would.
// With opts.FastDecode a JPEG may come out shrunk (short side ≥ 224).
func DecodeRGB(data []byte, opts Options) (*RGB, error) {
	s, err := open(data, opts, DefaultConfig().ShortestEdge)
	if err != nil {
		return nil, &DecodeError{Format: formatName(s), Err: err}
	}
	pix, stride := []byte(nil), 3*s.w
	if s.rgb != nil {
		pix = s.rgb.Pix
	} else {
		pix = makePix(stride * s.h)
		if err := s.decodeJPEGRows(data, 0, s.h, pix); err != nil {
			return nil, &DecodeError{Format: string(s.format), Err: err}
		}
	}
	if s.orientation == 1 {
		return &RGB{W: s.w, H: s.h, Pix: pix}, nil
	}
	src, w, h := orient(pix, s.w, s.h, stride, 0, s.orientation)
	out := &RGB{W: w, H: h, Pix: makePix(3 * w * h)}
	if err := copyPlane(plane{pix: out.Pix, ls: 3 * w, ps: 3}, src, h, 0, w); err != nil {
		return nil, &DecodeError{Format: string(s.format), Err: err}
	}
	return out, nil
}
