package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fashionclip/fashionclip/internal/cmdutil"
)

func TestClassifyGolden(t *testing.T) {
	model := tinyModel(t)
	dir := sampleImages(t)
	chdir(t, filepath.Dir(dir))
	if err := os.WriteFile("labels.txt", []byte("sneaker\n\nboot\nred, long dress\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		tty   bool
		stdin string
		args  []string
	}{
		{"jsonl-pipe", false, "", []string{"classify", "images", "--labels", "sneaker,boot,dress,bag"}},
		{"table-tty", true, "", []string{"classify", "images", "--labels", "sneaker,boot,dress,bag"}},
		{"table-groups-tty", true, "", []string{"classify", "images", "--labels", "sneaker,boot", "--group", "colour=black,white,red", "--group", "type=dress,bag", "-k", "2"}},
		{"jsonl-groups-only", false, "", []string{"classify", "images", "--group", "colour=black,white,red", "--group", "type=dress,bag", "-k", "1"}},
		{"tsv", false, "", []string{"classify", "images", "--labels", "sneaker,boot", "--group", "colour=black,white", "--format", "tsv", "-k", "0"}},
		{"csv", false, "", []string{"classify", "images", "--labels", "sneaker,boot", "--format", "csv", "-k", "1"}},
		{"json-array", false, "", []string{"classify", "images/red-dress.jpg", "images/black-boot.jpg", "--labels", "sneaker,boot", "--format", "json"}},
		{"templates-ensembled", false, "", []string{"classify", "images/red-dress.jpg", "--labels", "dress,coat", "--template", "a photo of a {}", "--template", "a product photo of a {}, fashion"}},
		{"template-verbatim-raw", false, "", []string{"classify", "images/red-dress.jpg", "--labels", "dress,coat", "--template", "{}", "--raw-scores", "-k", "0"}},
		{"labels-file-and-label", false, "", []string{"classify", "images/red-dress.jpg", "--labels-file", "labels.txt", "--label", "t-shirt, cotton", "-k", "0"}},
		{"stdin-list", false, "images/white-sneaker.png\nimages/red-dress.jpg\n", []string{"classify", "-", "--labels", "sneaker,dress"}},
		{"stdin-nul", false, "images/white-sneaker.png\x00images/red-dress.jpg\x00", []string{"classify", "-0", "-", "--labels", "sneaker,dress"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runCLI(t, c.tty, c.stdin, map[string]string{cmdutil.EnvModel: model}, append(c.args, "--quiet")...)
			if r.code != 0 {
				t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
			}
			golden(t, "classify-"+c.name, normaliseFloats(r.stdout))
		})
	}
}

func TestClassifyScoresAreProbabilities(t *testing.T) {
	model := tinyModel(t)
	dir := sampleImages(t)
	r := runCLI(t, false, "", map[string]string{cmdutil.EnvModel: model}, "classify", dir, "--labels", "a,b,c,d", "-k", "0", "--group", "g=x,y")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 6 {
		t.Fatalf("%d lines for 6 images", len(lines))
	}
	for _, l := range lines {
		var rec struct {
			Labels []struct{ Score float64 }
			Groups map[string][]struct{ Score float64 }
		}
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatal(err)
		}
		for name, scores := range map[string][]struct{ Score float64 }{"labels": rec.Labels, "g": rec.Groups["g"]} {
			sum, prev := 0.0, 2.0
			for _, s := range scores {
				if s.Score > prev {
					t.Fatalf("%s not sorted: %s", name, l)
				}
				prev = s.Score
				sum += s.Score
			}
			if sum < 0.999999 || sum > 1.000001 {
				t.Fatalf("%s: softmax sums to %v: %s", name, sum, l)
			}
		}
	}
}

func TestClassifyUsageErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no labels", []string{"classify", "x.jpg"}, "no labels"},
		{"no inputs", []string{"classify", "--labels", "a,b"}, "no input"},
		{"template without placeholder", []string{"classify", "x.jpg", "--labels", "a", "--template", "a photo"}, "placeholder"},
		{"unknown flag", []string{"classify", "x.jpg", "--labels", "a", "--bogus"}, "unknown flag"},
		{"bad group", []string{"classify", "x.jpg", "--group", "colour"}, "NAME=label"},
		{"empty group", []string{"classify", "x.jpg", "--group", "colour="}, "has no labels"},
		{"bad format", []string{"classify", "x.jpg", "--labels", "a", "--format", "xml"}, "unknown format"},
		{"negative top-k", []string{"classify", "x.jpg", "--labels", "a", "-k", "-1"}, "--top-k"},
		{"unknown command", []string{"clasify"}, "unknown command"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runCLI(t, false, "", nil, c.args...)
			if r.code != cmdutil.ExitUsage || !strings.Contains(r.stderr, c.want) {
				t.Fatalf("exit %d, stderr %q; want exit 2 mentioning %q", r.code, r.stderr, c.want)
			}
			if r.stdout != "" {
				t.Fatalf("stdout must stay empty on a usage error, got %q", r.stdout)
			}
		})
	}
}

