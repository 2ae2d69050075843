// Package vecmath is the vector arithmetic every stage agrees on: unit
// normalisation, dot products, the mean of normalised vectors, softmax and
// weighted sums. Sums run in float64 so results do not depend on the order
// of summation, and the package has no dependencies, so the cgo-free
// packages (server, index) share it with the library.
package vecmath

import (
	"errors"
	"math"
)

// Normalize scales v to unit L2 norm in place and returns it. A zero vector
// is returned unchanged.
func Normalize(v []float32) []float32 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		return v
	}
	inv := 1 / math.Sqrt(s)
	for i, x := range v {
		v[i] = float32(float64(x) * inv)
	}
	return v
}

// Dot is the dot product (the cosine of two normalised vectors).
func Dot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// MeanNormalized averages vectors and renormalises the mean (prompt
// ensembling, as in the CLIP paper). One vector is returned as a copy.
func MeanNormalized(vs [][]float32) []float32 {
	if len(vs) == 1 {
		return append([]float32(nil), vs[0]...)
	}
	acc := sum(vs, nil)
	out := make([]float32, len(acc))
	for i, x := range acc {
		out[i] = float32(x / float64(len(vs)))
	}
	return Normalize(out)
}

// ErrZeroSum is returned by WeightedSum when the terms cancel out.
var ErrZeroSum = errors.New("the weighted sum of the vectors is zero")

// WeightedSum returns the unit vector along Σ weights[i]·vs[i], normalised
// in float64, or ErrZeroSum when that sum has (almost) no length.
func WeightedSum(vs [][]float32, weights []float64) ([]float32, error) {
	acc := sum(vs, weights)
	var norm2 float64
	for _, x := range acc {
		norm2 += x * x
	}
	if norm2 < 1e-12 {
		return nil, ErrZeroSum
	}
	inv := 1 / math.Sqrt(norm2)
	out := make([]float32, len(acc))
	for i, x := range acc {
		out[i] = float32(x * inv)
	}
	return out, nil
}

// sum adds the vectors in float64, each times its weight (1 when weights is nil).
func sum(vs [][]float32, weights []float64) []float64 {
	if len(vs) == 0 {
		return nil
	}
	acc := make([]float64, len(vs[0]))
	for j, v := range vs {
		w := 1.0
		if weights != nil {
			w = weights[j]
		}
		for i, x := range v {
			acc[i] += w * float64(x)
		}
	}
	return acc
}

// Softmax of scale × xs, computed stably.
func Softmax(xs []float64, scale float64) []float64 {
	out := make([]float64, len(xs))
	maxv := math.Inf(-1)
	for _, c := range xs {
		maxv = math.Max(maxv, scale*c)
	}
	var sum float64
	for i, c := range xs {
		out[i] = math.Exp(scale*c - maxv)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

// AllFinite reports whether v holds no NaN or infinity.
func AllFinite(v []float32) bool {
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return false
		}
	}
	return true
}
