package imageproc

/*
#cgo CFLAGS: -O3
#include "resample.h"
*/
import "C"

import (
	"errors"
	"unsafe"
)

// padBytes is the spare capacity the C dot kernel may read past a pixel
// buffer's last used byte (its loads are 16 bytes wide).
const padBytes = C.FC_PAD

// makePix allocates n bytes with the spare capacity the kernels need.
func makePix(n int) []byte { return make([]byte, n, n+padBytes) }

// plane addresses packed RGB pixels by (line, position): the pixel starts at
// off + line*ls + pos*ps in pix. A pass filters along positions.
type plane struct {
	pix         []byte
	off, ls, ps int
}

func (p plane) at(l, q int) int { return p.off + l*p.ls + q*p.ps }

var errKernelBounds = errors.New("internal error: resampling outside the pixel buffer")

// inside reports whether the byte range [lo, hi) lies in buf, leaving the
// kernels' read-ahead room in its capacity.
func inside(buf []byte, lo, hi int, pad bool) bool {
	if lo < 0 || hi > len(buf) || lo > hi {
		return false
	}
	return !pad || cap(buf)-hi >= padBytes
}

func ptr(b []byte, i int) *C.uint8_t { return (*C.uint8_t)(unsafe.Pointer(&b[i])) }

func i32(s []int32) *C.int32_t { return (*C.int32_t)(unsafe.Pointer(&s[0])) }

// pass runs one Pillow pass: it filters src along its positions with ax for
// lines [l0, l1) and returns the result addressed as (line = output index
// of ax, position = source line). With dst the result is written there;
// otherwise it goes to buf (grown as needed) in the layout the kernel
// writes fastest. tmp is scratch for the rare case needing a copy.
func pass(src plane, l0, l1 int, ax *axis, dst *plane, buf []byte) (plane, []byte, error) {
	nl := l1 - l0
	if ax.identity {
		// Pillow copies: the result is src seen with lines and positions
		// swapped.
		res := plane{pix: src.pix, off: src.at(0, ax.lo), ls: src.ps, ps: src.ls}
		if dst == nil {
			return res, buf, nil
		}
		return *dst, buf, copyPlane(*dst, res, ax.n, l0, l1)
	}
	if ax.n == 0 || nl <= 0 {
		return plane{}, buf, errKernelBounds
	}
	switch {
	case src.ps == 3 || src.ps == -3:
		return dotPass(src, l0, l1, ax, dst, buf)
	case src.ls == 3 || src.ls == -3:
		return accPass(src, l0, l1, ax, dst, buf)
	}
	return plane{}, buf, errKernelBounds
}

// dotPass handles positions adjacent in memory: dot products along lines.
func dotPass(src plane, l0, l1 int, ax *axis, dst *plane, buf []byte) (plane, []byte, error) {
	nl := l1 - l0
	// Kernel rows start at their lowest address read; backwards sources use
	// mirrored tables so that the kernel always walks forwards.
	tab, lowest := ax, ax.srcLo
	if src.ps < 0 {
		tab, lowest = ax.mirrored(), ax.srcHi-1
	}
	span := (tab.srcHi - tab.srcLo) * 3
	for _, l := range []int{l0, l1 - 1} {
		if b := src.at(l, lowest); !inside(src.pix, b, b+span, true) {
			return plane{}, buf, errKernelBounds
		}
	}
	var out plane
	if dst != nil {
		out = *dst
	} else {
		buf = grow(buf, nl*ax.n*3)
		out = plane{pix: buf, off: -l0 * ax.n * 3, ls: 3, ps: ax.n * 3}
	}
	if !cornersInside(out, ax.n, l0, l1) {
		return plane{}, buf, errKernelBounds
	}
	C.fc_dot_rows(ptr(src.pix, src.at(l0, lowest)), C.ptrdiff_t(src.ls), C.int(nl),
		C.int(ax.n), i32(tab.start), C.int(tab.srcLo), i32(tab.taps), i32(tab.k),
		C.int(tab.kstride), ptr(out.pix, out.at(0, l0)), C.ptrdiff_t(out.ps), C.ptrdiff_t(out.ls))
	return out, buf, nil
}

