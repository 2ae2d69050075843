package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fashionclip/fashionclip/internal/cmdutil"
	"github.com/fashionclip/fashionclip/internal/graphcache"
	"github.com/fashionclip/fashionclip/internal/index"
	"github.com/fashionclip/fashionclip/internal/iostreams"
	"github.com/fashionclip/fashionclip/internal/synth"
	"github.com/fashionclip/fashionclip/internal/testutil"
)

// Issue 14, defect 1: known devices fall back with one fashionclip warning
// and no ONNX Runtime log lines; unknown devices are usage errors.
func TestDeviceFallbackAndUnknownDevice(t *testing.T) {
	model := tinyModel(t)
	img := sampleImages(t)
	if r := runCLI(t, false, "", nil, "classify", img, "--labels", "a,b", "--model", model, "--device", "tpu"); r.code != cmdutil.ExitUsage ||
		!strings.Contains(r.stderr, `unknown device "tpu"`) {
		t.Errorf("--device tpu: exit %d, stderr %q", r.code, r.stderr)
	}
	for _, device := range []string{"cuda", "coreml"} {
		t.Run(device, func(t *testing.T) {
			r := runBinary(t, t.TempDir(), "", []string{"NO_COLOR=1"}, "classify", img, "--labels", "a,b", "--model", model, "--device", device, "-q")
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			var warnings int
			for _, l := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
				switch {
				case strings.Contains(l, "SYNTHETIC"):
				case strings.HasPrefix(l, "fashionclip: WARNING: ") && strings.Contains(l, "running on the CPU"):
					warnings++
				default:
					t.Errorf("unexpected stderr line %q", l)
				}
			}
			if warnings != 1 {
				t.Errorf("%d fallback warnings, want 1:\n%s", warnings, r.stderr)
			}
		})
	}
}

// Issue 14, defect 4: mistyped subcommands and flags are usage errors with a suggestion.
func TestUnknownSubcommandsAndFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"model", "lst"}, "Did you mean this?\n\tlist"},
		{[]string{"index", "inf", "x"}, "Did you mean this?\n\tinfo"},
		{[]string{"runtime", "instal"}, "Did you mean this?\n\tinstall"},
		{[]string{"completion", "bsh"}, "Did you mean this?\n\tbash"},
		{[]string{"help", "clasify"}, "Did you mean this?\n\tclassify"},
		{[]string{"help", "model", "lst"}, "Did you mean this?\n\tlist"},
		{[]string{"clasify"}, "Did you mean this?\n\tclassify"},
		{[]string{"classify", "x.jpg", "--lables", "a"}, "Did you mean this?\n\t--labels"},
		{[]string{"index", "info"}, "accepts 1 arg"},
	} {
		r := runCLI(t, false, "", nil, tc.args...)
		if r.code != cmdutil.ExitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 with %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
	for _, args := range [][]string{{"help", "model"}, {"help", "model", "list"}, {"help", "environment"}, {"help"}} {
		if r := runCLI(t, false, "", nil, args...); r.code != 0 || !strings.Contains(r.stdout, "fashionclip") || r.stderr != "" {
			t.Errorf("%v: exit %d, stdout %.80q, stderr %q", args, r.code, r.stdout, r.stderr)
		}
	}
}

