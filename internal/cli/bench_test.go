package cli

import (
	"bufio"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/fashionclip/fashionclip/internal/bench"
	"github.com/fashionclip/fashionclip/internal/bench/benchtest"
	"github.com/fashionclip/fashionclip/internal/cmdutil"
)

// readPredictions parses a --predictions file.
func readPredictions(t *testing.T, path string) []bench.Prediction {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var out []bench.Prediction
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		var p bench.Prediction
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			t.Fatalf("%q: %v", sc.Text(), err)
		}
		out = append(out, p)
	}
	return out
}

func TestBenchAccuracyEveryFormat(t *testing.T) {
	model := tinyModel(t)
	tests := []struct {
		kind  string
		write func(t testing.TB, dir string) benchtest.Expect
	}{
		{"fmnist", func(t testing.TB, dir string) benchtest.Expect { return benchtest.FMNIST(t, dir, "test", 21, true) }},
		{"fmnist", func(t testing.TB, dir string) benchtest.Expect { return benchtest.FMNIST(t, dir, "test", 9, false) }},
		{"kagl", benchtest.Kaggle},
		{"deepfashion", benchtest.DeepFashion},
		{"folder", benchtest.Folder},
		{"csv", benchtest.CSV},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			dir := t.TempDir()
			want := tt.write(t, filepath.Join(dir, "data"))
			preds, out, plot := filepath.Join(dir, "p.jsonl"), filepath.Join(dir, "r.json"), filepath.Join(dir, "cm.png")
			r := runCLI(t, false, "", map[string]string{cmdutil.EnvModel: model}, "bench", "accuracy", "--dataset", tt.kind,
				"--data", want.Path, "--format", "json", "--predictions", preds, "--out", out, "--plot", plot, "--batch-size", "4")
			wantCode := cmdutil.ExitOK
			if len(want.Skipped) > 0 {
				wantCode = cmdutil.ExitPartial
			}
			if r.code != wantCode {
				t.Fatalf("exit %d, want %d; stderr:\n%s", r.code, wantCode, r.stderr)
			}
			for _, id := range want.Skipped {
				if !strings.Contains(r.stderr, id+": skipped") {
					t.Errorf("skipped item %s not named on stderr:\n%s", id, r.stderr)
				}
			}
			var rep bench.Report
			if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
				t.Fatalf("%v\n%s", err, r.stdout)
			}
			if rep.Dataset != tt.kind || rep.Data != want.Path || rep.Model != model || rep.N != len(want.IDs) ||
				rep.Skipped != len(want.Skipped) || !reflect.DeepEqual(rep.Templates, []string{"a photo of a {}"}) || rep.LabelsMap != nil {
				t.Errorf("report header = %+v", rep)
			}
			fileJSON, _ := os.ReadFile(out)
			if string(fileJSON) != r.stdout {
				t.Errorf("--out differs from stdout")
			}

			// Predictions: one per item, in dataset order, candidates only.
			got := readPredictions(t, preds)
			var ids, labels, predicted []string
			for _, p := range got {
				ids, labels, predicted = append(ids, p.ID), append(labels, p.Label), append(predicted, p.Predicted)
				if !slices.Contains(want.Classes, p.Predicted) || p.Score <= 0 || p.Score > 1 {
					t.Errorf("prediction %+v: not a candidate or score out of range", p)
				}
			}
			if !reflect.DeepEqual(ids, want.IDs) || !reflect.DeepEqual(labels, want.Labels) {
				t.Errorf("predictions ids %q labels %q, want %q %q", ids, labels, want.IDs, want.Labels)
			}
			// The report's metrics are those of its own predictions.
			m, err := bench.Compute(labels, predicted)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Accuracy != m.Accuracy || rep.WeightedF1 != m.WeightedF1 || rep.MacroF1 != m.MacroF1 ||
				!reflect.DeepEqual(rep.PerClass, m.PerClass) || !reflect.DeepEqual(rep.Confusion, m.Confusion) {
				t.Errorf("report metrics differ from its predictions':\n%+v\n%+v", rep, m)
			}

			fh, err := os.Open(plot)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			if _, err := png.Decode(fh); err != nil {
				t.Errorf("--plot: %v", err)
			}
		})
	}
}

