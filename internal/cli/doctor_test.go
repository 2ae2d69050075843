package cli

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fashionclip/fashionclip/internal/iostreams"
	"github.com/fashionclip/fashionclip/internal/ort"
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

// hubServer answers HEAD / with status and counts the HEAD requests.
func hubServer(t *testing.T, status int, delay time.Duration) (string, *atomic.Int32) {
	t.Helper()
	var heads atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			heads.Add(1)
		}
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &heads
}

// stubORT replaces the runtime loader for one test.
func stubORT(t *testing.T, init func(string) (ort.Candidate, string, error)) {
	t.Helper()
	old := doctorORTInit
	doctorORTInit = init
	t.Cleanup(func() { doctorORTInit = old })
}

func TestDoctorExitAndLines(t *testing.T) {
	model := tinyModel(t) // also makes the real runtime loadable
	cached := fakeCache(t, "acme/clip")
	okHub, _ := hubServer(t, http.StatusOK, 0)
	downHub, _ := hubServer(t, http.StatusServiceUnavailable, 0)
	broken := t.TempDir()

	missing := func(string) (ort.Candidate, string, error) {
		return ort.Candidate{}, "", errors.New("ONNX Runtime library not found (looked in: /nowhere); fix: run `fashionclip runtime install`")
	}
	tooOld := func(string) (ort.Candidate, string, error) {
		return ort.Candidate{Path: "/old/libonnxruntime.so.1", Source: "system"}, "1.20.1", nil
	}

	cases := []struct {
		name  string
		ort   func(string) (ort.Candidate, string, error) // nil: the real loader
		env   map[string]string
		args  []string
		code  int
		lines []string // prefixes of lines that must appear
	}{
		{"local folder offline", nil, map[string]string{EnvModel: model, "HF_HUB_OFFLINE": "1"}, nil, 0,
			[]string{"ok    onnxruntime", "ok    model ", "skip  hub", "fashionclip can classify"}},
		{"runtime missing", missing, map[string]string{EnvModel: model, "HF_HUB_OFFLINE": "1"}, nil, 1,
			[]string{"FAIL  onnxruntime    ONNX Runtime library not found (looked in: /nowhere); fix: run `fashionclip runtime install`", "ok    model", "fashionclip cannot classify yet"}},
		{"runtime too old", tooOld, map[string]string{EnvModel: model, "HF_HUB_OFFLINE": "1"}, nil, 1,
			[]string{"FAIL  onnxruntime    ONNX Runtime 1.20.1 at /old/libonnxruntime.so.1 is too old"}},
		{"repo cached offline", nil, map[string]string{EnvModel: "acme/clip", "HF_HUB_CACHE": cached}, []string{"--offline"}, 0,
			[]string{"ok    model          acme/clip: cached in " + cached}},
		{"repo not cached, hub reachable", nil, map[string]string{EnvModel: "acme/other", "HF_HUB_CACHE": cached, "HF_ENDPOINT": okHub}, nil, 0,
			[]string{"warn  model          acme/other is not in the Hugging Face cache", "ok    hub            " + okHub + " reachable (HTTP 200"}},
		{"repo not cached, hub answers 503", nil, map[string]string{EnvModel: "acme/other", "HF_HUB_CACHE": cached, "HF_ENDPOINT": downHub}, nil, 1,
			[]string{"FAIL  model", "FAIL  hub            " + downHub + " answered HTTP 503"}},
		{"repo not cached, hub unreachable", nil, map[string]string{EnvModel: "acme/other", "HF_HUB_CACHE": cached, "HF_ENDPOINT": "http://127.0.0.1:1"}, nil, 1,
			[]string{"FAIL  model          acme/other is not in the Hugging Face cache (" + cached + "), and the Hub cannot be reached; fix: run `fashionclip model pull acme/other`", "FAIL  hub            http://127.0.0.1:1 cannot be reached"}},
		{"repo not cached, offline", nil, map[string]string{EnvModel: "acme/other", "HF_HUB_CACHE": cached, "HF_HUB_OFFLINE": "1"}, nil, 1,
			[]string{"FAIL  model", "network access is off"}},
		{"variant named in the fix", nil, map[string]string{EnvModel: "acme/other", "HF_HUB_CACHE": cached, "HF_HUB_OFFLINE": "1"}, []string{"--variant", "fp16"}, 1,
			[]string{"FAIL  model", "`fashionclip model pull acme/other --variant fp16`"}},
		{"neither folder nor repo id", nil, map[string]string{"HF_HUB_OFFLINE": "1"}, []string{"--model", "no/such/folder"}, 1,
			[]string{`FAIL  model          "no/such/folder" is neither an existing folder nor a Hub repo id`}},
		{"folder without graphs", nil, map[string]string{EnvModel: broken, "HF_HUB_OFFLINE": "1"}, nil, 1,
			[]string{"FAIL  model", "fix: pass --model a folder holding model.onnx"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.ort != nil {
				stubORT(t, c.ort)
			}
			r := runCLI(t, false, "", c.env, append([]string{"doctor"}, c.args...)...)
			if r.code != c.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, c.code, r.stdout, r.stderr)
			}
			for _, want := range c.lines {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("output lacks %q:\n%s", want, r.stdout)
				}
			}
			// One line per check plus the summary, whatever happened.
			if n := strings.Count(r.stdout, "\n"); n != 8 {
				t.Errorf("%d lines, want 7 checks + a summary:\n%s", n, r.stdout)
			}
			if r.stderr != "" {
				t.Errorf("stderr should be empty (the report is the output), got %q", r.stderr)
			}
		})
	}
}

