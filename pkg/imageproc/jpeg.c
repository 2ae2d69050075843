// libjpeg glue for the Go decoder. Kept to the defaults Pillow uses
// (JDCT_ISLOW, fancy upsampling, block smoothing) so that the decoded pixels
// are the ones Pillow sees when linked against the same libjpeg-turbo.
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

#include "jpeg.h"
#include "resample.h"

typedef struct {
	struct jpeg_error_mgr pub;
	jmp_buf jump;
	int eof; // libjpeg had to invent an EOI because the data ran out
	struct jpeg_progress_mgr progress;
	const int *cancel;  // set to non-zero by another thread to stop
	int max_scans;      // 0: no limit
	int stop;           // why the progress monitor stopped the decode
} fc_err_mgr;

enum { FC_STOP_NONE, FC_STOP_CANCELLED, FC_STOP_SCANS };

static int fc_cancelled(const fc_err_mgr *e) {
	return e->cancel != NULL && __atomic_load_n(e->cancel, __ATOMIC_RELAXED) != 0;
}

// libjpeg's default error_exit calls exit(); jump back to the caller instead.
static void fc_error_exit(j_common_ptr c) {
	fc_err_mgr *e = (fc_err_mgr *)c->err;
	longjmp(e->jump, 1);
}

// Warnings (corrupt-data recoveries) are ignored as Pillow ignores them, but a
// premature end of file is remembered: Pillow refuses truncated images.
static void fc_emit_message(j_common_ptr c, int level) {
	if (level < 0) {
		fc_err_mgr *e = (fc_err_mgr *)c->err;
		if (c->err->msg_code == JWRN_JPEG_EOF) {
			e->eof = 1;
		}
		c->err->num_warnings++;
	}
}

// A library never prints.
static void fc_output_message(j_common_ptr c) { (void)c; }

static void fc_init_err(fc_err_mgr *e) {
	jpeg_std_error(&e->pub);
	e->pub.error_exit = fc_error_exit;
	e->pub.emit_message = fc_emit_message;
	e->pub.output_message = fc_output_message;
	e->eof = 0;
	e->cancel = NULL;
	e->max_scans = 0;
	e->stop = FC_STOP_NONE;
}

// libjpeg calls the progress monitor once per iMCU row of every scan it
// absorbs, also inside jpeg_start_decompress, which reads all the scans of
// a progressive file in one call: the one place where both the scan limit
// and cancellation can stop that work (as libjpeg-turbo's own tools bound
// scans). Leaving through longjmp is what the error manager does anyway.
static void fc_progress(j_common_ptr c) {
	fc_err_mgr *e = (fc_err_mgr *)c->err;
	if (fc_cancelled(e)) {
		e->stop = FC_STOP_CANCELLED;
		longjmp(e->jump, 1);
	}
	if (e->max_scans > 0 && c->is_decompressor &&
	    ((j_decompress_ptr)c)->input_scan_number > e->max_scans) {
		e->stop = FC_STOP_SCANS;
		longjmp(e->jump, 1);
	}
}

static void fc_fill_info(j_decompress_ptr c, fc_jpeg_info *info) {
	info->width = (int)c->image_width;
	info->height = (int)c->image_height;
	info->components = c->num_components;
	info->color_space = (int)c->jpeg_color_space;
	info->adobe = c->saw_Adobe_marker ? 1 : 0;
	info->progressive = c->progressive_mode ? 1 : 0;
}


// Pillow reads 4-channel JPEGs as Adobe-inverted CMYK ("CMYK;I") and converts
// CMYK to RGB as (255-C)(255-K)/255 rounded; on the raw inverted samples that
// is round(c*k/255) computed with Pillow's exact integer rounding.
static inline unsigned char fc_muldiv255(int a, int b) {
	int t = a * b + 128;
	return (unsigned char)(((t >> 8) + t) >> 8);
}

static void fc_cmyk_row(const unsigned char *in, unsigned char *out, int w) {
	for (int x = 0; x < w; x++, in += 4, out += 3) {
		int k = in[3];
		out[0] = (unsigned char)(k - fc_muldiv255(255 - in[0], k));
		out[1] = (unsigned char)(k - fc_muldiv255(255 - in[1], k));
		out[2] = (unsigned char)(k - fc_muldiv255(255 - in[2], k));
	}
}

#define FC_BATCH 16

// fc_skip skips n rows in pieces, checking for cancellation in between:
// skipping entropy-decodes (a baseline file has no other way to find its
// rows), which is the bulk of the work on a tall image.
static void fc_skip(j_decompress_ptr c, fc_err_mgr *e, JDIMENSION n) {
	const JDIMENSION piece = 256;
	while (n > 0) {
		if (fc_cancelled(e)) {
			e->stop = FC_STOP_CANCELLED;
			longjmp(e->jump, 1);
		}
		JDIMENSION k = n < piece ? n : piece;
		JDIMENSION got = jpeg_skip_scanlines(c, k);
		if (got == 0) {
			return;
		}
		n -= got;
	}
}