func TestBenchAccuracyMapLimitAndUnion(t *testing.T) {
	model := tinyModel(t)
	dir := t.TempDir()
	want := benchtest.Kaggle(t, filepath.Join(dir, "kagl"))
	mapFile := filepath.Join(dir, "kagl.map")
	os.WriteFile(mapFile, []byte("# Kaggle classes → prompt words\nTshirts=t-shirt\nShirts\tshirt\nSkirts=skirt\n"), 0o644)
	preds := filepath.Join(dir, "p.jsonl")
	args := []string{"bench", "accuracy", "--dataset", "kagl", "--data", want.Path, "--labels-map", mapFile,
		"--limit", "4", "--seed", "3", "--predictions", preds, "--format", "json"}
	r := runCLI(t, false, "", map[string]string{cmdutil.EnvModel: model}, args...)
	if r.code != cmdutil.ExitPartial { // the row without an image
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, `no class named "Skirts"`) {
		t.Errorf("unused mapping not reported:\n%s", r.stderr)
	}
	var rep bench.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.N != 4 || rep.LabelsMap["Tshirts"] != "t-shirt" {
		t.Fatalf("n = %d, labels_map = %v", rep.N, rep.LabelsMap)
	}
	got := readPredictions(t, preds)
	truths := map[string]bool{}
	var labels, predicted []string
	for _, p := range got {
		truths[p.Label] = true
		labels, predicted = append(labels, p.Label), append(predicted, p.Predicted)
		if p.Label == "Tshirts" || p.Label == "Shirts" {
			t.Errorf("truth %q was not mapped", p.Label)
		}
	}
	// Every label of the report is in the union of truths and predictions.
	union := map[string]bool{}
	for _, l := range append(labels, predicted...) {
		union[l] = true
	}
	if len(rep.Confusion.Labels) != len(union) {
		t.Errorf("confusion labels %q, union %v", rep.Confusion.Labels, union)
	}
	// Same seed, same sample.
	r2 := runCLI(t, false, "", map[string]string{cmdutil.EnvModel: model}, args...)
	if again := readPredictions(t, preds); !reflect.DeepEqual(again, got) || r2.code != cmdutil.ExitPartial {
		t.Errorf("second run differs: %+v vs %+v", again, got)
	}
}

func TestBenchAccuracySweepAndTable(t *testing.T) {
	model := tinyModel(t)
	dir := t.TempDir()
	want := benchtest.FMNIST(t, filepath.Join(dir, "fmnist"), "test", 10, true)
	sweep := filepath.Join(dir, "templates.txt")
	os.WriteFile(sweep, []byte("a photo of a {}\n\na black and white photo of a {}, a type of clothing\n"), 0o644)
	env := map[string]string{cmdutil.EnvModel: model}

	r := runCLI(t, false, "", env, "bench", "accuracy", "--dataset", "fmnist", "--data", want.Path, "--sweep-templates", sweep, "-f", "json")
	if r.code != cmdutil.ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var sr bench.SweepReport
	if err := json.Unmarshal([]byte(r.stdout), &sr); err != nil {
		t.Fatal(err)
	}
	if len(sr.Sweep) != 3 || sr.Sweep[0].Template != "a photo of a {}" || sr.Sweep[2].Template != "ensemble of all 2" || sr.N != 10 {
		t.Errorf("sweep = %+v", sr)
	}
	// The sweep's first row equals a plain run with that template.
	r = runCLI(t, false, "", env, "bench", "accuracy", "--dataset", "fmnist", "--data", want.Path, "--template", "a photo of a {}", "-f", "json")
	var rep bench.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Accuracy != sr.Sweep[0].Accuracy || rep.MacroF1 != sr.Sweep[0].MacroF1 {
		t.Errorf("plain run %v/%v, sweep row %+v", rep.Accuracy, rep.MacroF1, sr.Sweep[0])
	}

	r = runCLI(t, true, "", env, "bench", "accuracy", "--dataset", "fmnist", "--data", want.Path, "--quiet")
	for _, s := range []string{"accuracy", "weighted F1", "PRECISION", "T-shirt/top", "TRUTH \\ PREDICTED"} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("table lacks %q:\n%s", s, r.stdout)
		}
	}
	r = runCLI(t, true, "", env, "bench", "accuracy", "--dataset", "fmnist", "--data", want.Path, "--sweep-templates", sweep, "--quiet")
	if !strings.Contains(r.stdout, "TEMPLATE") || !strings.Contains(r.stdout, "ensemble of all 2") {
		t.Errorf("sweep table:\n%s", r.stdout)
	}
}