// Help shows the global flags a command uses, and the exit statuses once.
func TestHelpShowsApplicableGlobalsAndExitStatusOnce(t *testing.T) {
	for _, tc := range []struct {
		cmd      []string
		has, not []string
	}{
		{[]string{"tokenize"}, []string{"--model", "--variant"}, []string{"--device", "--threads", "--ort-lib"}},
		{[]string{"index", "info"}, []string{"--quiet"}, []string{"--model", "--device"}},
		{[]string{"classify"}, []string{"--model", "--device", "--threads", "--ort-lib"}, nil},
	} {
		r := runCLI(t, false, "", nil, append(tc.cmd, "--help")...)
		for _, h := range tc.has {
			if !strings.Contains(r.stdout, h) {
				t.Errorf("%v --help lacks %s", tc.cmd, h)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(r.stdout, n) {
				t.Errorf("%v --help shows %s, which it ignores", tc.cmd, n)
			}
		}
		if strings.Count(r.stdout, "EXIT STATUS") != 1 {
			t.Errorf("%v --help: EXIT STATUS %d times", tc.cmd, strings.Count(r.stdout, "EXIT STATUS"))
		}
	}
}

// Issue 14, defect 6: an output path under a missing folder fails before
// the dataset or the model is loaded, naming the path.
func TestBenchChecksOutputPathsFirst(t *testing.T) {
	missing := t.TempDir() + "/no/such"
	for _, flag := range []string{"--out", "--plot", "--predictions"} {
		r := runCLI(t, false, "", nil, "bench", "accuracy", "--dataset", "folder", "--data", "/nonexistent-dataset", flag, missing+"/x")
		if r.code != cmdutil.ExitFatal || !strings.Contains(r.stderr, flag+": "+missing+"/x") || strings.Contains(r.stderr, "nonexistent-dataset") {
			t.Errorf("%s: exit %d, stderr %q", flag, r.code, r.stderr)
		}
	}
}

// Issue 14, defect 9: a search whose recorded model folder moved says so
// instead of falling back to the Hub's default model.
func TestSearchRecordedModelFolderGone(t *testing.T) {
	testutil.ORTLibrary(t)
	dir := t.TempDir()
	model := filepath.Join(dir, "model")
	if err := synth.Write(model, "combined", synth.Tiny()); err != nil {
		t.Fatal(err)
	}
	idx := filepath.Join(dir, "idx")
	if r := runCLI(t, false, "", nil, "embed", "-m", model, "--text", "red dress", "-o", idx); r.code != 0 {
		t.Fatalf("embed: %s", r.stderr)
	}
	if err := os.Rename(model, model+"-moved"); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, false, "", map[string]string{"HF_HUB_OFFLINE": "1"}, "search", idx, "dress")
	if r.code != cmdutil.ExitFatal || !strings.Contains(r.stderr, model+", which is gone") || !strings.Contains(r.stderr, "--model") || strings.Contains(r.stderr, "Hub") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	if r := runCLI(t, false, "", nil, "search", idx, "dress", "-m", model+"-moved"); r.code != 0 {
		t.Errorf("with --model: exit %d, %s", r.code, r.stderr)
	}
}

// Issue 14, defect 11: binary output is refused on a terminal.
func TestPreprocessRefusesBinaryOnATerminal(t *testing.T) {
	img := filepath.Join(sampleImages(t), "red-dress.jpg")
	if r := runCLI(t, true, "", nil, "preprocess", img, "-o", "-"); r.code != cmdutil.ExitUsage || !strings.Contains(r.stderr, "terminal") {
		t.Errorf("tty: exit %d, %q", r.code, r.stderr)
	}
	if r := runCLI(t, false, "", nil, "preprocess", img, "-o", "-"); r.code != 0 || !strings.HasPrefix(r.stdout, "\x93NUMPY") {
		t.Errorf("pipe: exit %d, %q", r.code, r.stderr)
	}
}

// Issue 14, defect 14: derived graphs are listed with their size, and
// prune removes those whose model file is gone.
func TestCacheInfoAndPrune(t *testing.T) {
	cache := t.TempDir()
	env := map[string]string{"FASHIONCLIP_CACHE": cache}
	src := filepath.Join(t.TempDir(), "model.onnx")
	os.WriteFile(src, []byte("graph"), 0o644)
	gc, _ := cmdutil.GraphCache(cmdutil.NewFactory(nil, testGetenv(t, env)))
	for _, source := range []string{src, "/gone/model.onnx"} {
		key := "file-gone"
		if source == src {
			key, _ = graphcache.SourceKey(src)
		}
		if _, _, err := gc.Build(key, graphcache.Meta{Source: source, Recipe: "split-v1"}, func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "text.onnx"), make([]byte, 2000), 0o644)
		}); err != nil {
			t.Fatal(err)
		}
	}
	r := runCLI(t, false, "", env, "cache", "info", "-f", "json")
	if r.code != 0 || strings.Count(r.stdout, `"stale":true`) != 1 || strings.Count(r.stdout, `"stale":false`) != 1 {
		t.Fatalf("info: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, false, "", env, "cache", "prune")
	if r.code != 0 || !strings.Contains(r.stderr, "removed 1 stale entry, 2.") {
		t.Fatalf("prune: exit %d %s", r.code, r.stderr)
	}
	if entries, _ := gc.Entries(); len(entries) != 1 || entries[0].Meta.Source != src {
		t.Fatalf("left %+v", entries)
	}
}

// `help environment` names every variable the program reads.
func TestHelpEnvironmentListsEveryVariable(t *testing.T) {
	r := runCLI(t, false, "", nil, "help", "environment")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	testOnly := map[string]bool{"FASHIONCLIP_BENCH_MODEL": true, "FASHIONCLIP_HUB_TEST_CHILD": true,
		"FASHIONCLIP_INDEX_CRASH_DIR": true, "FASHIONCLIP_INDEX_CRASH_SEED": true, "FASHIONCLIP_SYNTH_FULL": true, "FASHIONCLIP_CHROMIUM": true}
	name := regexp.MustCompile(`"((?:FASHIONCLIP|HF|HUGGING_?FACE|TRANSFORMERS|SLURM|JOB)_[A-Z_]+)"`)
	root := testutil.ModuleRoot(t)
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() && (d.Name() == "third_party" || d.Name() == ".git") {
			return filepath.SkipDir
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		b, _ := os.ReadFile(p)
		for _, m := range name.FindAllStringSubmatch(string(b), -1) {
			if !testOnly[m[1]] && !strings.Contains(r.stdout, m[1]) {
				t.Errorf("%s reads $%s, which help environment does not list", p, m[1])
			}
		}
		return nil
	})
}

