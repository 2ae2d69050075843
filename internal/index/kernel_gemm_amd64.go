package index

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// Tile kernels in kernel_gemm_amd64.s: 6×16 with AVX2+FMA, 12×32 with
// AVX-512F (twice the lanes and twice the registers; on cores with two
// 512-bit FMA units it doubles the throughput).

//go:noescape
func tile6x16AVX2(a, b *float32, k int, c *float32, thr float32) bool

//go:noescape
func tile12x32AVX512(a, b *float32, k int, c *float32, thr float32) bool

var (
	gemmAVX2 = gemmKernel{name: "avx2", mr: 6, nr: 16, tile: func(a, b []float32, k int, c []float32, thr float32) bool {
		if k > 0 { // bounds, once, before the assembly trusts them
			_, _ = a[6*k-1], b[16*k-1]
		}
		_ = c[6*16-1]
		return tile6x16AVX2(unsafe.SliceData(a), unsafe.SliceData(b), k, unsafe.SliceData(c), thr)
	}}
	gemmAVX512 = gemmKernel{name: "avx512", mr: 12, nr: 32, tile: func(a, b []float32, k int, c []float32, thr float32) bool {
		if k > 0 {
			_, _ = a[12*k-1], b[32*k-1]
		}
		_ = c[12*32-1]
		return tile12x32AVX512(unsafe.SliceData(a), unsafe.SliceData(b), k, unsafe.SliceData(c), thr)
	}}
)

// gemmKernels lists the kernels this machine can run, fastest first.
func gemmKernels() []gemmKernel {
	var ks []gemmKernel
	if cpu.X86.HasAVX512F {
		ks = append(ks, gemmAVX512)
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, gemmAVX2)
	}
	return append(ks, gemmGo)
}

func init() { gemm = gemmKernels()[0] }
