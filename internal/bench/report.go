package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"

	"github.com/fashionclip/fashionclip/internal/output"
)

// Report is `bench accuracy`'s result. Its JSON form (field order and names)
// is a documented interface: see docs/benchmark.md.
type Report struct {
	Dataset   string   `json:"dataset"`
	Data      string   `json:"data"`
	Model     string   `json:"model"`
	Revision  string   `json:"revision"`
	Templates []string `json:"templates"`
	// LabelsMap is the renaming applied (null when none), so the report says
	// which prompt words were used.
	LabelsMap  LabelsMap      `json:"labels_map"`
	N          int            `json:"n"`
	Skipped    int            `json:"skipped"`
	Accuracy   float64        `json:"accuracy"`
	WeightedF1 float64        `json:"weighted_f1"`
	MacroF1    float64        `json:"macro_f1"`
	PerClass   []ClassMetrics `json:"per_class"`
	Confusion  Confusion      `json:"confusion"`
	Seconds    float64        `json:"seconds"`
}

// SetMetrics copies computed metrics into the report.
func (r *Report) SetMetrics(m Metrics) {
	r.N = m.N
	r.Accuracy, r.WeightedF1, r.MacroF1 = m.Accuracy, m.WeightedF1, m.MacroF1
	r.PerClass = m.PerClass
	if r.PerClass == nil {
		r.PerClass = []ClassMetrics{}
	}
	r.Confusion = m.Confusion
	if r.Confusion.Labels == nil {
		r.Confusion = Confusion{Labels: []string{}, Matrix: [][]int{}}
	}
}

// numberArray matches an indented JSON array holding only numbers.
var numberArray = regexp.MustCompile(`\[(\s*-?[0-9][0-9.eE+-]*,?)+\s*\]`)

// WriteJSON writes v indented, with a final newline. Arrays of numbers (the
// confusion matrix's rows) stay on one line each, so a matrix reads as one.
func WriteJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	b = numberArray.ReplaceAllFunc(b, func(m []byte) []byte {
		inner := bytes.Fields(m[1 : len(m)-1])
		return append(append([]byte("["), bytes.Join(inner, []byte(" "))...), ']')
	})
	_, err = w.Write(append(b, '\n'))
	return err
}

// WriteJSONFile writes v to path through a temporary file, so a reader
// never sees half a report.
func WriteJSONFile(path string, v any) error {
	return writeFileAtomic(path, func(w io.Writer) error { return WriteJSON(w, v) })
}

func writeFileAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// maxTableConfusion is the widest confusion matrix printed as a table; wider
// ones are unreadable in a terminal and belong in --out or --plot.
const maxTableConfusion = 12

// WriteTable prints the report for a person: a summary, the per-class table
// and, for few classes, the confusion matrix.
func (r *Report) WriteTable(w io.Writer) error {
	f4 := output.FormatScore
	fmt.Fprintf(w, "dataset     %s (%s)\n", r.Dataset, r.Data)
	fmt.Fprintf(w, "model       %s", r.Model)
	if r.Revision != "" {
		fmt.Fprintf(w, " @ %s", r.Revision)
	}
	fmt.Fprintf(w, "\ntemplates   %q\n", r.Templates)
	fmt.Fprintf(w, "items       %d evaluated, %d skipped, %.1f s\n", r.N, r.Skipped, r.Seconds)
	fmt.Fprintf(w, "accuracy    %s\nweighted F1 %s\nmacro F1    %s\n\n", f4(r.Accuracy), f4(r.WeightedF1), f4(r.MacroF1))
	t := output.NewTableWriter(w, "LABEL", "PRECISION", "RECALL", "F1", "SUPPORT")
	for _, c := range r.PerClass {
		t.Append(c.Label, f4(c.Precision), f4(c.Recall), f4(c.F1), strconv.Itoa(c.Support))
	}
	if err := t.Close(); err != nil {
		return err
	}
	labels := r.Confusion.Labels
	if len(labels) > maxTableConfusion {
		_, err := fmt.Fprintf(w, "\nconfusion matrix: %d classes, too many to print (see --out or --plot)\n", len(labels))
		return err
	}
	// Columns are numbered as the rows, so ten classes fit 80 columns.
	header := []string{"TRUTH \\ PREDICTED"}
	for i := range labels {
		header = append(header, strconv.Itoa(i+1))
	}
	t = output.NewTableWriter(w, header...)
	for i, row := range r.Confusion.Matrix {
		cells := []string{strconv.Itoa(i+1) + " " + labels[i]}
		for _, c := range row {
			cells = append(cells, strconv.Itoa(c))
		}
		t.Append(cells...)
	}
	if t.Overflows() {
		_, err := fmt.Fprintf(w, "\nconfusion matrix: %d classes, too wide for this terminal (see --out or --plot)\n", len(labels))
		return err
	}
	fmt.Fprintln(w, "\nconfusion matrix (rows: truth, columns: prediction, numbered as the rows)")
	return t.Close()
}

// Prediction is one line of --predictions.
type Prediction struct {
	ID        string  `json:"id"`
	Label     string  `json:"label"`
	Predicted string  `json:"predicted"`
	Score     float64 `json:"score"`
}

// WritePredictions writes one JSON object a line to path.
func WritePredictions(path string, preds []Prediction) error {
	return writeFileAtomic(path, func(w io.Writer) error {
		rw := output.NewRecordWriter(w, false)
		for _, p := range preds {
			if err := rw.Write(p); err != nil {
				return err
			}
		}
		return rw.Close()
	})
}

// SweepRow is one template's result in a template sweep.
type SweepRow struct {
	Template   string  `json:"template"`
	Accuracy   float64 `json:"accuracy"`
	WeightedF1 float64 `json:"weighted_f1"`
	MacroF1    float64 `json:"macro_f1"`
}

// SweepReport is `bench accuracy --sweep-templates`'s result: the
// provenance fields of Report, then one row per template (and a last row for
// the ensemble of them all when there are several).
type SweepReport struct {
	Dataset   string     `json:"dataset"`
	Data      string     `json:"data"`
	Model     string     `json:"model"`
	Revision  string     `json:"revision"`
	LabelsMap LabelsMap  `json:"labels_map"`
	N         int        `json:"n"`
	Skipped   int        `json:"skipped"`
	Sweep     []SweepRow `json:"sweep"`
	Seconds   float64    `json:"seconds"`
}

// WriteTable prints the sweep, one row per template.
func (s *SweepReport) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "dataset %s (%s), model %s, %d evaluated, %d skipped\n\n", s.Dataset, s.Data, s.Model, s.N, s.Skipped)
	t := output.NewTableWriter(w, "TEMPLATE", "ACCURACY", "WEIGHTED F1", "MACRO F1")
	for _, r := range s.Sweep {
		t.Append(r.Template, output.FormatScore(r.Accuracy), output.FormatScore(r.WeightedF1), output.FormatScore(r.MacroF1))
	}
	return t.Close()
}
