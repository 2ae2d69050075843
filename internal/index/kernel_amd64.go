package index

import "golang.org/x/sys/cpu"

// AVX2+FMA kernels (F16C for halves); see kernel_amd64.s. They need dim to
// be a multiple of 16, which CLIP's 512 and 768 are; other sizes keep the
// portable kernels.

//go:noescape
func dotsF32AVX2(q, rows *float32, dim, n int, out *float32)

//go:noescape
func dotsF16AVX2(q *float32, rows *uint16, dim, n int, out *float32)

func init() {
	if !cpu.X86.HasAVX2 || !cpu.X86.HasFMA {
		return
	}
	dotsF32 = func(q, rows []float32, dim int, out []float32) {
		if dim%16 != 0 || len(q) < dim || len(rows) < dim*len(out) {
			dotsF32Go(q, rows, dim, out)
			return
		}
		if len(out) > 0 {
			dotsF32AVX2(&q[0], &rows[0], dim, len(out), &out[0])
		}
	}
	if !cpu.X86.HasF16C {
		return
	}
	dotsF16 = func(q []float32, rows []uint16, dim int, out []float32) {
		if dim%16 != 0 || len(q) < dim || len(rows) < dim*len(out) {
			dotsF16Go(q, rows, dim, out)
			return
		}
		if len(out) > 0 {
			dotsF16AVX2(&q[0], &rows[0], dim, len(out), &out[0])
		}
	}
}