func TestDoctorProbesHubWithHEADAndTimesOut(t *testing.T) {
	stubORT(t, func(string) (ort.Candidate, string, error) {
		return ort.Candidate{Path: "x", Source: "flag"}, "1.24.3", nil
	})
	slow, heads := hubServer(t, http.StatusOK, 5*time.Second)
	old := doctorHubTimeout
	doctorHubTimeout = 200 * time.Millisecond
	t.Cleanup(func() { doctorHubTimeout = old })

	start := time.Now()
	r := runCLI(t, false, "", map[string]string{EnvModel: "acme/other", "HF_HUB_CACHE": t.TempDir(), "HF_ENDPOINT": slow + "/"}, "doctor")
	if time.Since(start) > 3*time.Second {
		t.Errorf("doctor waited %s for a Hub that does not answer; the timeout is %s", time.Since(start), doctorHubTimeout)
	}
	if r.code != ExitFatal || !strings.Contains(r.stdout, "FAIL  hub            "+slow+" did not answer within 200ms") {
		t.Errorf("exit %d, output:\n%s", r.code, r.stdout)
	}
	if heads.Load() != 1 {
		t.Errorf("%d HEAD requests, want 1", heads.Load())
	}
}

func TestDoctorJSON(t *testing.T) {
	model := tinyModel(t)
	r := runCLI(t, false, "", map[string]string{EnvModel: model, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": t.TempDir()}, "doctor", "--format", "json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	var rep DoctorReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v:\n%s", err, r.stdout)
	}
	var names []string
	status := map[string]string{}
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
	if v, _ := rep.Checks[0].Info["version"].(string); ort.CompareVersions(v, ort.MinVersion) < 0 {
		t.Errorf("onnxruntime version %q in info", v)
	}

	if r := runCLI(t, false, "", nil, "doctor", "--format", "csv"); r.code != ExitUsage {
		t.Errorf("--format csv: exit %d, want 2", r.code)
	}
}

func TestDoctorColourOnlyWhenEnabled(t *testing.T) {
	model := tinyModel(t)
	stubORT(t, func(string) (ort.Candidate, string, error) { return ort.Candidate{}, "", errors.New("no runtime") })
	for _, colour := range []bool{true, false} {
		io, _, out, _ := iostreams.Test()
		io.SetTTY(true, true, true)
		io.SetColorEnabled(colour)
		env := map[string]string{EnvModel: model, "HF_HUB_OFFLINE": "1"}
		f := NewFactory(io, func(k string) string { return env[k] })
		Run(context.Background(), f, []string{"doctor"})
		got := out.String()
		hasEscapes := strings.Contains(got, "\x1b[")
		if hasEscapes != colour {
			t.Errorf("colour %v: escapes present %v:\n%q", colour, hasEscapes, got)
		}
		if colour && (!strings.Contains(got, ansiGreen+"ok"+ansiReset) || !strings.Contains(got, ansiRed+"FAIL"+ansiReset)) {
			t.Errorf("want green ok and red FAIL:\n%q", got)
		}
	}
}

func TestCheckCPU(t *testing.T) {
	cases := []struct {
		arch   string
		feats  map[string]bool
		status string
		detail string
	}{
		{"amd64", map[string]bool{"AVX2": true, "AVX512F": true, "FMA": true}, statusOK, "amd64: AVX2 yes, AVX512F yes, FMA yes"},
		{"amd64", map[string]bool{"AVX2": true, "FMA": true}, statusOK, "amd64: AVX2 yes, AVX512F no, FMA yes"},
		{"amd64", map[string]bool{"FMA": true}, statusWarn, "amd64: AVX2 no, AVX512F no, FMA yes"},
		{"arm64", map[string]bool{"NEON": true}, statusOK, "arm64: NEON yes"},
		{"arm64", nil, statusWarn, "arm64: NEON no"},
		{"riscv64", nil, statusOK, "riscv64: no SIMD checks for this architecture"},
	}
	for _, c := range cases {
		got := checkCPU(c.arch, c.feats)
		if got.Status != c.status || got.Detail != c.detail {
			t.Errorf("%s %v: %s %q, want %s %q", c.arch, c.feats, got.Status, got.Detail, c.status, c.detail)
		}
		if (got.Status == statusWarn) != (got.Fix != "") {
			t.Errorf("%s %v: a warning needs a fix and only a warning has one: %+v", c.arch, c.feats, got)
		}
	}
	// The host's own features come back under the names the table knows.
	arch, feats := hostCPUFeatures()
	for _, w := range cpuWanted[arch] {
		if _, ok := feats[w.name]; !ok {
			t.Errorf("hostCPUFeatures on %s lacks %s", arch, w.name)
		}
	}
}

func TestCheckDir(t *testing.T) {
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "blob"), make([]byte, 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(full, "blob"), filepath.Join(full, "link")); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	readOnly := t.TempDir()
	os.Chmod(readOnly, 0o555)
	t.Cleanup(func() { os.Chmod(readOnly, 0o755) })

	cases := []struct {
		name, dir, status, detail string
		size                      int64
		rootSkips                 bool // root writes anywhere
	}{
		{"existing, links not counted", full, statusOK, full + " (1.0 kB, writable)", 1000, false},
		{"not created yet", filepath.Join(full, "a", "b"), statusOK, filepath.Join(full, "a", "b") + " (not created yet; made on first use)", 0, false},
		{"a file", file, statusWarn, file + " is not a folder", -1, false},
		{"read-only", readOnly, statusWarn, readOnly + " is not writable: permission denied", -1, true},
		{"under a read-only folder", filepath.Join(readOnly, "x"), statusWarn, filepath.Join(readOnly, "x") + " does not exist and cannot be created: permission denied", -1, true},
		{"no folder", "", statusWarn, "no cache folder (no home folder?)", -1, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.rootSkips && os.Geteuid() == 0 {
				t.Skip("permissions do not bind root")
			}
			got := checkDir("cache", c.dir, "the fix")
			if got.Status != c.status || got.Detail != c.detail {
				t.Errorf("%s %q, want %s %q", got.Status, got.Detail, c.status, c.detail)
			}
			if size, ok := got.Info["size"].(int64); c.size >= 0 && (!ok || size != c.size) {
				t.Errorf("size %v, want %d", got.Info["size"], c.size)
			}
			if (got.Status == statusWarn) != (got.Fix == "the fix") {
				t.Errorf("fix %q with status %s", got.Fix, got.Status)
			}
		})
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
