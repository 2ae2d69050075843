package vecmath

import (
	"errors"
	"math"
	"testing"
)

func TestNormalize(t *testing.T) {
	for _, tc := range []struct {
		in, want []float32
	}{
		{[]float32{3, 4}, []float32{0.6, 0.8}},
		{[]float32{0, 0}, []float32{0, 0}},
		{[]float32{-2}, []float32{-1}},
	} {
		got := Normalize(append([]float32(nil), tc.in...))
		for i := range got {
			if math.Abs(float64(got[i]-tc.want[i])) > 1e-7 {
				t.Errorf("Normalize(%v) = %v, want %v", tc.in, got, tc.want)
			}
		}
	}
}

func TestMeanNormalized(t *testing.T) {
	got := MeanNormalized([][]float32{{1, 0}, {0, 1}})
	want := float32(1 / math.Sqrt2)
	if math.Abs(float64(got[0]-want)) > 1e-7 || math.Abs(float64(got[1]-want)) > 1e-7 {
		t.Fatalf("mean of the axes = %v, want both %v", got, want)
	}
	one := []float32{0.6, 0.8}
	cp := MeanNormalized([][]float32{one})
	cp[0] = 9
	if one[0] != 0.6 {
		t.Fatal("MeanNormalized of one vector must return a copy")
	}
}

func TestWeightedSum(t *testing.T) {
	got, err := WeightedSum([][]float32{{1, 0}, {0, 1}}, []float64{1, -1})
	if err != nil {
		t.Fatal(err)
	}
	want := float32(1 / math.Sqrt2)
	if math.Abs(float64(got[0]-want)) > 1e-7 || math.Abs(float64(got[1]+want)) > 1e-7 {
		t.Fatalf("got %v", got)
	}
	if _, err := WeightedSum([][]float32{{1, 0}, {1, 0}}, []float64{1, -1}); !errors.Is(err, ErrZeroSum) {
		t.Fatalf("cancelling terms: err %v, want ErrZeroSum", err)
	}
}

func TestSoftmax(t *testing.T) {
	got := Softmax([]float64{0.3, 0.3, 0.1}, 100)
	if math.Abs(got[0]-got[1]) > 1e-15 || math.Abs(got[0]+got[1]+got[2]-1) > 1e-12 {
		t.Fatalf("softmax %v", got)
	}
	// Large logits must not overflow.
	big := Softmax([]float64{1000, 999}, 100)
	if math.IsNaN(big[0]) || big[0] < 0.99 {
		t.Fatalf("softmax of large logits %v", big)
	}
}

func TestDotAndFinite(t *testing.T) {
	if d := Dot([]float32{1, 2}, []float32{3, 4}); d != 11 {
		t.Fatalf("Dot = %v", d)
	}
	if !AllFinite([]float32{1, -2}) || AllFinite([]float32{float32(math.NaN())}) || AllFinite([]float32{float32(math.Inf(1))}) {
		t.Fatal("AllFinite is wrong")
	}
}
