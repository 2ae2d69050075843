// C side of the JPEG decoder: libjpeg(-turbo) behind a longjmp error manager
// so that corrupt input becomes an error value instead of exit().
#ifndef FASHIONCLIP_IMAGEPROC_JPEG_H
#define FASHIONCLIP_IMAGEPROC_JPEG_H

#include <stddef.h>
#include <stdint.h>

#define FC_ERRLEN 200

typedef struct {
	int width, height;      // image size as stored (before EXIF rotation)
	int out_width, out_height; // size after DCT scaling
	int components;         // 1 grey, 3 colour, 4 CMYK/YCCK
	int color_space;        // libjpeg's J_COLOR_SPACE of the file
	int adobe;              // an Adobe APP14 marker was seen
	int progressive;
	int truncated;          // the data ended before the image did
	int cancelled;          // the cancel flag stopped the decode
	int too_many_scans;     // the scan limit stopped the decode
	char err[FC_ERRLEN];    // libjpeg's message when a call returns non-zero
} fc_jpeg_info;

// Bounds of one decode. cancel, when not NULL, is polled between rows and
// in libjpeg's progress monitor (once per iMCU row of every scan), so that
// another thread can stop the decode by setting it (fc_set_flag).
typedef struct {
	const int *cancel;
	int max_scans; // refuse files with more scans; 0: no limit
} fc_jpeg_limits;

// fc_jpeg_header reads the headers only. Returns 0 on success.
int fc_jpeg_header(const unsigned char *data, size_t len, fc_jpeg_info *info);

// fc_jpeg_decode decodes rows [row0, row1) of the image scaled by 1/denom
// (denom 1, 2, 4 or 8) into out as packed 8-bit RGB, stride bytes per row.
// All rows after row1 are still entropy-decoded so truncation anywhere is
// reported. Returns 0 on success.
int fc_jpeg_decode(const unsigned char *data, size_t len, int denom, int row0,
                   int row1, unsigned char *out, size_t stride,
                   const fc_jpeg_limits *lim, fc_jpeg_info *info);

// fc_hpass describes the horizontal resampling pass applied to each row as
// it is decoded (fc_jpeg_decode with hp != NULL): row y of the image is
// oriented line l = flip ? height-1-y : y; lines [l0, l1) are filtered with
// fc_dot_rows' tables (start, start_off, taps, k, kstride; nout outputs)
// reading from byte src_off of the row, and written to dst + (l-l0)*nout*3.
// identity copies nout pixels from src_off instead, backwards when mirror.
typedef struct {
	int l0, l1, flip, identity, mirror;
	size_t src_off;
	int nout;
	const int32_t *start, *taps, *k;
	int start_off, kstride;
	unsigned char *dst;
} fc_hpass;

// fc_jpeg_decode_hpass is fc_jpeg_decode streaming rows [row0, row1)
// through hp instead of storing them: the decoded image is never held.
int fc_jpeg_decode_hpass(const unsigned char *data, size_t len, int denom,
                         int row0, int row1, const fc_hpass *hp,
                         const fc_jpeg_limits *lim, fc_jpeg_info *info);

// fc_jpeg_turbo_version is LIBJPEG_TURBO_VERSION_NUMBER of the headers the
// code was compiled against (0 for another libjpeg).
int fc_jpeg_turbo_version(void);

// A cancellation flag in C memory (free with fc_free), and its setter.
int *fc_new_flag(void);
void fc_set_flag(int *flag);

// fc_jpeg_encode writes pix (w*h*comps bytes; comps 1 = grey, 3 = RGB,
// 4 = CMYK stored Adobe-inverted) as a JPEG in malloc'd memory that the caller
// frees with fc_free. hs/vs are the luma sampling factors (2,2 = 4:2:0).
// app1, when app1len > 0, is written as an APP1 segment. Test fixtures and
// benchmarks use it; decoding never does.
int fc_jpeg_encode(const unsigned char *pix, int w, int h, int comps,
                   int quality, int hs, int vs, int progressive, int ycck,
                   const unsigned char *app1, size_t app1len,
                   unsigned char **out, unsigned long *outlen, char *err);

void fc_free(void *p);

#endif
