package cli

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fashionclip/fashionclip/internal/doctor"
	"github.com/fashionclip/fashionclip/internal/iostreams"
	"github.com/fashionclip/fashionclip/internal/ortlib"
	"github.com/fashionclip/fashionclip/internal/output"
)

// fakeCache writes a Hugging Face cache holding repo at refs/main with a
// combined graph and a tokenizer, the files hub.Local requires.
func fakeCache(t *testing.T, repos ...string) string {
	t.Helper()
	cache := t.TempDir()
	commit := strings.Repeat("ab", 20)
	for _, repo := range repos {
		dir := filepath.Join(cache, "models--"+strings.ReplaceAll(repo, "/", "--"))
		snap := filepath.Join(dir, "snapshots", commit)
		for name, body := range map[string]string{"onnx/model.onnx": "graph", "tokenizer.json": "{}"} {
			p := filepath.Join(snap, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.MkdirAll(filepath.Join(dir, "refs"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "refs", "main"), []byte(commit), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return cache
}

// fakeChecker is a doctor on fakes whose runtime fails as given.
func fakeChecker(t *testing.T, model string, rtErr error) *doctor.Checker {
	c := newChecker(NewFactory(iostreams.System(), func(string) string { return "" }))
	c.LoadRuntime = func() (doctor.Runtime, error) {
		return doctor.Runtime{Path: "/x/libonnxruntime.so.1", Source: "flag", Version: "1.24.3"}, rtErr
	}
	c.Model, c.Hub.Offline, c.Hub.CacheDir, c.CacheDir = model, true, t.TempDir(), t.TempDir()
	return c
}

func TestDoctorLinesAndExit(t *testing.T) {
	model := t.TempDir()
	os.WriteFile(filepath.Join(model, "model.onnx"), nil, 0o644)
	cases := []struct {
		name  string
		rtErr error
		code  int
		lines []string
	}{
		{"ready", nil, 0, []string{"ok    onnxruntime    1.24.3 at /x/libonnxruntime.so.1 (named explicitly)", "ok    model ", "skip  hub", "fashionclip can classify"}},
		{"runtime missing", &ortlib.NotFoundError{Tried: []string{"/nowhere"}}, 1,
			[]string{"FAIL  onnxruntime    ONNX Runtime library not found (looked in: /nowhere); fix: run `fashionclip runtime install`", "fashionclip cannot classify yet"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			io, _, out, errOut := iostreams.Test()
			f := NewFactory(io, func(string) string { return "" })
			err := doctorRun(context.Background(), &DoctorOptions{f: f, Format: output.Table, Checker: fakeChecker(t, model, c.rtErr)})
			if ExitCode(err) != c.code {
				t.Errorf("exit %d, want %d:\n%s", ExitCode(err), c.code, out)
			}
			for _, want := range c.lines {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			if n := strings.Count(out.String(), "\n"); n != 8 {
				t.Errorf("%d lines, want 7 checks + a summary:\n%s", n, out)
			}
			if errOut.Len() != 0 {
				t.Errorf("stderr should be empty (the report is the output), got %q", errOut)
			}
		})
	}
}

func TestDoctorJSON(t *testing.T) {
	model := tinyModel(t)
	r := runCLI(t, false, "", map[string]string{EnvModel: model, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": t.TempDir()}, "doctor", "--format", "json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	var rep doctor.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v:\n%s", err, r.stdout)
	}
	var names []string
	status := map[string]doctor.Status{}
	for _, c := range rep.Checks {
		names = append(names, c.Name)
		status[c.Name] = c.Status
	}
	if got, want := strings.Join(names, ","), "onnxruntime,cpu,libjpeg-turbo,cache,hf-cache,model,hub"; got != want {
		t.Errorf("checks %s, want %s", got, want)
	}
	if !rep.CanClassify || status["onnxruntime"] != "ok" || status["model"] != "ok" || status["hub"] != "skip" {
		t.Errorf("report %+v", rep)
	}
	if v, _ := rep.Checks[0].Info["version"].(string); ortlib.CompareVersions(v, ortlib.MinVersion) < 0 {
		t.Errorf("onnxruntime version %q in info", v)
	}

	if r := runCLI(t, false, "", nil, "doctor", "--format", "csv"); r.code != ExitUsage {
		t.Errorf("--format csv: exit %d, want 2", r.code)
	}
}

func TestDoctorColourOnlyWhenEnabled(t *testing.T) {
	for _, colour := range []bool{true, false} {
		io, _, out, _ := iostreams.Test()
		io.SetTTY(true, true, true)
		io.SetColorEnabled(colour)
		f := NewFactory(io, func(string) string { return "" })
		doctorRun(context.Background(), &DoctorOptions{f: f, Format: output.Table, Checker: fakeChecker(t, t.TempDir(), errors.New("no runtime"))})
		got := out.String()
		if hasEscapes := strings.Contains(got, "\x1b["); hasEscapes != colour {
			t.Errorf("colour %v: escapes present %v:\n%q", colour, hasEscapes, got)
		}
		if colour && (!strings.Contains(got, ansiGreen+"ok"+ansiReset) || !strings.Contains(got, ansiRed+"FAIL"+ansiReset)) {
			t.Errorf("want green ok and red FAIL:\n%q", got)
		}
	}
}

func TestBinaryDoctor(t *testing.T) {
	model := tinyModel(t)
	lib := os.Getenv("FASHIONCLIP_ORT_LIB")
	cases := []struct {
		name string
		env  []string
		code int
		want string
	}{
		{"ready", []string{"FASHIONCLIP_ORT_LIB=" + lib}, 0, "ok    onnxruntime    1."},
		{"no runtime", []string{"FASHIONCLIP_ORT_LIB=" + filepath.Join(t.TempDir(), "libonnxruntime.so.1")}, 1, "FAIL  onnxruntime"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := append([]string{EnvModel + "=" + model, "HF_HUB_OFFLINE=1", "HF_HUB_CACHE=" + t.TempDir(), "FASHIONCLIP_CACHE=" + t.TempDir()}, c.env...)
			r := runBinary(t, t.TempDir(), "", env, "doctor")
			if r.code != c.code || !strings.Contains(r.stdout, c.want) {
				t.Fatalf("exit %d, want %d with %q:\n%s%s", r.code, c.code, c.want, r.stdout, r.stderr)
			}
			// A pipe is not a terminal: no colour, whatever the report says.
			if strings.Contains(r.stdout, "\x1b[") {
				t.Errorf("colour escapes in a pipe:\n%q", r.stdout)
			}
		})
	}
}
