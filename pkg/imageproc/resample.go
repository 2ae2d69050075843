package imageproc

import "math"

// This file reproduces the floating-point half of Pillow's Resample.c
// (ImagingResample, BICUBIC, 8-bit images): filter, coefficient tables and
// their rounding to fixed point. The integer passes are in resample.c.

// precisionBits is Pillow's PRECISION_BITS: 32 bits minus 8 for the pixel
// minus 2 for the headroom needed by negative lobes.
const precisionBits = 32 - 8 - 2

// bicubicSupport is the filter radius at scale 1 (Pillow's BICUBIC.support).
const bicubicSupport = 2.0

// bicubic is Pillow's bicubic_filter with a = -0.5. Each product is wrapped in
// float64() so that no compiler may fuse it into an FMA: Pillow's x86-64 build
// rounds after every operation.
func bicubic(x float64) float64 {
	const a = -0.5
	if x < 0 {
		x = -x
	}
	if x < 1 {
		t := float64((a + 2.0) * x)
		t = float64(t - (a + 3.0))
		t = float64(t * x)
		t = float64(t * x)
		return t + 1
	}
	if x < 2 {
		t := float64(x - 5)
		t = float64(t * x)
		t = float64(t + 8)
		t = float64(t * x)
		t = float64(t - 4)
		return t * a
	}
	return 0
}

// axis holds the fixed-point coefficients of one resampling pass, for the
// outputs [lo, lo+n) only. Every output depends only on its own coefficient
// row, so computing a subset gives the values the full pass would.
type axis struct {
	in, out  int
	identity bool // in == out: Pillow skips the pass
	lo, n    int
	kstride  int     // coefficient row length, a multiple of 4, zero padded
	start    []int32 // first source index of each output
	taps     []int32 // number of source pixels of each output
	k        []int32 // n rows of kstride coefficients, PRECISION_BITS fixed point
	srcLo    int     // source range read by the outputs
	srcHi    int
}

// newAxis mirrors precompute_coeffs and normalize_coeffs_8bpc for the box
// (0, in) resized to out samples, keeping outputs [lo, hi).
func newAxis(in, out, lo, hi int) *axis {
	a := &axis{in: in, out: out, lo: lo, n: hi - lo}
	if in == out {
		a.identity = true
		a.srcLo, a.srcHi = lo, hi
		return a
	}
	// Pillow passes the box as C floats; (float)in - 0 is exact for any size
	// an image can have, so the double below equals float64(in).
	scale := float64(in) / float64(out)
	filterscale := max(scale, 1)
	support := bicubicSupport * filterscale
	ksize := int(math.Ceil(support))*2 + 1
	a.kstride = (ksize + 3) &^ 3
	a.start = make([]int32, a.n)
	a.taps = make([]int32, a.n)
	a.k = make([]int32, a.n*a.kstride)
	ss := 1.0 / filterscale
	w := make([]float64, ksize)
	a.srcLo, a.srcHi = in, 0
	for i := 0; i < a.n; i++ {
		center := float64((float64(lo+i) + 0.5) * scale)
		// C's (int) cast truncates toward zero, as Go's conversion does.
		xmin := max(int(center-support+0.5), 0)
		xmax := min(int(center+support+0.5), in) - xmin
		ww := 0.0
		for x := 0; x < xmax; x++ {
			v := bicubic(float64(float64(float64(x+xmin)-center)+0.5) * ss)
			w[x] = v
			ww += v
		}
		k := a.k[i*a.kstride : (i+1)*a.kstride]
		for x := 0; x < xmax; x++ {
			v := w[x]
			if ww != 0 {
				v /= ww
			}
			// normalize_coeffs_8bpc rounds half away from zero.
			if v < 0 {
				k[x] = int32(-0.5 + float64(v*(1<<precisionBits)))
			} else {
				k[x] = int32(0.5 + float64(v*(1<<precisionBits)))
			}
		}
		a.start[i], a.taps[i] = int32(xmin), int32(xmax)
		a.srcLo, a.srcHi = min(a.srcLo, xmin), max(a.srcHi, xmin+xmax)
	}
	if a.srcLo > a.srcHi {
		a.srcLo, a.srcHi = 0, 0
	}
	return a
}

// mirrored returns the tables for sources laid out backwards: position p at
// index in-1-p. The sums are unchanged, only their order.
func (a *axis) mirrored() *axis {
	m := *a
	m.start = make([]int32, a.n)
	m.k = make([]int32, len(a.k))
	for i := 0; i < a.n; i++ {
		t := int(a.taps[i])
		m.start[i] = int32(a.in) - a.start[i] - a.taps[i]
		src := a.k[i*a.kstride : i*a.kstride+t]
		dst := m.k[i*a.kstride : i*a.kstride+t]
		for j := range src {
			dst[t-1-j] = src[j]
		}
	}
	m.srcLo, m.srcHi = a.in-a.srcHi, a.in-a.srcLo
	return &m
}
