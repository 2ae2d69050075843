package imageproc

/*
#cgo LDFLAGS: -ljpeg
#include <stdlib.h>
#include <stdint.h>
#include "jpeg.h"
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"unsafe"
)

// JPEG goes through libjpeg(-turbo) rather than image/jpeg: Pillow uses
// libjpeg's integer IDCT and fancy upsampling, and image/jpeg produces
// different pixels. The C side never keeps a pointer after a call returns,
// so Go memory is passed directly and nothing needs freeing.

func jpegErr(info *C.fc_jpeg_info) error {
	msg := C.GoString(&info.err[0])
	if info.truncated != 0 {
		return fmt.Errorf("%w (%s)", errTruncated, msg)
	}
	return errors.New(msg)
}

func (s *source) openJPEG(data []byte, opts Options, target int) error {
	var info C.fc_jpeg_info
	if C.fc_jpeg_header((*C.uchar)(unsafe.Pointer(&data[0])), C.size_t(len(data)), &info) != 0 {
		return jpegErr(&info)
	}
	w, h := int(info.width), int(info.height)
	s.info = jpegInfo(&info)
	if err := checkSize(w, h, opts); err != nil {
		return err
	}
	switch info.components {
	case 1, 3, 4:
	default:
		return fmt.Errorf("%w: %d-component JPEG", ErrUnsupportedFormat, int(info.components))
	}
	s.orientation = jpegOrientation(data)
	s.maxScans = opts.maxScans()
	s.jpegDenom = 1
	if opts.FastDecode && target > 0 {
		for _, d := range []int{8, 4, 2} {
			if min(ceilDiv(w, d), ceilDiv(h, d)) >= target {
				s.jpegDenom = d
				break
			}
		}
	}
	s.w, s.h = ceilDiv(w, s.jpegDenom), ceilDiv(h, s.jpegDenom)
	return nil
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// cancelFlag is a flag in C memory that the C decoder polls, set when ctx
// is done. release must be called once the decode has returned.
func cancelFlag(ctx context.Context) (flag *C.int, release func()) {
	if ctx.Done() == nil {
		return nil, func() {}
	}
	flag = C.fc_new_flag()
	done := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		C.fc_set_flag(flag)
		close(done)
	})
	return flag, func() {
		if !stop() {
			<-done // the setter has started: let it finish before freeing
		}
		C.fc_free(unsafe.Pointer(flag))
	}
}

// decodeJPEGRows decodes rows [r0, r1) of the (scaled) image into out, which
// holds (r1-r0) rows of 3*s.w bytes.
func (s *source) decodeJPEGRows(ctx context.Context, data []byte, r0, r1 int, out []byte) error {
	var info C.fc_jpeg_info
	var dst *C.uchar
	if len(out) > 0 {
		dst = (*C.uchar)(unsafe.Pointer(&out[0]))
	}
	flag, release := cancelFlag(ctx)
	lim := C.fc_jpeg_limits{cancel: flag, max_scans: C.int(s.maxScans)}
	rc := C.fc_jpeg_decode((*C.uchar)(unsafe.Pointer(&data[0])), C.size_t(len(data)),
		C.int(s.jpegDenom), C.int(r0), C.int(r1), dst, C.size_t(3*s.w), &lim, &info)
	release()
	return s.jpegResult(ctx, rc, &info)
}

// decodeJPEGHPass decodes rows [r0, r1) and runs each through the
// horizontal pass of ax as it comes, so the image is never held decoded:
// mid receives oriented lines [l0, l1), each ax.n pixels, laid out as
// dotPass lays out its result. Orientations 1 to 4 only (rows stay rows).
func (s *source) decodeJPEGHPass(ctx context.Context, data []byte, r0, r1 int, ax *axis, l0, l1 int, mid []byte) error {
	if s.orientation < 1 || s.orientation > 4 || ax.n <= 0 || l1 <= l0 || len(mid) < (l1-l0)*ax.n*3 {
		return errKernelBounds
	}
	mirror := s.orientation == 2 || s.orientation == 3
	// hp holds Go pointers and is itself in Go memory: cgo wants them pinned.
	var pin runtime.Pinner
	defer pin.Unpin()
	pin.Pin(&mid[0])
	hp := C.fc_hpass{l0: C.int(l0), l1: C.int(l1), nout: C.int(ax.n), dst: (*C.uchar)(unsafe.Pointer(&mid[0]))}
	if s.orientation == 3 || s.orientation == 4 {
		hp.flip = 1
	}
	if ax.identity {
		hp.identity = 1
		first := ax.lo
		if mirror {
			hp.mirror, first = 1, s.w-1-ax.lo
		}
		if first < 0 || first >= s.w || ax.lo+ax.n > s.w {
			return errKernelBounds
		}
		hp.src_off = C.size_t(3 * first)
	} else {
		tab := ax
		if mirror {
			tab = ax.mirrored()
		}
		if tab.srcLo < 0 || tab.srcHi > s.w {
			return errKernelBounds
		}
		hp.src_off = C.size_t(3 * tab.srcLo)
		pin.Pin(&tab.start[0])
		pin.Pin(&tab.taps[0])
		pin.Pin(&tab.k[0])
		hp.start, hp.taps, hp.k = i32(tab.start), i32(tab.taps), i32(tab.k)
		hp.start_off, hp.kstride = C.int(tab.srcLo), C.int(tab.kstride)
	}
	var info C.fc_jpeg_info
	flag, release := cancelFlag(ctx)
	lim := C.fc_jpeg_limits{cancel: flag, max_scans: C.int(s.maxScans)}
	rc := C.fc_jpeg_decode_hpass((*C.uchar)(unsafe.Pointer(&data[0])), C.size_t(len(data)),
		C.int(s.jpegDenom), C.int(r0), C.int(r1), &hp, &lim, &info)
	release()
	return s.jpegResult(ctx, rc, &info)
}

// jpegResult turns a decode's return code and info into an error.
func (s *source) jpegResult(ctx context.Context, rc C.int, info *C.fc_jpeg_info) error {
	if rc != 0 {
		switch {
		case info.cancelled != 0:
			return ctx.Err()
		case info.too_many_scans != 0:
			return fmt.Errorf("%w: %s", ErrTooComplex, C.GoString(&info.err[0]))
		}
		return jpegErr(info)
	}
	if int(info.out_width) != s.w || int(info.out_height) != s.h {
		return fmt.Errorf("libjpeg scaled to %dx%d, expected %dx%d", int(info.out_width), int(info.out_height), s.w, s.h)
	}
	if info.truncated != 0 {
		return errTruncated
	}
	return nil
}

// jpegOptions selects what encodeJPEG writes.
type jpegOptions struct {
	quality     int
	hs, vs      int // luma sampling factors: 2,2 = 4:2:0; 2,1 = 4:2:2; 1,1 = 4:4:4
	progressive bool
	ycck        bool   // 4-component input: store as YCCK instead of CMYK
	app1        []byte // written as an APP1 segment when not empty
}

// encodeJPEG writes pix (w*h*comps bytes) with libjpeg. It exists for the
// package's own fixtures and benchmarks.
func encodeJPEG(pix []byte, w, h, comps int, o jpegOptions) ([]byte, error) {
	if len(pix) != w*h*comps || len(pix) == 0 {
		return nil, errors.New("encodeJPEG: pixel buffer does not match the size")
	}
	var out *C.uchar
	var outLen C.ulong
	var errBuf [C.FC_ERRLEN]C.char
	var app1 *C.uchar
	if len(o.app1) > 0 {
		app1 = (*C.uchar)(unsafe.Pointer(&o.app1[0]))
	}
	b2i := func(b bool) C.int {
		if b {
			return 1
		}
		return 0
	}
	rc := C.fc_jpeg_encode((*C.uchar)(unsafe.Pointer(&pix[0])), C.int(w), C.int(h), C.int(comps),
		C.int(o.quality), C.int(o.hs), C.int(o.vs), b2i(o.progressive), b2i(o.ycck),
		app1, C.size_t(len(o.app1)), &out, &outLen, &errBuf[0])
	if rc != 0 {
		return nil, errors.New(C.GoString(&errBuf[0]))
	}
	defer C.fc_free(unsafe.Pointer(out))
	return C.GoBytes(unsafe.Pointer(out), C.int(outLen)), nil
}

// LibjpegTurboVersion is the libjpeg-turbo version the package was compiled
// against ("2.1.5"), or "" when built with another libjpeg.
func LibjpegTurboVersion() string {
	n := int(C.fc_jpeg_turbo_version())
	if n <= 0 {
		return ""
	}
	return fmt.Sprintf("%d.%d.%d", n/1000000, n/1000%1000, n%1000)
}
