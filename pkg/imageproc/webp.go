package imageproc

import "image"

// Lossy WebP holds 4:2:0 YCbCr. x/image/webp decodes the planes (VP8
// decoding is fully specified, so they match libwebp's), but Go's
// YCbCr→RGB uses nearest chroma and other constants. Pillow gets its
// pixels from libwebp, which upsamples chroma with a "fancy" 9-3-3-1 filter
// in a particular integer order and converts with 14-bit fixed-point
// constants; webpRGB reproduces both.

// webpClip is libwebp's VP8Clip8: the value carries 6 fraction bits.
func webpClip(v int) byte {
	if v&^16383 == 0 {
		return byte(v >> 6)
	}
	if v < 0 {
		return 0
	}
	return 255
}

// mulHi emulates the 16-bit high multiply libwebp's formulas are written in.
func mulHi(v, c int) int { return (v * c) >> 8 }

func webpPixel(d []byte, y, u, v int) {
	d[0] = webpClip(mulHi(y, 19077) + mulHi(v, 26149) - 14234)
	d[1] = webpClip(mulHi(y, 19077) - mulHi(u, 6419) - mulHi(v, 13320) + 8708)
	d[2] = webpClip(mulHi(y, 19077) + mulHi(u, 33050) - 17685)
}

// upsampleRow computes one luma row's chroma from its nearer chroma row n
// and the other one f (weights 3:1 vertically and horizontally), with
// libwebp's rounding: two-pixel steps share the diagonal sums.
func upsampleRow(out []byte, n, f []byte, w int) {
	out[0] = byte((3*int(n[0]) + int(f[0]) + 2) >> 2)
	for x := 1; x <= (w-1)/2; x++ {
		tl, t, l, c := int(n[x-1]), int(n[x]), int(f[x-1]), int(f[x])
		d12 := (tl + 3*t + 3*l + c + 8) >> 3
		d03 := (3*tl + t + l + 3*c + 8) >> 3
		out[2*x-1] = byte((d12 + tl) >> 1)
		out[2*x] = byte((d03 + t) >> 1)
	}
	if w%2 == 0 {
		last := (w - 1) / 2
		out[w-1] = byte((3*int(n[last]) + int(f[last]) + 2) >> 2)
	}
}

// webpRGB converts the planes of a lossy WebP to RGB as libwebp does; ok is
// false for layouts other than 4:2:0.
func webpRGB(img image.Image) (*RGB, bool) {
	var m *image.YCbCr
	switch t := img.(type) {
	case *image.YCbCr:
		m = t
	case *image.NYCbCrA:
		m = &t.YCbCr
	default:
		return nil, false
	}
	if m.SubsampleRatio != image.YCbCrSubsampleRatio420 || m.Rect.Min != (image.Point{}) {
		return nil, false
	}
	w, h := m.Rect.Dx(), m.Rect.Dy()
	uvH := (h + 1) / 2
	out := &RGB{W: w, H: h, Pix: makePix(3 * w * h)}
	cu, cv := make([]byte, w), make([]byte, w)
	crow := func(p []byte, r int) []byte { return p[r*m.CStride:] }
	for y := 0; y < h; y++ {
		// Chroma row k sits between luma rows 2k-1 and 2k: odd rows lean on
		// the row above, even rows on the row below; the first and (for even
		// heights) last rows have one neighbour and mirror it.
		near, far := y/2, max(y/2-1, 0)
		if y%2 == 1 {
			near, far = (y-1)/2, min((y+1)/2, uvH-1)
		}
		upsampleRow(cu, crow(m.Cb, near), crow(m.Cb, far), w)
		upsampleRow(cv, crow(m.Cr, near), crow(m.Cr, far), w)
		ys := m.Y[y*m.YStride:]
		d := out.Pix[3*y*w:]
		for x := 0; x < w; x++ {
			webpPixel(d[3*x:3*x+3], int(ys[x]), int(cu[x]), int(cv[x]))
		}
	}
	return out, true
}
