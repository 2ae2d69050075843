package imageproc

import (
	"context"
	"errors"
	"fmt"
	"image"
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
	// On uint8 input the whole normalisation is a table per channel, and
	// validate has checked that every entry is finite: no output value can
	// be NaN or infinite, padding included.
	p.lut = cfg.lut()
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

// Request asks one Process call for more than the pixels.
type Request struct {
	// Dst is storage to reuse: the pixels are written there when it has the
	// capacity (PixelCount values), else into a new slice.
	Dst []float32
	// Thumbnail, when positive, also makes a JPEG of at most this many
	// pixels on its longest side (160–256 suits an HTML report). It is made
	// from the resized pixels inside the crop window, what the model sees,
	// so it costs no second decode and never touches the full image.
	Thumbnail int
	// ThumbnailQuality is the JPEG quality, 1..100; 0 means 80.
	ThumbnailQuality int
}

// Result is what Process returns.
type Result struct {
	Pixels    []float32 // CHW float32 values
	Thumbnail []byte    // JPEG, when Request.Thumbnail asked for one
	Info      Info      // what the header said
}

// Process preprocesses an encoded image held in memory. Decoding stops
// soon after ctx is done (between rows in the C and Go decoders, between
// scans of a progressive JPEG) and the error is then ctx.Err(). Other errors
// are *DecodeError values.
func (p *Preprocessor) Process(ctx context.Context, data []byte, req Request) (Result, error) {
	var dst []float32
	if n := p.PixelCount(); n > 0 && cap(req.Dst) >= n {
		dst = req.Dst[:n]
	}
	return p.process(ctx, dst, data, req)
}

// FileContext preprocesses the image file at path (read with ReadFile
// under Options.MaxFileBytes). Errors are *DecodeError values naming the
// path, or ctx.Err().
func (p *Preprocessor) FileContext(ctx context.Context, path string) ([]float32, error) {
	data, err := ReadFile(ctx, path, p.opts.maxFileBytes())
	if err != nil {
		return nil, err
	}
	res, err := p.process(ctx, nil, data, Request{})
	if err != nil {
		return nil, withPath(err, path)
	}
	return res.Pixels, nil
}

// ReadFile reads an image file under the preprocessor's MaxFileBytes (see
// the package's ReadFile), for callers that want the bytes as well.
func (p *Preprocessor) ReadFile(ctx context.Context, path string) ([]byte, error) {
	return ReadFile(ctx, path, p.opts.maxFileBytes())
}

// File is FileContext without cancellation.
func (p *Preprocessor) File(path string) ([]float32, error) {
	return p.FileContext(context.Background(), path)
}

// BytesContext preprocesses an encoded image held in memory.
func (p *Preprocessor) BytesContext(ctx context.Context, data []byte) ([]float32, error) {
	res, err := p.process(ctx, nil, data, Request{})
	return res.Pixels, err
}

// Bytes is BytesContext without cancellation.
func (p *Preprocessor) Bytes(data []byte) ([]float32, error) {
	return p.BytesContext(context.Background(), data)
}

// BytesInto is Bytes writing into dst, which must hold exactly the output
// (PixelCount values); it allocates no output.
func (p *Preprocessor) BytesInto(dst []float32, data []byte) error {
	if dst == nil {
		return errors.New("imageproc: BytesInto needs a destination")
	}
	_, err := p.process(context.Background(), dst, data, Request{})
	return err
}

// ReuseContext preprocesses data into dst's storage when it is large
// enough (else into a new slice) and returns the tensor: pipelines recycle
// buffers with it.
func (p *Preprocessor) ReuseContext(ctx context.Context, dst []float32, data []byte) ([]float32, error) {
	res, err := p.Process(ctx, data, Request{Dst: dst})
	return res.Pixels, err
}

// Reuse is ReuseContext without cancellation.
func (p *Preprocessor) Reuse(dst []float32, data []byte) ([]float32, error) {
	return p.ReuseContext(context.Background(), dst, data)
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
	if err := guard(func() error { rgb = toRGB(img, 256, false); return nil }); err != nil {
		return nil, &DecodeError{Err: err}
	}
	s := &source{w: rgb.W, h: rgb.H, orientation: 1, rgb: rgb}
	out, _, err := p.run(context.Background(), nil, s, nil, Request{})
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

func (p *Preprocessor) process(ctx context.Context, dst []float32, data []byte, req Request) (Result, error) {
	if p.cfgErr != nil {
		return Result{}, fmt.Errorf("imageproc: invalid config: %w", p.cfgErr)
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	target := 0
	if p.cfg.DoResize {
		target = p.cfg.ShortestEdge
	}
	s, err := open(ctx, data, p.opts, target)
	if err != nil {
		return Result{}, decodeErr(ctx, s, err)
	}
	out, thumb, err := p.run(ctx, dst, s, data, req)
	if err != nil {
		return Result{}, decodeErr(ctx, s, err)
	}
	return Result{Pixels: out, Thumbnail: thumb, Info: s.info}, nil
}

// decodeErr wraps a failure as a *DecodeError, except cancellation, which
// is the caller's doing and not the input's fault.
func decodeErr(ctx context.Context, s *source, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return ctxErr
	}
	return &DecodeError{Format: formatName(s), Err: err}
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

// run resizes, crops and normalises s into dst (allocated when nil), and
// makes the thumbnail req asks for.
func (p *Preprocessor) run(ctx context.Context, dst []float32, s *source, data []byte, req Request) ([]float32, []byte, error) {
	cfg := p.cfg
	w, h := orientedSize(s.orientation, s.w, s.h)
	rw, rh := w, h
	if cfg.DoResize {
		rw, rh = resizedSize(w, h, cfg.ShortestEdge)
		if rw <= 0 || rh <= 0 {
			return nil, nil, fmt.Errorf("image %dx%d is too thin to resize", w, h)
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
		return nil, nil, fmt.Errorf("destination holds %d values, the image needs %d", len(dst), n)
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

	nx, ny := rx1-rx0, ry1-ry0
	sc.crop = grow(sc.crop, 3*nx*ny)
	crop := sc.crop
	if s.rgb == nil && streamJPEG && s.orientation <= 4 && ax.n > 0 && ay.n > 0 {
		// JPEG rows stream through the horizontal pass as libjpeg yields
		// them; then the vertical pass runs as resizeCrop's would.
		l0, l1 := ay.srcLo, ay.srcHi
		r0, r1 := storedRows(s.orientation, s.h, ax.srcLo, ax.srcHi, l0, l1)
		sc.tmp = grow(sc.tmp, (l1-l0)*ax.n*3)
		if err := s.decodeJPEGHPass(ctx, data, r0, r1, ax, l0, l1, sc.tmp); err != nil {
			return nil, nil, err
		}
		mid := plane{pix: sc.tmp, off: -l0 * ax.n * 3, ls: 3, ps: ax.n * 3}
		out := plane{pix: crop, ls: ax.n * 3, ps: 3}
		var err error
		if _, sc.tmp2, err = pass(mid, 0, ax.n, ay, &out, sc.tmp2); err != nil {
			return nil, nil, err
		}
		return p.finish(dst, crop, nx, top, left, ry0, ry1, rx0, rx1, outH, outW, req, sc)
	}
	var src plane
	if s.rgb != nil {
		src, _, _ = orient(s.rgb.Pix, s.w, s.h, 3*s.w, 0, s.orientation)
	} else {
		// Decode only the stored rows that hold the source pixels read.
		r0, r1 := storedRows(s.orientation, s.h, ax.srcLo, ax.srcHi, ay.srcLo, ay.srcHi)
		need := (r1 - r0) * 3 * s.w
		sc.dec = grow(sc.dec, need)
		if err := s.decodeJPEGRows(ctx, data, r0, r1, sc.dec); err != nil {
			return nil, nil, err
		}
		src, _, _ = orient(sc.dec, s.w, s.h, 3*s.w, r0, s.orientation)
	}

	if err := resizeCrop(crop, src, ax, ay, sc); err != nil {
		return nil, nil, err
	}
	return p.finish(dst, crop, nx, top, left, ry0, ry1, rx0, rx1, outH, outW, req, sc)
}

// streamJPEG selects the streaming JPEG path (tests compare both).
var streamJPEG = true

// finish makes the thumbnail req asks for and writes the CHW output from
// the resized pixels of the crop window.
func (p *Preprocessor) finish(dst []float32, crop []byte, nx, top, left, ry0, ry1, rx0, rx1, outH, outW int, req Request, sc *scratch) ([]float32, []byte, error) {
	ny := ry1 - ry0
	var thumb []byte
	if req.Thumbnail > 0 && nx > 0 && ny > 0 {
		var err error
		if thumb, err = thumbnail(crop, nx, ny, req.Thumbnail, req.ThumbnailQuality, sc); err != nil {
			return nil, nil, err
		}
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
	return dst, thumb, nil
}

// DecodeRGB decodes an encoded image to packed 8-bit RGB with its EXIF
// orientation applied, as Pillow's exif_transpose + convert("RGB") would.
// With opts.FastDecode a JPEG may come out shrunk (short side ≥ 224).
func DecodeRGB(data []byte, opts Options) (*RGB, error) {
	return DecodeRGBContext(context.Background(), data, opts)
}

// DecodeRGBContext is DecodeRGB stopping when ctx is done.
func DecodeRGBContext(ctx context.Context, data []byte, opts Options) (*RGB, error) {
	s, err := open(ctx, data, opts, DefaultConfig().ShortestEdge)
	if err != nil {
		return nil, decodeErr(ctx, s, err)
	}
	pix, stride := []byte(nil), 3*s.w
	if s.rgb != nil {
		pix = s.rgb.Pix
	} else {
		pix = makePix(stride * s.h)
		if err := s.decodeJPEGRows(ctx, data, 0, s.h, pix); err != nil {
			return nil, decodeErr(ctx, s, err)
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