func TestBenchAccuracyUnreadableItem(t *testing.T) {
	model := tinyModel(t)
	dir := t.TempDir()
	want := benchtest.Folder(t, dir)
	os.WriteFile(filepath.Join(dir, "dress", "broken.jpg"), []byte("not a jpeg"), 0o644)
	r := runCLI(t, false, "", map[string]string{cmdutil.EnvModel: model}, "bench", "accuracy", "--dataset", "folder", "--data", dir, "-f", "json")
	if r.code != cmdutil.ExitPartial || !strings.Contains(r.stderr, "dress/broken.jpg: skipped") {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	var rep bench.Report
	json.Unmarshal([]byte(r.stdout), &rep)
	if rep.N != len(want.IDs) || rep.Skipped != 1 {
		t.Errorf("n = %d, skipped = %d", rep.N, rep.Skipped)
	}
}

func TestBenchAccuracyErrors(t *testing.T) {
	dir := t.TempDir()
	sweep := filepath.Join(dir, "t.txt")
	os.WriteFile(sweep, []byte("{}\n"), 0o644)
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no dataset", []string{"--data", dir}, cmdutil.ExitUsage, "--dataset is required"},
		{"unknown dataset", []string{"--dataset", "mnist", "--data", dir}, cmdutil.ExitUsage, `unknown --dataset "mnist"`},
		{"no data", []string{"--dataset", "folder"}, cmdutil.ExitUsage, "--data PATH is required"},
		{"split on folder", []string{"--dataset", "folder", "--data", dir, "--split", "val"}, cmdutil.ExitUsage, "--split applies"},
		{"label column on csv", []string{"--dataset", "csv", "--data", dir, "--label-column", "x"}, cmdutil.ExitUsage, "kagl only"},
		{"seed without limit", []string{"--dataset", "folder", "--data", dir, "--seed", "4"}, cmdutil.ExitUsage, "give --limit"},
		{"sweep and template", []string{"--dataset", "folder", "--data", dir, "--sweep-templates", sweep, "--template", "{}"}, cmdutil.ExitUsage, "do not mix"},
		{"sweep and plot", []string{"--dataset", "folder", "--data", dir, "--sweep-templates", sweep, "--plot", "x.png"}, cmdutil.ExitUsage, "do not mix"},
		{"bad template", []string{"--dataset", "folder", "--data", dir, "--template", "no placeholder"}, cmdutil.ExitUsage, "placeholder"},
		{"bad format", []string{"--dataset", "folder", "--data", dir, "-f", "csv"}, cmdutil.ExitUsage, "unknown format"},
		{"fmnist missing", []string{"--dataset", "fmnist", "--data", dir}, cmdutil.ExitFatal, "data pull fmnist"},
		{"empty folder", []string{"--dataset", "folder", "--data", dir}, cmdutil.ExitFatal, "no usable example"},
		{"bad labels map", []string{"--dataset", "folder", "--data", dir, "--labels-map", sweep}, cmdutil.ExitFatal, "labels map"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "bad labels map" {
				benchtest.Folder(t, dir)
			}
			r := runCLI(t, false, "", nil, append([]string{"bench", "accuracy"}, tt.args...)...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.msg) {
				t.Errorf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, tt.code, tt.msg)
			}
		})
	}
}

func TestBenchSpeed(t *testing.T) {
	model := tinyModel(t)
	imgs := t.TempDir()
	benchtest.Folder(t, imgs)
	tests := []struct {
		name   string
		args   []string
		images int
		source string
	}{
		{"synthetic", []string{"--synthetic", "3"}, 3, "3 synthetic 1200×1600 JPEGs"},
		{"folder", []string{"--images", imgs}, 7, "7 images from " + imgs}, // the hidden file is left out, loose.jpg is in
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"bench", "speed", "--batch-size", "2", "--threads", "2", "-f", "json", "--quiet"}, tt.args...)
			r := runCLI(t, false, "", map[string]string{cmdutil.EnvModel: model}, args...)
			if r.code != cmdutil.ExitOK {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			var rep bench.SpeedReport
			if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
				t.Fatal(err)
			}
			if rep.Images != tt.images || rep.Source != tt.source || rep.BatchSize != 2 || rep.Threads != 2 {
				t.Errorf("report = %+v", rep)
			}
			if rep.ImagesPerSecond <= 0 || rep.ModelOnlyImagesPerSecond <= 0 || rep.VsModelOnly <= 0 ||
				rep.BatchLatencyMS.P50 <= 0 || rep.BatchLatencyMS.P99 < rep.BatchLatencyMS.P50 || rep.TextMS <= 0 || rep.TextCount != 10 {
				t.Errorf("timings = %+v", rep)
			}
			var names []string
			for _, s := range rep.Stages {
				names = append(names, s.Name)
				if s.MSPerImage < 0 {
					t.Errorf("stage %s: %v ms", s.Name, s.MSPerImage)
				}
			}
			if !reflect.DeepEqual(names, []string{"read", "decode", "preprocess", "infer", "score"}) {
				t.Errorf("stages %q", names)
			}
			if rep.PeakRSSBytes < 1<<20 {
				t.Errorf("peak RSS %d", rep.PeakRSSBytes)
			}
		})
	}
	r := runCLI(t, false, "", nil, "bench", "speed", "--images", imgs, "--synthetic", "2")
	if r.code != cmdutil.ExitUsage {
		t.Errorf("--images with --synthetic: exit %d", r.code)
	}
}

func TestBenchAndDataHelp(t *testing.T) {
	for _, cmd := range [][]string{{"bench", "accuracy"}, {"bench", "speed"}, {"data", "pull"}} {
		r := runCLI(t, false, "", nil, append(cmd, "--help")...)
		if r.code != 0 || !strings.Contains(r.stdout, "EXIT STATUS") || !strings.Contains(r.stdout, "Examples:") {
			t.Errorf("%s --help lacks EXIT STATUS or Examples:\n%s", cmd, r.stdout)
		}
	}
	for _, cmd := range []string{"bench", "data"} {
		if r := runCLI(t, false, "", nil, cmd); r.code != cmdutil.ExitUsage || !strings.Contains(r.stderr, "needs a subcommand") {
			t.Errorf("%s alone: exit %d, %q", cmd, r.code, r.stderr)
		}
	}
}
