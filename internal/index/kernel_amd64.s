#include "textflag.h"

// func dotsF32AVX2(q, rows *float32, dim, n int, out *float32)
// out[i] = q · rows[i*dim:(i+1)*dim] for i < n; dim is a multiple of 16.
// Two accumulators of 8 lanes each; the q values come from L1.
TEXT ·dotsF32AVX2(SB), NOSPLIT, $0-40
	MOVQ q+0(FP), SI
	MOVQ rows+8(FP), DI
	MOVQ dim+16(FP), CX
	MOVQ n+24(FP), DX
	MOVQ out+32(FP), R8
	SHLQ $2, CX // row length in bytes

f32row:
	TESTQ DX, DX
	JZ    f32done
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	XORQ   AX, AX

f32inner:
	VMOVUPS     (SI)(AX*1), Y2
	VMOVUPS     32(SI)(AX*1), Y3
	VFMADD231PS (DI)(AX*1), Y2, Y0
	VFMADD231PS 32(DI)(AX*1), Y3, Y1
	ADDQ        $64, AX
	CMPQ        AX, CX
	JLT         f32inner

	VADDPS       Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VHADDPS      X0, X0, X0
	VHADDPS      X0, X0, X0
	VMOVSS       X0, (R8)
	ADDQ         $4, R8
	ADDQ         CX, DI
	DECQ         DX
	JMP          f32row

f32done:
	VZEROUPPER
	RET

// func dotsF16AVX2(q *float32, rows *uint16, dim, n int, out *float32)
// As above for half rows, widened 8 at a time by VCVTPH2PS (F16C).
TEXT ·dotsF16AVX2(SB), NOSPLIT, $0-40
	MOVQ q+0(FP), SI
	MOVQ rows+8(FP), DI
	MOVQ dim+16(FP), CX
	MOVQ n+24(FP), DX
	MOVQ out+32(FP), R8
	SHLQ $1, CX // row length in bytes

f16row:
	TESTQ DX, DX
	JZ    f16done
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	XORQ   AX, AX // offset into the row (bytes)
	XORQ   BX, BX // offset into q (bytes): twice AX

f16inner:
	VCVTPH2PS   (DI)(AX*1), Y4
	VCVTPH2PS   16(DI)(AX*1), Y5
	VFMADD231PS (SI)(BX*1), Y4, Y0
	VFMADD231PS 32(SI)(BX*1), Y5, Y1
	ADDQ        $32, AX
	ADDQ        $64, BX
	CMPQ        AX, CX
	JLT         f16inner

	VADDPS       Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VHADDPS      X0, X0, X0
	VHADDPS      X0, X0, X0
	VMOVSS       X0, (R8)
	ADDQ         $4, R8
	ADDQ         CX, DI
	DECQ         DX
	JMP          f16row

f16done:
	VZEROUPPER
	RET