// Friction: model rm asks on a terminal, unless -y.
func TestModelRmConfirms(t *testing.T) {
	for _, tc := range []struct {
		name, stdin string
		tty         bool
		args        []string
		removed     bool
	}{
		{"tty, no", "n\n", true, nil, false},
		{"tty, yes", "y\n", true, nil, true},
		{"tty, -y", "", true, []string{"-y"}, true},
		{"pipe", "", false, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cache := fakeCache(t, "acme/clip")
			r := runCLI(t, tc.tty, tc.stdin, map[string]string{"HF_HUB_CACHE": cache}, append([]string{"model", "rm", "acme/clip"}, tc.args...)...)
			_, err := os.Stat(filepath.Join(cache, "models--acme--clip"))
			if gone := os.IsNotExist(err); gone != tc.removed || (r.code == 0) != tc.removed {
				t.Errorf("exit %d, removed %v; want removed %v\n%s", r.code, gone, tc.removed, r.stderr)
			}
		})
	}
}

// Friction: Ctrl-C in embed -o says how much was committed.
func TestBinaryEmbedIndexInterruptSaysWhatWasCommitted(t *testing.T) {
	model := tinyModel(t)
	dir := manyImages(t, 2000)
	cmd := exec.Command(buildBinary(t), "embed", ".", "-o", "idx", "--commit-every", "20", "--threads", "1", "--batch-size", "1")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "FASHIONCLIP_CACHE="+testCacheDir(t), cmdutil.EnvModel+"="+model)
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if st, err := index.Stat(filepath.Join(dir, "idx")); err == nil && st.Items > 0 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("nothing committed within a minute")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != cmdutil.ExitInterrupted {
		t.Fatalf("exit %v, want 130; stderr %s", err, errOut.String())
	}
	if !regexp.MustCompile(`interrupted: idx holds \d+ items? as committed`).MatchString(errOut.String()) {
		t.Errorf("stderr %q", errOut.String())
	}
}

