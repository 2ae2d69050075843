#include <string.h>

#include "resample.h"

#define PRECISION_BITS 22
#define HALF (1 << (PRECISION_BITS - 1))

// Pillow's clip8: integer part of the accumulator, clamped to 0..255.
static inline uint8_t clip8(int32_t v) {
	v >>= PRECISION_BITS;
	return v < 0 ? 0 : v > 255 ? 255 : (uint8_t)v;
}

static void dot_rows_c(const uint8_t *src, ptrdiff_t src_stride, int nrows,
                       int nout, const int32_t *start, int start_off,
                       const int32_t *taps, const int32_t *k, int kstride,
                       uint8_t *dst, ptrdiff_t dst_stride, ptrdiff_t dst_step) {
	for (int r = 0; r < nrows; r++) {
		const uint8_t *row = src + r * src_stride;
		uint8_t *out = dst + r * dst_stride;
		for (int o = 0; o < nout; o++) {
			const uint8_t *p = row + (ptrdiff_t)(start[o] - start_off) * 3;
			const int32_t *kk = k + (ptrdiff_t)o * kstride;
			int32_t s0 = HALF, s1 = HALF, s2 = HALF;
			for (int t = 0; t < taps[o]; t++, p += 3) {
				s0 += p[0] * kk[t];
				s1 += p[1] * kk[t];
				s2 += p[2] * kk[t];
			}
			uint8_t *d = out + o * dst_step;
			d[0] = clip8(s0);
			d[1] = clip8(s1);
			d[2] = clip8(s2);
		}
	}
}

static void acc_rows_c(const uint8_t *src, ptrdiff_t tap_stride, int nout,
                       const int32_t *start, int start_off, const int32_t *taps,
                       const int32_t *k, int kstride, int nbytes, uint8_t *dst,
                       ptrdiff_t dst_stride) {
	enum { BLOCK = 256 };
	int32_t acc[BLOCK];
	for (int o = 0; o < nout; o++) {
		const uint8_t *first = src + (ptrdiff_t)(start[o] - start_off) * tap_stride;
		const int32_t *kk = k + (ptrdiff_t)o * kstride;
		uint8_t *out = dst + o * dst_stride;
		for (int m0 = 0; m0 < nbytes; m0 += BLOCK) {
			int n = nbytes - m0 < BLOCK ? nbytes - m0 : BLOCK;
			for (int m = 0; m < n; m++) {
				acc[m] = HALF;
			}
			for (int t = 0; t < taps[o]; t++) {
				const uint8_t *p = first + t * tap_stride + m0;
				int32_t c = kk[t];
				for (int m = 0; m < n; m++) {
					acc[m] += p[m] * c;
				}
			}
			for (int m = 0; m < n; m++) {
				out[m0 + m] = clip8(acc[m]);
			}
		}
	}
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define FC_HAVE_AVX2 1

// Four taps per step: one 16-byte load holds four RGB pixels, a shuffle
// spreads them over four 32-bit lanes each (R, G, B, 0), and each pixel's
// lanes are multiplied by its coefficient broadcast over the four lanes.
__attribute__((target("avx2"))) static void
dot_rows_avx2(const uint8_t *src, ptrdiff_t src_stride, int nrows, int nout,
              const int32_t *start, int start_off, const int32_t *taps,
              const int32_t *k, int kstride, uint8_t *dst,
              ptrdiff_t dst_stride, ptrdiff_t dst_step) {
	const __m128i spread = _mm_setr_epi8(0, 1, 2, -1, 3, 4, 5, -1, 6, 7, 8, -1, 9,
	                                     10, 11, -1);
	const __m256i lo2 = _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1);
	const __m256i hi2 = _mm256_setr_epi32(2, 2, 2, 2, 3, 3, 3, 3);
	const __m128i half = _mm_set1_epi32(HALF);
	for (int r = 0; r < nrows; r++) {
		const uint8_t *row = src + r * src_stride;
		uint8_t *out = dst + r * dst_stride;
		for (int o = 0; o < nout; o++) {
			const uint8_t *p = row + (ptrdiff_t)(start[o] - start_off) * 3;
			const int32_t *kk = k + (ptrdiff_t)o * kstride;
			__m256i a0 = _mm256_setzero_si256(), a1 = _mm256_setzero_si256();
			for (int t = 0; t < taps[o]; t += 4, p += 12) {
				__m128i px = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)p), spread);
				__m256i k4 = _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(kk + t)));
				__m256i v01 = _mm256_cvtepu8_epi32(px);
				__m256i v23 = _mm256_cvtepu8_epi32(_mm_srli_si128(px, 8));
				a0 = _mm256_add_epi32(a0, _mm256_mullo_epi32(v01, _mm256_permutevar8x32_epi32(k4, lo2)));
				a1 = _mm256_add_epi32(a1, _mm256_mullo_epi32(v23, _mm256_permutevar8x32_epi32(k4, hi2)));
			}
			__m256i a = _mm256_add_epi32(a0, a1);
			__m128i s = _mm_add_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
			s = _mm_srai_epi32(_mm_add_epi32(s, half), PRECISION_BITS);
			// Saturating packs clamp to 0..255 exactly as clip8 does.
			s = _mm_packus_epi16(_mm_packs_epi32(s, s), s);
			uint32_t v = (uint32_t)_mm_cvtsi128_si32(s);
			uint8_t *d = out + o * dst_step;
			d[0] = (uint8_t)v;
			d[1] = (uint8_t)(v >> 8);
			d[2] = (uint8_t)(v >> 16);
		}
	}
}

