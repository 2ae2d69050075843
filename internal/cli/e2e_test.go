package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fashionclip/fashionclip/internal/cmdutil"
)

// manyImages fills a folder with n copies of the sample images.
func manyImages(t *testing.T, n int) string {
	t.Helper()
	src := sampleImages(t)
	dir := t.TempDir()
	entries, _ := os.ReadDir(src)
	for i := 0; i < n; i++ {
		e := entries[i%len(entries)]
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("%04d-%s", i, e.Name())
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestBinaryClassifyStreamsInOrder(t *testing.T) {
	model := tinyModel(t)
	dir := manyImages(t, 120)
	r := runBinary(t, dir, "", []string{cmdutil.EnvModel + "=" + model}, "classify", ".", "--labels", "a,b,c", "--threads", "2", "--batch-size", "5")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	i := 0
	for sc.Scan() {
		var rec struct{ Path string }
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(rec.Path, fmt.Sprintf("%04d-", i)) {
			t.Fatalf("line %d is %s: output out of input order", i, rec.Path)
		}
		i++
	}
	if i != 120 {
		t.Fatalf("%d results for 120 images", i)
	}
}

func TestBinaryClosedStdoutEndsQuietly(t *testing.T) {
	model := tinyModel(t)
	dir := manyImages(t, 200)
	// bash's PIPESTATUS holds classify's own status, not head's.
	status := filepath.Join(t.TempDir(), "status")
	cmd := exec.Command("bash", "-c", fmt.Sprintf("%q classify . --labels a,b | head -n 2; echo ${PIPESTATUS[0]} > %q", buildBinary(t), status))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "FASHIONCLIP_CACHE="+testCacheDir(t), cmdutil.EnvModel+"="+model)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	b, _ := os.ReadFile(status)
	if strings.TrimSpace(string(b)) != "0" {
		t.Fatalf("classify | head exited %s, want 0; output:\n%s", b, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for _, l := range lines {
		if strings.Contains(l, "broken pipe") || strings.Contains(l, "error") {
			t.Fatalf("closing stdout must be quiet, got:\n%s", out)
		}
	}
}

func TestBinaryInterruptExits130(t *testing.T) {
	model := tinyModel(t)
	dir := manyImages(t, 3000)
	cmd := exec.Command(buildBinary(t), "classify", ".", "--labels", "a,b", "--threads", "1", "--batch-size", "1")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "FASHIONCLIP_CACHE="+testCacheDir(t), cmdutil.EnvModel+"="+model)
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	got := 0
	for sc.Scan() {
		got++
		if got == 5 {
			cmd.Process.Signal(syscall.SIGINT)
		}
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != cmdutil.ExitInterrupted {
			t.Fatalf("after Ctrl-C: %v, want exit 130", err)
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("classify did not stop after SIGINT")
	}
	if got >= 3000 {
		t.Fatalf("all %d images were classified: the interrupt did not stop the run", got)
	}
}

func TestBinaryMissingRuntimeIsOneClearLine(t *testing.T) {
	model := tinyModel(t)
	dir := sampleImages(t)
	empty := t.TempDir()
	cases := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"flag points nowhere", nil, []string{"--ort-lib", filepath.Join(empty, "libonnxruntime.so.1")}, "does not exist"},
		{"env points nowhere", []string{"FASHIONCLIP_ORT_LIB=" + filepath.Join(empty, "x.so")}, nil, "FASHIONCLIP_ORT_LIB"},
		{"nothing anywhere", []string{"FASHIONCLIP_ORT_LIB=", "FASHIONCLIP_CACHE=" + empty, "LD_LIBRARY_PATH=" + empty}, nil, "runtime install"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := append([]string{cmdutil.EnvModel + "=" + model}, c.env...)
			r := runBinary(t, dir, "", env, append([]string{"classify", ".", "--labels", "a,b"}, c.args...)...)
			if r.code != cmdutil.ExitFatal || !strings.Contains(r.stderr, c.want) {
				t.Fatalf("exit %d, stderr %q; want exit 1 mentioning %q", r.code, r.stderr, c.want)
			}
			var lines int
			for _, l := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
				if !strings.Contains(l, "WARNING") {
					lines++
				}
			}
			if lines != 1 {
				t.Fatalf("want one error line, got:\n%s", r.stderr)
			}
		})
	}
}

func TestHelpHasExamplesAndExitStatus(t *testing.T) {
	for _, cmd := range []string{"classify", "embed", "tokenize", "preprocess", "version"} {
		r := runCLI(t, false, "", nil, cmd, "--help")
		if r.code != 0 || !strings.Contains(r.stdout, "EXIT STATUS") || !strings.Contains(r.stdout, "Examples:") {
			t.Errorf("%s --help lacks EXIT STATUS or Examples:\n%s", cmd, r.stdout)
		}
	}
}

func TestBinaryUnusableRuntimeLibrary(t *testing.T) {
	model := tinyModel(t)
	bogus := filepath.Join(t.TempDir(), "libonnxruntime.so.1")
	os.WriteFile(bogus, []byte("this is not a shared library"), 0o644)
	r := runBinary(t, sampleImages(t), "", []string{cmdutil.EnvModel + "=" + model}, "classify", ".", "--labels", "a,b", "--ort-lib", bogus)
	if r.code != cmdutil.ExitFatal || !strings.Contains(r.stderr, "cannot load ONNX Runtime from "+bogus) || !strings.Contains(r.stderr, "runtime install") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
}
