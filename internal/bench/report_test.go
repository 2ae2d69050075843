package bench

import (
	"bytes"
	"encoding/json"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestReportJSONShape(t *testing.T) {
	m, err := Compute([]string{"a", "b", "b"}, []string{"a", "b", "c"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		r    Report
		keys []string
		null string
	}{
		{"with map", Report{Dataset: "kagl", Templates: []string{"a photo of a {}"}, LabelsMap: LabelsMap{"b": "B"}},
			[]string{"dataset", "data", "model", "revision", "templates", "labels_map", "n", "skipped", "accuracy",
				"weighted_f1", "macro_f1", "per_class", "confusion", "seconds"}, ""},
		{"without map", Report{Dataset: "fmnist"}, nil, `"labels_map": null`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.r
			r.SetMetrics(m)
			var buf bytes.Buffer
			if err := WriteJSON(&buf, &r); err != nil {
				t.Fatal(err)
			}
			if tt.keys != nil {
				// Decode keys in order: the documented object's order.
				dec := json.NewDecoder(bytes.NewReader(buf.Bytes()))
				dec.Token()
				var keys []string
				for dec.More() {
					k, _ := dec.Token()
					keys = append(keys, k.(string))
					var skip json.RawMessage
					dec.Decode(&skip)
				}
				if !reflect.DeepEqual(keys, tt.keys) {
					t.Errorf("keys = %q\nwant   %q", keys, tt.keys)
				}
			}
			if tt.null != "" && !strings.Contains(buf.String(), tt.null) {
				t.Errorf("missing %s in %s", tt.null, buf.String())
			}
			var back struct {
				PerClass []map[string]any `json:"per_class"`
				Conf     struct {
					Labels []string `json:"labels"`
					Matrix [][]int  `json:"matrix"`
				} `json:"confusion"`
			}
			json.Unmarshal(buf.Bytes(), &back)
			if len(back.PerClass) != 3 || back.PerClass[2]["label"] != "c" || back.PerClass[2]["support"] != 0.0 {
				t.Errorf("per_class = %v", back.PerClass)
			}
			if !reflect.DeepEqual(back.Conf.Matrix, [][]int{{1, 0, 0}, {0, 1, 1}, {0, 0, 0}}) {
				t.Errorf("matrix = %v", back.Conf.Matrix)
			}
		})
	}
}

func TestReportTable(t *testing.T) {
	m, _ := Compute([]string{"dress", "coat"}, []string{"dress", "dress"})
	r := Report{Dataset: "csv", Data: "x.csv", Model: "tiny", Templates: []string{"{}"}}
	r.SetMetrics(m)
	var buf bytes.Buffer
	if err := r.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"accuracy    0.5000", "macro F1    0.3333", "PRECISION", "TRUTH \\ PREDICTED", "1 coat", "2 dress"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, buf.String())
		}
	}
}

// terminal is a writer that says its width, as stdout on a terminal does.
type terminal struct {
	bytes.Buffer
	width int
}

func (t *terminal) TermWidth() int { return t.width }

// The Fashion-MNIST matrix fits 80 columns; one too wide for the terminal
// is not drawn broken but pointed to --out and --plot.
func TestConfusionTableFits(t *testing.T) {
	labels := []string{"t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"}
	var truth, pred []string
	for i, l := range labels {
		for j := range 1000 {
			truth = append(truth, l)
			pred = append(pred, labels[(i+j%3)%len(labels)])
		}
	}
	m, _ := Compute(truth, pred)
	r := Report{Dataset: "fashion-mnist", Model: "tiny", Templates: []string{"{}"}}
	r.SetMetrics(m)
	for _, tc := range []struct {
		width int
		drawn bool
	}{{80, true}, {50, false}} {
		out := &terminal{width: tc.width}
		if err := r.WriteTable(out); err != nil {
			t.Fatal(err)
		}
		text := out.String()
		if drawn := strings.Contains(text, "numbered as the rows"); drawn != tc.drawn || (!drawn && !strings.Contains(text, "see --out or --plot")) {
			t.Errorf("width %d: matrix drawn %v, want %v:\n%s", tc.width, drawn, tc.drawn, text)
		}
		for _, line := range strings.Split(text, "\n") {
			if n := len([]rune(line)); n > tc.width && tc.drawn {
				t.Errorf("width %d: a line of %d columns: %q", tc.width, n, line)
			}
		}
	}
}

func TestConfusionPNG(t *testing.T) {
	tests := []struct {
		name string
		c    Confusion
		err  string
	}{
		{"small", Confusion{Labels: []string{"T-shirt/top", "Trouser", "Bag"}, Matrix: [][]int{{8, 2, 0}, {0, 5, 0}, {0, 0, 0}}}, ""},
		{"many classes", func() Confusion {
			c := Confusion{}
			for i := range 60 {
				c.Labels = append(c.Labels, strings.Repeat("x", i))
				row := make([]int, 60)
				row[i] = 3
				c.Matrix = append(c.Matrix, row)
			}
			return c
		}(), ""},
		{"empty", Confusion{}, "empty"},
		{"ragged", Confusion{Labels: []string{"a", "b"}, Matrix: [][]int{{1, 0}, {1}}}, "row 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cm.png")
			err := WriteConfusionPNGFile(path, tt.c, "title")
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				if _, statErr := os.Stat(path); statErr == nil {
					t.Error("a failed plot left a file behind")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			fh, _ := os.Open(path)
			defer fh.Close()
			img, err := png.Decode(fh)
			if err != nil {
				t.Fatal(err)
			}
			if tt.name != "small" {
				return
			}
			// Find the matrix by its darkest cell: Trouser→Trouser is 5/5 = 1.
			// Row-normalised, T-shirt→T-shirt (0.8) is darker than
			// T-shirt→Trouser (0.2), and the empty Bag row is all pale.
			b := img.Bounds()
			var darkest, pale int
			for y := b.Min.Y; y < b.Max.Y; y++ {
				for x := b.Min.X; x < b.Max.X; x++ {
					c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
					if c == highColor {
						darkest++
					}
					if c == lowColor {
						pale++
					}
				}
			}
			if darkest < 100 || pale < 100 {
				t.Errorf("heat map lacks full and empty cells (%d dark, %d pale pixels)", darkest, pale)
			}
		})
	}
}
