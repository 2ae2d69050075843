package index

import (
	"math"
	"testing"
)

func TestFirstNonFinite32(t *testing.T) {
	specials := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)),
		math.Float32frombits(0x7f800001), math.Float32frombits(0xffc00000)}
	finite := []float32{0, -0, 1, -1, math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32,
		math.Float32frombits(0x7f7fffff), math.Float32frombits(0x00800000), math.Float32frombits(0x807fffff)}
	for _, n := range []int{0, 1, 15, 16, 17, 33, 100} {
		v := make([]float32, n)
		for i := range v {
			v[i] = finite[i%len(finite)]
		}
		if got := firstNonFinite32(v); got != -1 {
			t.Fatalf("n %d all finite: %d", n, got)
		}
		for pos := range n {
			for _, sp := range specials {
				old := v[pos]
				v[pos] = sp
				if got := firstNonFinite32(v); got != pos {
					t.Fatalf("n %d, %v at %d: got %d", n, sp, pos, got)
				}
				if pos+1 < n {
					v[n-1] = sp // a later one does not hide the first
					if got := firstNonFinite32(v); got != pos {
						t.Fatalf("n %d, %v at %d and %d: got %d", n, sp, pos, n-1, got)
					}
					v[n-1] = finite[(n-1)%len(finite)]
				}
				v[pos] = old
			}
		}
	}
}

func BenchmarkFirstNonFinite32(b *testing.B) {
	v := make([]float32, 1<<20)
	for i := range v {
		v[i] = float32(i%1000) / 1000
	}
	b.SetBytes(int64(4 * len(v)))
	for b.Loop() {
		if firstNonFinite32(v) != -1 {
			b.Fatal("finite")
		}
	}
}