// Friction: an empty search result says so on a terminal.
func TestSearchNoMatchOnTerminal(t *testing.T) {
	model := tinyModel(t)
	dir := t.TempDir()
	idx := filepath.Join(dir, "idx")
	if r := runCLI(t, false, "", nil, "embed", "-m", model, "--text", "red dress", "-o", idx); r.code != 0 {
		t.Fatalf("embed: %s", r.stderr)
	}
	r := runCLI(t, true, "", nil, "search", idx, "dress", "-m", model, "--min-score", "1.5")
	if r.code != 0 || !strings.Contains(r.stderr, "no match") || r.stdout != "" {
		t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// Issue 14, defect 2: on a terminal the progress bar never shares a line
// with the results or with a failed input's message, in any format.
func TestProgressBarKeepsOffResultsOnATerminal(t *testing.T) {
	model := tinyModel(t)
	dir := manyImages(t, 40)
	os.WriteFile(filepath.Join(dir, "0005-broken.jpg"), []byte("not a jpeg"), 0o644)
	for _, format := range []string{"tsv", "table"} {
		t.Run(format, func(t *testing.T) {
			args := []string{"classify", dir, "--labels", "a,b", "-f", format, "--batch-size", "1"}
			piped := runCLI(t, false, "", map[string]string{cmdutil.EnvModel: model}, args...)
			io, _, scr := iostreams.TestTerminal(200)
			code := Run(context.Background(), cmdutil.NewFactory(io, testGetenv(t, map[string]string{cmdutil.EnvModel: model})), args)
			if code != cmdutil.ExitPartial {
				t.Fatalf("exit %d, want 3:\n%s", code, scr)
			}
			if !strings.Contains(scr.Raw.String(), "/41") {
				t.Fatalf("no progress bar was drawn: the test shows nothing\n%q", scr.Raw.String())
			}
			lines := map[string]bool{}
			for _, l := range scr.Lines() {
				lines[l] = true
				if strings.Contains(l, "/41") {
					t.Errorf("the bar is left on screen or glued to a line: %q", l)
				}
			}
			want := strings.Split(strings.TrimSpace(piped.stdout), "\n")
			for _, l := range strings.Split(piped.stderr, "\n") {
				if strings.Contains(l, "broken.jpg") { // notes such as "prepared" come once per cache
					want = append(want, l)
				}
			}
			for _, w := range want {
				if format == "table" && !strings.HasPrefix(w, "fashionclip:") {
					continue // the terminal's table has another width; checked below
				}
				if w = iostreams.ExpandTabs(w); !lines[w] {
					t.Errorf("line %q is not on the screen as its own line:\n%s", w, scr)
				}
			}
			if format == "table" {
				for _, l := range scr.Lines() {
					if strings.Contains(l, ".jpg") && !strings.HasPrefix(l, "fashionclip:") && !strings.HasPrefix(l, "│") && !strings.HasPrefix(l, "|") {
						t.Errorf("a table row does not start its line: %q", l)
					}
				}
			}
		})
	}
}

// Issue 14, defect 7: labels split on commas; a field starting with a
// quote is CSV-quoted; a quote elsewhere is literal. Friction: # lines in
// a labels file are comments.
func TestLabelsListRule(t *testing.T) {
	model := tinyModel(t)
	img := filepath.Join(sampleImages(t), "red-dress.jpg")
	file := filepath.Join(t.TempDir(), "labels.txt")
	os.WriteFile(file, []byte("# shoes\nloafer\n  # boots, later\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--labels", `3" heel,flat`}, []string{`"3\" heel"`, `"flat"`}},
		{[]string{"--labels", `"t-shirt, cotton",jeans`}, []string{`"t-shirt, cotton"`, `"jeans"`}},
		{[]string{"--labels", "flat", "--labels-file", file}, []string{`"flat"`, `"loafer"`}},
		{[]string{"--group", `heel=3" heel,"flat, low"`}, []string{`"3\" heel"`, `"flat, low"`}},
	} {
		args := append([]string{"classify", img, "-m", model, "-f", "jsonl", "-k", "0"}, tc.args...)
		r := runCLI(t, false, "", nil, args...)
		if r.code != 0 {
			t.Errorf("%q: exit %d: %s", tc.args, r.code, r.stderr)
			continue
		}
		if n := strings.Count(r.stdout, `"label":`); n != len(tc.want) {
			t.Errorf("%q: %d labels, want %d: %s", tc.args, n, len(tc.want), r.stdout)
		}
		for _, w := range tc.want {
			if !strings.Contains(r.stdout, `"label":`+w) {
				t.Errorf("%q: no label %s in %s", tc.args, w, r.stdout)
			}
		}
	}
	if r := runCLI(t, false, "", nil, "classify", img, "-m", model, "--labels", `a,"b`); r.code != cmdutil.ExitUsage || !strings.Contains(r.stderr, "never closed") {
		t.Errorf("unclosed quote: exit %d, %q", r.code, r.stderr)
	}
}

// Issue 14, defect 8: one label warns (softmax scores it 1); labels the
// tokenizer cannot tell apart are a usage error naming them.
func TestSoftmaxTraps(t *testing.T) {
	model := tinyModel(t)
	img := filepath.Join(sampleImages(t), "red-dress.jpg")
	run := func(args ...string) cliResult {
		return runCLI(t, false, "", nil, append([]string{"classify", img, "-m", model, "-f", "jsonl"}, args...)...)
	}
	r := run("--labels", "dress", "-q")
	if r.code != 0 || !strings.Contains(r.stderr, "WARNING: one label") || !strings.Contains(r.stderr, "--raw-scores") {
		t.Errorf("one label: exit %d, %q", r.code, r.stderr)
	}
	if r := run("--group", "kind=dress", "--labels", "a,b"); r.code != 0 || !strings.Contains(r.stderr, `group "kind" has one label`) {
		t.Errorf("one-label group: exit %d, %q", r.code, r.stderr)
	}
	if r := run("--labels", "dress", "--raw-scores"); r.code != 0 || strings.Contains(r.stderr, "one label") {
		t.Errorf("--raw-scores: exit %d, %q", r.code, r.stderr)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--labels", "dress,boot,dress"}, `label "dress" is given twice`},
		{[]string{"--labels", "Dress,boot", "--label", "dress "}, `labels "Dress" and "dress " are the same to the model`},
		{[]string{"--labels", "a", "--group", "kind=red  dress,Red dress"}, `--group "kind": labels "red  dress" and "Red dress"`},
	} {
		r := run(tc.args...)
		if r.code != cmdutil.ExitUsage || !strings.Contains(r.stderr, tc.want) || r.stdout != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2 with %q", tc.args, r.code, r.stdout, r.stderr, tc.want)
		}
	}
	// Distinct labels in different groups are fine.
	if r := run("--labels", "dress,boot", "--group", "kind=dress,boot"); r.code != 0 {
		t.Errorf("same labels in two groups: exit %d, %q", r.code, r.stderr)
	}
}

