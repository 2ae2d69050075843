package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fashionclip/fashionclip/internal/cmdutil"
	"github.com/fashionclip/fashionclip/internal/doctor"
	"github.com/fashionclip/fashionclip/internal/ortlib"
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

func TestDoctorJSON(t *testing.T) {
	model := tinyModel(t)
	r := runCLI(t, false, "", map[string]string{cmdutil.EnvModel: model, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": t.TempDir()}, "doctor", "--format", "json")
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

	if r := runCLI(t, false, "", nil, "doctor", "--format", "csv"); r.code != cmdutil.ExitUsage {
		t.Errorf("--format csv: exit %d, want 2", r.code)
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
			env := append([]string{cmdutil.EnvModel + "=" + model, "HF_HUB_OFFLINE=1", "HF_HUB_CACHE=" + t.TempDir(), "FASHIONCLIP_CACHE=" + t.TempDir()}, c.env...)
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
