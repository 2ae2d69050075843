package bench

import (
	"fmt"
	"sort"
)

// ClassMetrics are one label's scores, as scikit-learn's
// precision_recall_fscore_support(average=None, zero_division=0) gives them.
type ClassMetrics struct {
	Label     string  `json:"label"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	Support   int     `json:"support"`
}

// Confusion is a confusion matrix: Matrix[i][j] counts items whose truth is
// Labels[i] and whose prediction is Labels[j] (scikit-learn's orientation).
type Confusion struct {
	Labels []string `json:"labels"`
	Matrix [][]int  `json:"matrix"`
}

// Metrics summarise predictions against the truth.
type Metrics struct {
	N          int
	Accuracy   float64
	WeightedF1 float64
	MacroF1    float64
	PerClass   []ClassMetrics
	Confusion  Confusion
}

// Compute scores predictions the way scikit-learn does with
// zero_division=0:
//
//   - the labels are the sorted union of truths and predictions
//     (unique_labels), so a class never predicted and a prediction that is
//     never true both count;
//   - precision = tp/predicted and recall = tp/support, 0 when the
//     denominator is 0; F1 = 2·tp/(support+predicted), the form sklearn
//     computes, 0 when both are 0;
//   - weighted F1 averages per-label F1 weighted by support, macro F1 is the
//     plain mean over every label of the union, both summed in numpy's order
//     so that they equal recent scikit-learn's to the last bit.
func Compute(truth, pred []string) (Metrics, error) {
	if len(truth) != len(pred) {
		return Metrics{}, fmt.Errorf("%d truths but %d predictions", len(truth), len(pred))
	}
	m := Metrics{N: len(truth)}
	seen := map[string]bool{}
	var labels []string
	for _, s := range [][]string{truth, pred} {
		for _, l := range s {
			if !seen[l] {
				seen[l] = true
				labels = append(labels, l)
			}
		}
	}
	// Go orders strings by UTF-8 bytes, which is Python's code point order.
	sort.Strings(labels)
	index := make(map[string]int, len(labels))
	for i, l := range labels {
		index[l] = i
	}
	cm := make([][]int, len(labels))
	for i := range cm {
		cm[i] = make([]int, len(labels))
	}
	for i := range truth {
		cm[index[truth[i]]][index[pred[i]]]++
	}
	m.Confusion = Confusion{Labels: labels, Matrix: cm}
	if m.N == 0 {
		return m, nil
	}
	tps, predSum := 0, make([]int, len(labels))
	for i := range cm {
		for j, c := range cm[i] {
			predSum[j] += c
		}
	}
	f1s := make([]float64, len(labels))
	weighted := make([]float64, len(labels))
	weights := make([]float64, len(labels))
	for i, l := range labels {
		tp := cm[i][i]
		tps += tp
		support := 0
		for _, c := range cm[i] {
			support += c
		}
		c := ClassMetrics{Label: l, Support: support}
		c.Precision = divide(float64(tp), float64(predSum[i]))
		c.Recall = divide(float64(tp), float64(support))
		c.F1 = divide(2*float64(tp), float64(support+predSum[i]))
		m.PerClass = append(m.PerClass, c)
		f1s[i] = c.F1
		weighted[i] = c.F1 * float64(support)
		weights[i] = float64(support)
	}
	m.Accuracy = float64(tps) / float64(m.N)
	// np.average(f1, weights=support) and np.mean(f1), summed in numpy's
	// order so the averages match scikit-learn to the last bit.
	m.WeightedF1 = divide(pairwiseSum(weighted), pairwiseSum(weights))
	m.MacroF1 = pairwiseSum(f1s) / float64(len(labels))
	return m, nil
}

// pairwiseSum adds values in the order numpy's sum of a contiguous float64
// array does: plainly below 8 values, with 8 interleaved partial sums up to
// 128, and by halves (cut at a multiple of 8) above.
func pairwiseSum(a []float64) float64 {
	n := len(a)
	switch {
	case n < 8:
		s := 0.0
		for _, v := range a {
			s += v
		}
		return s
	case n <= 128:
		var r [8]float64
		copy(r[:], a[:8])
		i := 8
		for ; i < n-n%8; i += 8 {
			for j := range r {
				r[j] += a[i+j]
			}
		}
		s := ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
		for ; i < n; i++ {
			s += a[i]
		}
		return s
	}
	half := n / 2
	half -= half % 8
	return pairwiseSum(a[:half]) + pairwiseSum(a[half:])
}

// divide is a/b, or 0 when b is 0 (zero_division=0).
func divide(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
