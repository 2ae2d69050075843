package index

// Dot-product kernels for the scan. Each computes out[i] = q · row i for the
// len(out) rows stored back to back in rows (dim values each), accumulating
// in float32: good enough to rank, and the few rows that make the top k are
// rescored in float64 afterwards. Architecture files may replace these with
// SIMD versions at init.
var (
	dotsF32 = dotsF32Go
	dotsF16 = dotsF16Go
)

// dotsF32Go works two rows at a time so that each q value loaded serves
// both, with four accumulators per row to hide the add latency.
func dotsF32Go(q, rows []float32, dim int, out []float32) {
	q = q[:dim]
	i := 0
	for ; i+1 < len(out); i += 2 {
		a := rows[i*dim : (i+1)*dim : (i+1)*dim]
		b := rows[(i+1)*dim : (i+2)*dim : (i+2)*dim]
		var a0, a1, a2, a3, b0, b1, b2, b3 float32
		j := 0
		for ; j+4 <= dim; j += 4 {
			qq := q[j : j+4 : j+4]
			aa := a[j : j+4 : j+4]
			bb := b[j : j+4 : j+4]
			a0 += qq[0] * aa[0]
			b0 += qq[0] * bb[0]
			a1 += qq[1] * aa[1]
			b1 += qq[1] * bb[1]
			a2 += qq[2] * aa[2]
			b2 += qq[2] * bb[2]
			a3 += qq[3] * aa[3]
			b3 += qq[3] * bb[3]
		}
		for ; j < dim; j++ {
			a0 += q[j] * a[j]
			b0 += q[j] * b[j]
		}
		out[i] = (a0 + a1) + (a2 + a3)
		out[i+1] = (b0 + b1) + (b2 + b3)
	}
	for ; i < len(out); i++ {
		out[i] = dotF32(q, rows[i*dim:(i+1)*dim])
	}
}

func dotF32(q, v []float32) float32 {
	v = v[:len(q)]
	var s0, s1, s2, s3 float32
	j := 0
	for ; j+4 <= len(q); j += 4 {
		qq := q[j : j+4 : j+4]
		vv := v[j : j+4 : j+4]
		s0 += qq[0] * vv[0]
		s1 += qq[1] * vv[1]
		s2 += qq[2] * vv[2]
		s3 += qq[3] * vv[3]
	}
	for ; j < len(q); j++ {
		s0 += q[j] * v[j]
	}
	return (s0 + s1) + (s2 + s3)
}

// dotsF16Go widens halves through the 64K-entry table: one load per value
// instead of the bit fiddling of fromHalf.
func dotsF16Go(q []float32, rows []uint16, dim int, out []float32) {
	t := halfLUT()
	q = q[:dim]
	for i := range out {
		v := rows[i*dim : (i+1)*dim : (i+1)*dim]
		var s0, s1, s2, s3 float32
		j := 0
		for ; j+4 <= dim; j += 4 {
			qq := q[j : j+4 : j+4]
			vv := v[j : j+4 : j+4]
			s0 += qq[0] * t[vv[0]]
			s1 += qq[1] * t[vv[1]]
			s2 += qq[2] * t[vv[2]]
			s3 += qq[3] * t[vv[3]]
		}
		for ; j < dim; j++ {
			s0 += q[j] * t[v[j]]
		}
		out[i] = (s0 + s1) + (s2 + s3)
	}
}

// dot64 is the exact-order float64 dot product used for reported scores.
func dot64(q, v []float32) float64 {
	v = v[:len(q)]
	var s float64
	for i, x := range q {
		s += float64(x) * float64(v[i])
	}
	return s
}
