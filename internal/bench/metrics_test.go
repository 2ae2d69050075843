package bench

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

// The expected values below were worked out by hand from the definitions of
// scikit-learn's precision_recall_fscore_support with zero_division=0 over
// unique_labels(y_true, y_pred).
func TestCompute(t *testing.T) {
	tests := []struct {
		name           string
		truth, pred    []string
		labels         []string
		matrix         [][]int
		accuracy       float64
		weighted, mac  float64
		perClass       []ClassMetrics
		wantErrContain string
	}{
		{
			// c is never predicted; d is predicted but never true.
			name:     "never predicted and never true",
			truth:    []string{"a", "a", "a", "b", "b", "c"},
			pred:     []string{"a", "a", "d", "b", "a", "b"},
			labels:   []string{"a", "b", "c", "d"},
			matrix:   [][]int{{2, 0, 0, 1}, {1, 1, 0, 0}, {0, 1, 0, 0}, {0, 0, 0, 0}},
			accuracy: 0.5,
			weighted: 0.5,      // (2/3·3 + 1/2·2) / 6
			mac:      7.0 / 24, // (2/3 + 1/2 + 0 + 0) / 4
			perClass: []ClassMetrics{
				{"a", 2.0 / 3, 2.0 / 3, 2.0 / 3, 3},
				{"b", 0.5, 0.5, 0.5, 2},
				{"c", 0, 0, 0, 1},
				{"d", 0, 0, 0, 0},
			},
		},
		{
			name:     "perfect",
			truth:    []string{"x", "y", "x"},
			pred:     []string{"x", "y", "x"},
			labels:   []string{"x", "y"},
			matrix:   [][]int{{2, 0}, {0, 1}},
			accuracy: 1, weighted: 1, mac: 1,
			perClass: []ClassMetrics{{"x", 1, 1, 1, 2}, {"y", 1, 1, 1, 1}},
		},
		{
			name:     "all wrong",
			truth:    []string{"p", "p", "q"},
			pred:     []string{"q", "q", "p"},
			labels:   []string{"p", "q"},
			matrix:   [][]int{{0, 2}, {1, 0}},
			perClass: []ClassMetrics{{"p", 0, 0, 0, 2}, {"q", 0, 0, 0, 1}},
		},
		{
			// Precision of a is 4/5; b's precision divides by zero → 0.
			name:     "one class swallows the other",
			truth:    []string{"a", "a", "a", "a", "b"},
			pred:     []string{"a", "a", "a", "a", "a"},
			labels:   []string{"a", "b"},
			matrix:   [][]int{{4, 0}, {1, 0}},
			accuracy: 0.8,
			weighted: 32.0 / 45, // 8/9 · 4 / 5
			mac:      4.0 / 9,
			perClass: []ClassMetrics{{"a", 0.8, 1, 8.0 / 9, 4}, {"b", 0, 0, 0, 1}},
		},
		{
			// Labels sort by code point, as Python sorts str: "Z" < "a" < "É".
			name:     "code point order",
			truth:    []string{"É", "a", "Z"},
			pred:     []string{"É", "Z", "Z"},
			labels:   []string{"Z", "a", "É"},
			matrix:   [][]int{{1, 0, 0}, {1, 0, 0}, {0, 0, 1}},
			accuracy: 2.0 / 3,
			weighted: (2.0/3 + 0 + 1) / 3,
			mac:      (2.0/3 + 0 + 1) / 3,
			perClass: []ClassMetrics{{"Z", 0.5, 1, 2.0 / 3, 1}, {"a", 0, 0, 0, 1}, {"É", 1, 1, 1, 1}},
		},
		{
			name:   "empty",
			labels: nil,
			matrix: [][]int{},
		},
		{
			name:           "length mismatch",
			truth:          []string{"a"},
			pred:           nil,
			wantErrContain: "1 truths but 0 predictions",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Compute(tt.truth, tt.pred)
			if tt.wantErrContain != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErrContain) {
					t.Fatalf("err = %v, want %q", err, tt.wantErrContain)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.N != len(tt.truth) {
				t.Errorf("N = %d", m.N)
			}
			if !reflect.DeepEqual(m.Confusion.Labels, tt.labels) {
				t.Errorf("labels = %q, want %q", m.Confusion.Labels, tt.labels)
			}
			if !reflect.DeepEqual(m.Confusion.Matrix, tt.matrix) {
				t.Errorf("matrix = %v, want %v", m.Confusion.Matrix, tt.matrix)
			}
			for _, c := range []struct {
				name      string
				got, want float64
			}{{"accuracy", m.Accuracy, tt.accuracy}, {"weighted F1", m.WeightedF1, tt.weighted}, {"macro F1", m.MacroF1, tt.mac}} {
				if !approx(c.got, c.want) {
					t.Errorf("%s = %.17g, want %.17g", c.name, c.got, c.want)
				}
			}
			if len(m.PerClass) != len(tt.perClass) {
				t.Fatalf("per class = %+v, want %+v", m.PerClass, tt.perClass)
			}
			for i, want := range tt.perClass {
				got := m.PerClass[i]
				if got.Label != want.Label || got.Support != want.Support || !approx(got.Precision, want.Precision) ||
					!approx(got.Recall, want.Recall) || !approx(got.F1, want.F1) {
					t.Errorf("class %d = %+v, want %+v", i, got, want)
				}
			}
		})
	}
}

func approx(a, b float64) bool { return math.Abs(a-b) <= 1e-12 }

// TestPairwiseSum pins numpy's summation order: the expected values are
// numpy.sum of the same arrays, and differ from a plain left-to-right sum
// where the order shows.
func TestPairwiseSum(t *testing.T) {
	seq := func(n int, f func(i int) float64) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	tests := []struct {
		name  string
		in    []float64
		numpy float64
	}{
		{"empty", nil, 0},
		{"below 8", seq(7, func(int) float64 { return 0.1 }), 0.7},
		{"block", append([]float64{1e16}, seq(8, func(int) float64 { return 1 })...), 1.0000000000000008e+16}, // plain: 1e16
		{"interleaved", seq(39, func(i int) float64 { return 0.1 * float64(i+1) }), 78.0},
		{"halves", seq(300, func(i int) float64 { return 1 / float64(i+1) }), 6.282663880299504}, // plain: ...502
	}
	for _, tt := range tests {
		if got := pairwiseSum(tt.in); got != tt.numpy {
			t.Errorf("%s: %.17g, want %.17g", tt.name, got, tt.numpy)
		}
	}
}