// fc_jpeg_run holds the one setup and error path of both entry points below;
// header_only stops after the headers.
// fc_hpass_row runs the horizontal pass of hp on decoded row y.
static void fc_hpass_row(const fc_hpass *hp, int height, int y,
                         const unsigned char *row) {
	int l = hp->flip ? height - 1 - y : y;
	if (l < hp->l0 || l >= hp->l1) {
		return;
	}
	unsigned char *d = hp->dst + (size_t)(l - hp->l0) * (size_t)hp->nout * 3;
	const unsigned char *s = row + hp->src_off;
	if (hp->identity) {
		for (int o = 0; o < hp->nout; o++) {
			const unsigned char *p = hp->mirror ? s - (ptrdiff_t)o * 3 : s + (ptrdiff_t)o * 3;
			d[o * 3] = p[0];
			d[o * 3 + 1] = p[1];
			d[o * 3 + 2] = p[2];
		}
		return;
	}
	fc_dot_rows(s, 0, 1, hp->nout, hp->start, hp->start_off, hp->taps, hp->k,
	            hp->kstride, d, 0, 3);
}

static int fc_jpeg_run(const unsigned char *data, size_t len, int header_only,
                       int denom, int row0, int row1, unsigned char *out,
                       size_t stride, const fc_hpass *hp,
                       const fc_jpeg_limits *lim, fc_jpeg_info *info) {
	struct jpeg_decompress_struct c;
	fc_err_mgr jerr;

	memset(info, 0, sizeof(*info));
	c.err = &jerr.pub;
	fc_init_err(&jerr);
	if (lim != NULL) {
		jerr.cancel = lim->cancel;
		jerr.max_scans = lim->max_scans;
	}
	if (setjmp(jerr.jump)) {
		switch (jerr.stop) {
		case FC_STOP_CANCELLED:
			info->cancelled = 1;
			snprintf(info->err, FC_ERRLEN, "decoding cancelled");
			break;
		case FC_STOP_SCANS:
			info->too_many_scans = 1;
			snprintf(info->err, FC_ERRLEN,
			         "progressive JPEG has more than %d scans", jerr.max_scans);
			break;
		default:
			(*c.err->format_message)((j_common_ptr)&c, info->err);
			info->truncated = jerr.eof; // the error may be running out of data
		}
		jpeg_destroy_decompress(&c);
		return 1;
	}
	jpeg_create_decompress(&c);
	jerr.progress.progress_monitor = fc_progress;
	c.progress = &jerr.progress;
	jpeg_mem_src(&c, data, (unsigned long)len);
	jpeg_read_header(&c, TRUE);
	fc_fill_info(&c, info);
	if (header_only) {
		info->truncated = jerr.eof;
		jpeg_destroy_decompress(&c);
		return 0;
	}

	int cmyk = 0;
	switch (c.num_components) {
	case 1:
	case 3:
		// libjpeg-turbo expands grey to RGB by copying, exactly like
		// Pillow's L->RGB conversion.
		c.out_color_space = JCS_EXT_RGB;
		break;
	case 4:
		c.out_color_space = JCS_CMYK;
		cmyk = 1;
		break;
	default:
		snprintf(info->err, FC_ERRLEN, "cannot handle %d-component JPEG",
		         c.num_components);
		jpeg_destroy_decompress(&c);
		return 1;
	}
	c.scale_num = 1;
	c.scale_denom = (unsigned int)denom;
	jpeg_start_decompress(&c);
	info->out_width = (int)c.output_width;
	info->out_height = (int)c.output_height;
	if (row0 < 0 || row1 > (int)c.output_height || row0 > row1) {
		snprintf(info->err, FC_ERRLEN, "row range %d..%d outside 0..%u", row0,
		         row1, c.output_height);
		jpeg_destroy_decompress(&c);
		return 1;
	}

	// One scratch area for CMYK rows and for the final row read below; freed
	// with the decompressor, also on the error path.
	// Streamed rows need FC_PAD spare bytes for the resampling kernel.
	JDIMENSION scratch_w = c.output_width * (JDIMENSION)(cmyk ? 4 : 3) + FC_PAD;
	JSAMPARRAY scratch = (*c.mem->alloc_sarray)((j_common_ptr)&c, JPOOL_IMAGE,
	                                           scratch_w, FC_BATCH);
	JSAMPARRAY rgb = scratch;
	if (hp != NULL && cmyk) {
		rgb = (*c.mem->alloc_sarray)((j_common_ptr)&c, JPOOL_IMAGE,
		                             c.output_width * 3 + FC_PAD, FC_BATCH);
	}

	fc_skip(&c, &jerr, (JDIMENSION)row0);
	while ((int)c.output_scanline < row1) {
		if (fc_cancelled(&jerr)) {
			jerr.stop = FC_STOP_CANCELLED;
			longjmp(jerr.jump, 1);
		}
		int y = (int)c.output_scanline;
		int n = row1 - y;
		if (n > FC_BATCH) {
			n = FC_BATCH;
		}
		JSAMPROW rows[FC_BATCH];
		for (int i = 0; i < n; i++) {
			rows[i] = (cmyk || hp != NULL) ? scratch[i] : out + (size_t)(y - row0 + i) * stride;
		}
		JDIMENSION got = jpeg_read_scanlines(&c, rows, (JDIMENSION)n);
		if (got == 0) {
			snprintf(info->err, FC_ERRLEN, "decoder stalled at row %d", y);
			jpeg_destroy_decompress(&c);
			return 1;
		}
		for (JDIMENSION i = 0; i < got; i++) {
			unsigned char *dst = hp != NULL ? rgb[i] : out + (size_t)(y - row0 + (int)i) * stride;
			if (cmyk) {
				fc_cmyk_row(scratch[i], dst, (int)c.output_width);
			}
			if (hp != NULL) {
				fc_hpass_row(hp, (int)c.output_height, y + (int)i, dst);
			}
		}
	}
	// Entropy-decode what is left (skipping is cheap: no IDCT) and read the
	// very last row, so that data missing anywhere in the file is noticed.
	if (c.output_scanline + 1 < c.output_height) {
		fc_skip(&c, &jerr, c.output_height - 1 - c.output_scanline);
	}
	while (c.output_scanline < c.output_height) {
		if (jpeg_read_scanlines(&c, scratch, 1) == 0) {
			break;
		}
	}
	// Like Pillow, a missing EOI after the last row is tolerated, so
	// jpeg_finish_decompress (which would look for it) is not called.
	info->truncated = jerr.eof;
	jpeg_destroy_decompress(&c);
	return 0;
}