// Issue 14, defect 3: classify's table fits the terminal (grouped labels
// wrap, paths are cut in the middle) instead of wrapping the drawing.
func TestClassifyTableFitsTheTerminal(t *testing.T) {
	model := tinyModel(t)
	dir := filepath.Join(t.TempDir(), "a-rather-long-folder-name-for-the-catalog", "summer-collection")
	os.MkdirAll(dir, 0o755)
	src := sampleImages(t)
	b, _ := os.ReadFile(filepath.Join(src, "red-dress.jpg"))
	os.WriteFile(filepath.Join(dir, "red-dress-front-view-large.jpg"), b, 0o644)
	args := []string{"classify", dir, "-m", model, "-f", "table", "-k", "0",
		"--group", "type=sneaker,boot,dress,t-shirt", "--group", "colour=black,white,red,blue,brown"}
	io, _, scr := iostreams.TestTerminal(80)
	if code := Run(context.Background(), cmdutil.NewFactory(io, testGetenv(t, nil)), args); code != 0 {
		t.Fatalf("exit %d:\n%s", code, scr)
	}
	lines := scr.Lines()
	for len(lines) > 0 && !strings.HasPrefix(lines[0], "┌") {
		lines = lines[1:] // notes on stderr come first
	}
	rows := 0
	for _, l := range lines {
		rows++
		if first, last := []rune(l)[0], []rune(l)[len([]rune(l))-1]; !strings.ContainsRune("┌│├└", first) || !strings.ContainsRune("┐│┤┘", last) {
			t.Errorf("line %q is not a whole table line (the drawing wrapped at 80 columns)", l)
		}
	}
	if rows == 0 || !strings.Contains(scr.String(), "…") {
		t.Errorf("want a table with the path cut in the middle:\n%s", scr)
	}
}

// Issue 14, defect 3: listings fit the terminal too (index info here).
func TestListingFitsTheTerminal(t *testing.T) {
	model := tinyModel(t)
	idx := filepath.Join(t.TempDir(), "a-rather-long-folder-name-for-the-catalog", "summer-collection-2026", "catalog.idx")
	if r := runCLI(t, false, "", nil, "embed", "-m", model, "--text", "red dress", "-o", idx); r.code != 0 {
		t.Fatalf("embed: %s", r.stderr)
	}
	io, _, scr := iostreams.TestTerminal(80)
	if code := Run(context.Background(), cmdutil.NewFactory(io, testGetenv(t, nil)), []string{"index", "info", idx}); code != 0 {
		t.Fatalf("exit %d:\n%s", code, scr)
	}
	lines := scr.Lines()
	for _, l := range lines {
		if first, last := []rune(l)[0], []rune(l)[len([]rune(l))-1]; !strings.ContainsRune("┌│├└", first) || !strings.ContainsRune("┐│┤┘", last) {
			t.Errorf("line %q is not a whole table line (the drawing wrapped at 80 columns)", l)
		}
	}
	if len(lines) < 4 {
		t.Errorf("want a table:\n%s", scr)
	}
}