// accPass handles lines adjacent in memory: each output is a weighted sum of
// whole runs of lines, the form SIMD likes best.
func accPass(src plane, l0, l1 int, ax *axis, dst *plane, buf []byte) (plane, []byte, error) {
	nl := l1 - l0
	nbytes := nl * 3
	// The run of lines in memory order starts at lmem; the result keeps that
	// order, so its positions step by +3 or -3 like the source's lines.
	lmem, step := l0, 3
	if src.ls < 0 {
		lmem, step = l1-1, -3
	}
	n := ax.n
	ends := []int{
		src.at(lmem, int(ax.start[0])), src.at(lmem, int(ax.start[0]+ax.taps[0])-1),
		src.at(lmem, int(ax.start[n-1])), src.at(lmem, int(ax.start[n-1]+ax.taps[n-1])-1),
	}
	if !inside(src.pix, min(ends[0], ends[1], ends[2], ends[3]), max(ends[0], ends[1], ends[2], ends[3])+nbytes, false) {
		return plane{}, buf, errKernelBounds
	}
	direct := dst != nil && dst.ps == step
	var out plane
	if direct {
		out = *dst
	} else {
		buf = grow(buf, n*nbytes)
		out = plane{pix: buf, off: -l0 * step, ls: nbytes, ps: step}
		if step < 0 {
			out.off = (l1 - 1) * 3
		}
	}
	if !cornersInside(out, n, l0, l1) {
		return plane{}, buf, errKernelBounds
	}
	C.fc_acc_rows(ptr(src.pix, src.at(lmem, ax.srcLo)), C.ptrdiff_t(src.ps), C.int(n),
		i32(ax.start), C.int(ax.srcLo), i32(ax.taps), i32(ax.k), C.int(ax.kstride),
		C.int(nbytes), ptr(out.pix, out.at(0, lmem)), C.ptrdiff_t(out.ls))
	if dst != nil && !direct {
		return *dst, buf, copyPlane(*dst, out, n, l0, l1)
	}
	return out, buf, nil
}

// cornersInside checks that every pixel (line < n, position in [l0, l1)) of
// p lies in its buffer; addresses are affine, so the corners suffice.
func cornersInside(p plane, n, l0, l1 int) bool {
	c := []int{p.at(0, l0), p.at(n-1, l0), p.at(0, l1-1), p.at(n-1, l1-1)}
	return inside(p.pix, min(c[0], c[1], c[2], c[3]), max(c[0], c[1], c[2], c[3])+3, false)
}

// copyPlane copies pixels (line < n, position in [l0, l1)) from src to dst.
func copyPlane(dst, src plane, n, l0, l1 int) error {
	if n <= 0 || l1 <= l0 {
		return nil
	}
	if !cornersInside(src, n, l0, l1) || !cornersInside(dst, n, l0, l1) {
		return errKernelBounds
	}
	for o := 0; o < n; o++ {
		for l := l0; l < l1; l++ {
			s, d := src.at(o, l), dst.at(o, l)
			copy(dst.pix[d:d+3], src.pix[s:s+3])
		}
	}
	return nil
}

func grow(b []byte, n int) []byte {
	if cap(b) < n+padBytes {
		return makePix(n)
	}
	return b[:n]
}

// resizeCrop resizes the oriented image src (addressed as line = y,
// position = x) with Pillow's BICUBIC, horizontal pass first as
// ImagingResampleInner does, and writes the resized pixels of columns
// ax.lo.. and rows ay.lo.. packed into crop (ay.n rows of ax.n pixels).
func resizeCrop(crop []byte, src plane, ax, ay *axis, sc *scratch) error {
	if ax.n == 0 || ay.n == 0 {
		return nil
	}
	// Horizontal pass over the source rows the vertical pass reads.
	mid, tmp, err := pass(src, ay.srcLo, ay.srcHi, ax, nil, sc.tmp)
	sc.tmp = tmp
	if err != nil {
		return err
	}
	out := plane{pix: crop, ls: ax.n * 3, ps: 3}
	_, tmp, err = pass(mid, 0, ax.n, ay, &out, sc.tmp2)
	sc.tmp2 = tmp
	return err
}

// simdLevel reports the kernels in use: 2 for AVX2, 0 for portable C.
func simdLevel() int { return int(C.fc_simd_level()) }

// capSIMD limits the kernels to level and returns the previous level. For
// tests only: not safe while other goroutines resample.
func capSIMD(level int) int {
	prev := simdLevel()
	C.fc_cap_simd(C.int(level))
	return prev
}
