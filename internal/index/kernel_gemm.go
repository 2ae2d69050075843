package index

// Matrix-product kernels for all-pairs work (duplicate finding): blocks of
// rows are packed into panels and multiplied tile by tile, the way BLAS
// does it, so that each value loaded from memory feeds many multiply-adds.
//
// A panel of width w holds w rows transposed, k-major: value k of the
// panel's row r is at panel[k*w+r]; rows past the end are zero. A tile is
// the mr×nr block c[i*nr+j] = Σ_k a[k*mr+i]·b[k*nr+j] of an mr-panel of A
// and an nr-panel of B, accumulated in float32.

// gemmKernel is one implementation of the tile product.
type gemmKernel struct {
	name   string
	mr, nr int
	// tile writes the mr×nr tile of panels a and b (k values deep) to c
	// and reports whether any of its values is >= thr (never for NaN).
	tile func(a, b []float32, k int, c []float32, thr float32) bool
}

// gemmGo is the portable kernel: a 4×4 register tile, enough to keep the
// compiler's scalar code busy without spilling.
var gemmGo = gemmKernel{name: "go", mr: 4, nr: 4, tile: tile4x4Go}

// gemm is the kernel in use; architecture files replace it at init.
var gemm = gemmGo

func tile4x4Go(a, b []float32, k int, c []float32, thr float32) bool {
	a, b, c = a[:4*k], b[:4*k], c[:16]
	var c00, c01, c02, c03, c10, c11, c12, c13 float32
	var c20, c21, c22, c23, c30, c31, c32, c33 float32
	for p := 0; p < k; p++ {
		aa := a[4*p : 4*p+4 : 4*p+4]
		bb := b[4*p : 4*p+4 : 4*p+4]
		a0, a1, a2, a3 := aa[0], aa[1], aa[2], aa[3]
		b0, b1, b2, b3 := bb[0], bb[1], bb[2], bb[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	c[0], c[1], c[2], c[3] = c00, c01, c02, c03
	c[4], c[5], c[6], c[7] = c10, c11, c12, c13
	c[8], c[9], c[10], c[11] = c20, c21, c22, c23
	c[12], c[13], c[14], c[15] = c30, c31, c32, c33
	hit := false
	for _, v := range c {
		hit = hit || v >= thr
	}
	return hit
}

// panelLen is the length of the panels of n rows, width w, dim deep.
func panelLen(n, w, dim int) int { return (n + w - 1) / w * w * dim }

// packRows packs n rows (row(i) gives row i as float32, dim values) into
// panels of width w. dst must hold panelLen(n, w, dim) values.
func packRows(dst []float32, n, w, dim int, row func(i int) []float32) {
	for p := 0; p*w < n; p++ {
		panel := dst[p*w*dim : (p+1)*w*dim]
		for r := range w {
			i := p*w + r
			if i >= n {
				for k := range dim {
					panel[k*w+r] = 0
				}
				continue
			}
			v := row(i)[:dim]
			for k, x := range v {
				panel[k*w+r] = x
			}
		}
	}
}

// DotMatrix sets c[i*n+j] = a_i · b_j for the m rows of a and the n rows
// of b (row-major, dim values each), accumulating in float32 with the
// fastest kernel of the machine.
func DotMatrix(a []float32, m int, b []float32, n, dim int, c []float32) {
	if m == 0 || n == 0 {
		return
	}
	if dim == 0 {
		clear(c[:m*n])
		return
	}
	g := gemm
	pa := make([]float32, panelLen(m, g.mr, dim))
	pb := make([]float32, panelLen(n, g.nr, dim))
	packRows(pa, m, g.mr, dim, func(i int) []float32 { return a[i*dim : (i+1)*dim] })
	packRows(pb, n, g.nr, dim, func(i int) []float32 { return b[i*dim : (i+1)*dim] })
	tile := make([]float32, g.mr*g.nr)
	for ip := 0; ip*g.mr < m; ip++ {
		for jp := 0; jp*g.nr < n; jp++ {
			g.tile(pa[ip*g.mr*dim:(ip+1)*g.mr*dim], pb[jp*g.nr*dim:(jp+1)*g.nr*dim], dim, tile, 0)
			for r := 0; r < g.mr && ip*g.mr+r < m; r++ {
				i := ip*g.mr + r
				for s := 0; s < g.nr && jp*g.nr+s < n; s++ {
					c[i*n+jp*g.nr+s] = tile[r*g.nr+s]
				}
			}
		}
	}
}