// Friction: a prompt over CLIP's 77 tokens is cut; say so, once.
func TestLongLabelsWarnOnce(t *testing.T) {
	model := tinyModel(t)
	img := filepath.Join(sampleImages(t), "red-dress.jpg")
	long := strings.Repeat("very ", 80) + "long dress"
	r := runCLI(t, false, "", nil, "classify", img, "-m", model, "--label", long, "--label", "two "+long, "--labels", "boot", "--template", "{}", "--template", "a photo of {}")
	if r.code != 0 || strings.Count(r.stderr, "tokens cut short") != 1 || !strings.Contains(r.stderr, "4 prompts over CLIP's 77 tokens") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	if r := runCLI(t, false, "", nil, "classify", img, "-m", model, "--labels", "dress,boot"); strings.Contains(r.stderr, "cut short") {
		t.Errorf("short labels warned: %q", r.stderr)
	}
}

// The same for embedded texts and search query terms.
func TestLongTextsWarnOnce(t *testing.T) {
	model := tinyModel(t)
	long := strings.Repeat("very ", 80) + "long dress"
	r := runCLI(t, false, "", nil, "embed", "-m", model, "--text", long, "--text", "short")
	if r.code != 0 || strings.Count(r.stderr, "tokens cut short") != 1 || !strings.Contains(r.stderr, "1 text over CLIP's 77 tokens") {
		t.Errorf("embed: exit %d, stderr %q", r.code, r.stderr)
	}
	idx := filepath.Join(t.TempDir(), "idx")
	if r := runCLI(t, false, "", nil, "embed", "-m", model, sampleImages(t), "-o", idx); r.code != 0 {
		t.Fatalf("embed -o: %s", r.stderr)
	}
	r = runCLI(t, false, "", nil, "search", idx, long, "-", "logo", "-m", model)
	if r.code != 0 || !strings.Contains(r.stderr, "1 query term over CLIP's 77 tokens") {
		t.Errorf("search: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := runCLI(t, false, "", nil, "search", idx, "dress", "-m", model); strings.Contains(r.stderr, "cut short") {
		t.Errorf("a short query warned: %q", r.stderr)
	}
}

// Listings (runtime info, cache info, model list, index info) print plain
// tab-separated lines in a pipe, for grep; JSON only with -f json.
func TestListingsArePlainInPipes(t *testing.T) {
	model := tinyModel(t)
	env := map[string]string{"FASHIONCLIP_CACHE": t.TempDir(), "HF_HUB_CACHE": t.TempDir()}
	if r := runCLI(t, false, "", env, "tokenize", "-m", model, "red dress"); r.code != 0 {
		t.Fatalf("tokenize: %s", r.stderr)
	}
	if r := runCLI(t, false, "", env, "embed", "-m", model, "--text", "red dress"); r.code != 0 {
		t.Fatalf("embed (fills the graph cache): %s", r.stderr)
	}
	for _, cmd := range [][]string{{"runtime", "info"}, {"cache", "info"}} {
		r := runCLI(t, false, "", env, cmd...)
		if r.code != 0 || strings.HasPrefix(strings.TrimSpace(r.stdout), "{") || strings.HasPrefix(strings.TrimSpace(r.stdout), "[") ||
			!strings.Contains(r.stdout, "\t") || strings.ContainsAny(r.stdout, "│─┌") {
			t.Errorf("%s in a pipe: exit %d, want plain tab-separated lines:\n%s%s", cmd, r.code, r.stdout, r.stderr)
		}
		j := runCLI(t, false, "", env, append(cmd, "-f", "json")...)
		var v any
		if j.code != 0 || json.Unmarshal([]byte(j.stdout), &v) != nil {
			t.Errorf("%s -f json: exit %d, not JSON:\n%s", cmd, j.code, j.stdout)
		}
	}
}