// 32 bytes per step, eight 32-bit accumulators each; the tail goes through
// the portable loop.
__attribute__((target("avx2"))) static void
acc_rows_avx2(const uint8_t *src, ptrdiff_t tap_stride, int nout,
              const int32_t *start, int start_off, const int32_t *taps,
              const int32_t *k, int kstride, int nbytes, uint8_t *dst,
              ptrdiff_t dst_stride) {
	const __m256i half = _mm256_set1_epi32(HALF);
	const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
	int body = nbytes & ~31;
	for (int o = 0; o < nout; o++) {
		const uint8_t *first = src + (ptrdiff_t)(start[o] - start_off) * tap_stride;
		const int32_t *kk = k + (ptrdiff_t)o * kstride;
		uint8_t *out = dst + o * dst_stride;
		for (int m = 0; m < body; m += 32) {
			__m256i a0 = half, a1 = half, a2 = half, a3 = half;
			const uint8_t *p = first + m;
			for (int t = 0; t < taps[o]; t++, p += tap_stride) {
				__m256i c = _mm256_set1_epi32(kk[t]);
				a0 = _mm256_add_epi32(a0, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p)), c));
				a1 = _mm256_add_epi32(a1, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(p + 8))), c));
				a2 = _mm256_add_epi32(a2, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(p + 16))), c));
				a3 = _mm256_add_epi32(a3, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(p + 24))), c));
			}
			a0 = _mm256_srai_epi32(a0, PRECISION_BITS);
			a1 = _mm256_srai_epi32(a1, PRECISION_BITS);
			a2 = _mm256_srai_epi32(a2, PRECISION_BITS);
			a3 = _mm256_srai_epi32(a3, PRECISION_BITS);
			// The packs work per 128-bit lane; the permute restores order.
			__m256i w01 = _mm256_packs_epi32(a0, a1);
			__m256i w23 = _mm256_packs_epi32(a2, a3);
			__m256i b = _mm256_packus_epi16(w01, w23);
			b = _mm256_permutevar8x32_epi32(b, order);
			_mm256_storeu_si256((__m256i *)(out + m), b);
		}
	}
	if (body < nbytes) {
		acc_rows_c(src + body, tap_stride, nout, start, start_off, taps, k, kstride,
		           nbytes - body, dst + body, dst_stride);
	}
}
#endif

typedef void (*dot_fn)(const uint8_t *, ptrdiff_t, int, int, const int32_t *, int,
                       const int32_t *, const int32_t *, int, uint8_t *, ptrdiff_t,
                       ptrdiff_t);
typedef void (*acc_fn)(const uint8_t *, ptrdiff_t, int, const int32_t *, int,
                       const int32_t *, const int32_t *, int, int, uint8_t *,
                       ptrdiff_t);

static int detected_level;
static int level_cap = 2;

// Runs once at load time, before any Go code can call in.
__attribute__((constructor)) static void detect_simd(void) {
#ifdef FC_HAVE_AVX2
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2")) {
		detected_level = 2;
	}
#endif
}

static int simd_level(void) {
	return detected_level < level_cap ? detected_level : level_cap;
}

int fc_simd_level(void) { return simd_level(); }

void fc_cap_simd(int level) { level_cap = level; }

void fc_dot_rows(const uint8_t *src, ptrdiff_t src_stride, int nrows, int nout,
                 const int32_t *start, int start_off, const int32_t *taps,
                 const int32_t *k, int kstride, uint8_t *dst,
                 ptrdiff_t dst_stride, ptrdiff_t dst_step) {
	dot_fn f = dot_rows_c;
#ifdef FC_HAVE_AVX2
	if (simd_level() == 2) {
		f = dot_rows_avx2;
	}
#endif
	f(src, src_stride, nrows, nout, start, start_off, taps, k, kstride, dst,
	  dst_stride, dst_step);
}

void fc_acc_rows(const uint8_t *src, ptrdiff_t tap_stride, int nout,
                 const int32_t *start, int start_off, const int32_t *taps,
                 const int32_t *k, int kstride, int nbytes, uint8_t *dst,
                 ptrdiff_t dst_stride) {
	acc_fn f = acc_rows_c;
#ifdef FC_HAVE_AVX2
	if (simd_level() == 2) {
		f = acc_rows_avx2;
	}
#endif
	f(src, tap_stride, nout, start, start_off, taps, k, kstride, nbytes, dst,
	  dst_stride);
}