int fc_jpeg_header(const unsigned char *data, size_t len, fc_jpeg_info *info) {
	return fc_jpeg_run(data, len, 1, 1, 0, 0, NULL, 0, NULL, NULL, info);
}

int fc_jpeg_decode(const unsigned char *data, size_t len, int denom, int row0,
                   int row1, unsigned char *out, size_t stride,
                   const fc_jpeg_limits *lim, fc_jpeg_info *info) {
	return fc_jpeg_run(data, len, 0, denom, row0, row1, out, stride, NULL, lim, info);
}

int fc_jpeg_decode_hpass(const unsigned char *data, size_t len, int denom,
                         int row0, int row1, const fc_hpass *hp,
                         const fc_jpeg_limits *lim, fc_jpeg_info *info) {
	return fc_jpeg_run(data, len, 0, denom, row0, row1, NULL, 0, hp, lim, info);
}

int fc_jpeg_turbo_version(void) {
#ifdef LIBJPEG_TURBO_VERSION_NUMBER
	return LIBJPEG_TURBO_VERSION_NUMBER;
#else
	return 0;
#endif
}

int *fc_new_flag(void) { return calloc(1, sizeof(int)); }

void fc_set_flag(int *flag) { __atomic_store_n(flag, 1, __ATOMIC_RELAXED); }

int fc_jpeg_encode(const unsigned char *pix, int w, int h, int comps,
                   int quality, int hs, int vs, int progressive, int ycck,
                   const unsigned char *app1, size_t app1len,
                   unsigned char **out, unsigned long *outlen, char *err) {
	struct jpeg_compress_struct c;
	fc_err_mgr jerr;
	unsigned char *buf = NULL;
	unsigned long size = 0;

	c.err = &jerr.pub;
	fc_init_err(&jerr);
	if (setjmp(jerr.jump)) {
		(*c.err->format_message)((j_common_ptr)&c, err);
		jpeg_destroy_compress(&c);
		free(buf);
		return 1;
	}
	jpeg_create_compress(&c);
	jpeg_mem_dest(&c, &buf, &size);
	c.image_width = (JDIMENSION)w;
	c.image_height = (JDIMENSION)h;
	c.input_components = comps;
	c.in_color_space = comps == 1 ? JCS_GRAYSCALE : comps == 3 ? JCS_RGB : JCS_CMYK;
	jpeg_set_defaults(&c);
	if (comps == 4) {
		jpeg_set_colorspace(&c, ycck ? JCS_YCCK : JCS_CMYK);
	}
	jpeg_set_quality(&c, quality, TRUE);
	if (comps > 1) {
		c.comp_info[0].h_samp_factor = hs;
		c.comp_info[0].v_samp_factor = vs;
		for (int i = 1; i < c.num_components; i++) {
			c.comp_info[i].h_samp_factor = 1;
			c.comp_info[i].v_samp_factor = 1;
		}
	}
	if (progressive) {
		jpeg_simple_progression(&c);
	}
	jpeg_start_compress(&c, TRUE);
	if (app1len > 0) {
		jpeg_write_marker(&c, JPEG_APP0 + 1, app1, (unsigned int)app1len);
	}
	while (c.next_scanline < c.image_height) {
		JSAMPROW row = (JSAMPROW)(pix + (size_t)c.next_scanline * (size_t)w * (size_t)comps);
		jpeg_write_scanlines(&c, &row, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	*out = buf;
	*outlen = size;
	return 0;
}

void fc_free(void *p) { free(p); }
