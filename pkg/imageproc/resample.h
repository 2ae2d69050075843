// Integer kernels of Pillow's 8-bit resampling passes (Resample.c,
// PRECISION_BITS = 22), on packed 3-byte RGB pixels. Both give exactly
// Pillow's result: the sums are the same int32 sums in another order.
#ifndef FASHIONCLIP_IMAGEPROC_RESAMPLE_H
#define FASHIONCLIP_IMAGEPROC_RESAMPLE_H

#include <stddef.h>
#include <stdint.h>

// Bytes that may be read past the last pixel a kernel uses: buffers handed
// to fc_dot_rows need this much spare capacity.
#define FC_PAD 32

// fc_dot_rows filters along rows ("dot product" form, pixels of a tap set
// adjacent in memory). For each of nrows rows (row r starts at
// src + r*src_stride) and each output o < nout, it sums
// k[o*kstride + t] * pixel(start[o] - start_off + t) over t < taps[o], and
// writes the clipped pixel to dst + r*dst_stride + o*dst_step. Coefficient
// rows must be zero from taps[o] up to a multiple of 4 (kstride allows it).
void fc_dot_rows(const uint8_t *src, ptrdiff_t src_stride, int nrows,
                 int nout, const int32_t *start, int start_off,
                 const int32_t *taps, const int32_t *k, int kstride,
                 uint8_t *dst, ptrdiff_t dst_stride, ptrdiff_t dst_step);

// fc_acc_rows filters across rows ("accumulate" form): output o is the
// nbytes-long run dst + o*dst_stride, the weighted sum of the runs
// src + (start[o] - start_off + t)*tap_stride for t < taps[o].
void fc_acc_rows(const uint8_t *src, ptrdiff_t tap_stride, int nout,
                 const int32_t *start, int start_off, const int32_t *taps,
                 const int32_t *k, int kstride, int nbytes, uint8_t *dst,
                 ptrdiff_t dst_stride);

// fc_simd_level reports the kernels in use: 2 for AVX2, 0 for portable C.
int fc_simd_level(void);

// fc_cap_simd limits the kernels to a level (tests use 0 to check the
// portable C against the SIMD code). Not safe while kernels run.
void fc_cap_simd(int level);

#endif