func TestClassifyCorruptInputsExit3(t *testing.T) {
	model := tinyModel(t)
	dir := sampleImages(t)
	// 20 good copies and one broken file of each kind: about 5% bad.
	good, _ := os.ReadFile(filepath.Join(dir, "red-dress.jpg"))
	for i := 0; i < 20; i++ {
		os.WriteFile(filepath.Join(dir, "copy"+string(rune('a'+i))+".jpg"), good, 0o644)
	}
	os.WriteFile(filepath.Join(dir, "zz-truncated.jpg"), good[:len(good)/2], 0o644)
	os.WriteFile(filepath.Join(dir, "zz-empty.png"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("skipped silently"), 0o644)
	r := runCLI(t, false, "", map[string]string{cmdutil.EnvModel: model}, "classify", dir, "--labels", "a,b")
	if r.code != cmdutil.ExitPartial {
		t.Fatalf("exit %d, want 3; stderr:\n%s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 6+20+2 {
		t.Fatalf("%d output lines, want 28 (every input, in order)", len(lines))
	}
	errorsSeen := 0
	for _, l := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatal(err)
		}
		if e, ok := rec["error"]; ok {
			errorsSeen++
			path := rec["path"].(string)
			if !strings.Contains(path, "zz-") || !strings.Contains(r.stderr, path) {
				t.Fatalf("error %v for %s not named on stderr:\n%s", e, path, r.stderr)
			}
		}
	}
	if errorsSeen != 2 || strings.Contains(r.stdout, "notes.txt") {
		t.Fatalf("want 2 error records and notes.txt skipped, got %d:\n%s", errorsSeen, r.stdout)
	}
	if !strings.Contains(r.stderr, "2 of 28 inputs failed") {
		t.Fatalf("summary missing: %s", r.stderr)
	}
}

func TestClassifyFatalCases(t *testing.T) {
	model := tinyModel(t)
	empty := t.TempDir()
	bad := filepath.Join(t.TempDir(), "bad.jpg")
	os.WriteFile(bad, []byte("not an image"), 0o644)
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no image found", map[string]string{cmdutil.EnvModel: model}, []string{"classify", empty, "--labels", "a"}, "no image found"},
		{"every input failed", map[string]string{cmdutil.EnvModel: model}, []string{"classify", bad, "--labels", "a"}, "every input failed"},
		{"missing labels file", map[string]string{cmdutil.EnvModel: model}, []string{"classify", bad, "--labels-file", filepath.Join(empty, "nope.txt")}, "labels file"},
		{"model folder without graph", map[string]string{cmdutil.EnvModel: empty}, []string{"classify", bad, "--labels", "a"}, "no ONNX graph"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runCLI(t, false, "", c.env, c.args...)
			if r.code != cmdutil.ExitFatal || !strings.Contains(r.stderr, c.want) {
				t.Fatalf("exit %d stderr %q; want exit 1 mentioning %q", r.code, r.stderr, c.want)
			}
			var lines []string
			for _, l := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
				if !strings.Contains(l, "WARNING") {
					lines = append(lines, l)
				}
			}
			if c.name != "every input failed" && len(lines) != 1 {
				t.Fatalf("a fatal error should be one line, got:\n%s", r.stderr)
			}
		})
	}
}

func TestClassifySyntheticModelWarnsLoudly(t *testing.T) {
	model := tinyModel(t)
	dir := sampleImages(t)
	r := runCLI(t, false, "", map[string]string{cmdutil.EnvModel: model}, "classify", dir, "--labels", "a,b")
	if r.code != 0 || !strings.Contains(r.stderr, "SYNTHETIC") {
		t.Fatalf("exit %d; stderr must warn that the model is synthetic: %q", r.code, r.stderr)
	}
}

func TestQuietStillNamesFailedInputs(t *testing.T) {
	model := tinyModel(t)
	dir := sampleImages(t)
	bad := filepath.Join(dir, "broken.jpg")
	os.WriteFile(bad, []byte("\xff\xd8\xff garbage"), 0o644)
	r := runCLI(t, true, "", map[string]string{cmdutil.EnvModel: model}, "classify", dir, "--labels", "a,b", "--quiet", "--format", "csv")
	if r.code != cmdutil.ExitPartial {
		t.Fatalf("exit %d, want 3", r.code)
	}
	if !strings.Contains(r.stderr, bad) || !strings.Contains(r.stderr, "SYNTHETIC") {
		t.Fatalf("--quiet must still name the failed input and warn about the synthetic model:\n%s", r.stderr)
	}
}

func TestProgressOnlyOnTerminal(t *testing.T) {
	model := tinyModel(t)
	dir := manyImages(t, 40)
	tty := runCLI(t, true, "", map[string]string{cmdutil.EnvModel: model}, "classify", dir, "--labels", "a,b", "--format", "jsonl")
	if tty.code != 0 || !strings.Contains(tty.stderr, "images") || !strings.Contains(tty.stderr, "/40, ") {
		t.Fatalf("terminal run: exit %d, stderr lacks a progress bar with a total:\n%q", tty.code, tty.stderr)
	}
	if strings.Contains(tty.stdout, "/40, ") {
		t.Fatal("progress leaked onto stdout")
	}
	pipe := runCLI(t, false, "", map[string]string{cmdutil.EnvModel: model}, "classify", dir, "--labels", "a,b")
	quiet := runCLI(t, true, "", map[string]string{cmdutil.EnvModel: model}, "classify", dir, "--labels", "a,b", "--quiet", "--format", "jsonl")
	for name, r := range map[string]cliResult{"pipe": pipe, "quiet": quiet} {
		if strings.Contains(r.stderr, "/40, ") {
			t.Errorf("%s run shows a progress bar:\n%s", name, r.stderr)
		}
	}
}
