package cli

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/fashionclip/fashionclip/internal/cmdutil"
	"github.com/fashionclip/fashionclip/internal/iostreams"
	"github.com/fashionclip/fashionclip/internal/synth"
	"github.com/fashionclip/fashionclip/internal/testutil"
	"github.com/fashionclip/fashionclip/pkg/fashionclip"
)

var update = flag.Bool("update", false, "rewrite golden files")

var (
	tinyOnce sync.Once
	tinyDir  string
	tinyErr  error
)

// tinyModel is the project's own synthetic model (combined layout), made
// once per test binary so the CLI tests run without ../shared.
func tinyModel(t testing.TB) string {
	t.Helper()
	testutil.ORTLibrary(t)
	tinyOnce.Do(func() {
		tinyDir, tinyErr = os.MkdirTemp("", "fashionclip-tiny-")
		if tinyErr == nil {
			tinyErr = synth.Write(tinyDir, "combined", synth.Tiny())
		}
	})
	if tinyErr != nil {
		t.Fatal(tinyErr)
	}
	return tinyDir
}

var (
	cacheOnce sync.Once
	cacheDir  string
)

// testCacheDir is fashionclip's cache for the in-process tests: one per
// test binary, so derived graphs are shared between tests but never left
// in the user's cache.
func testCacheDir(t testing.TB) string {
	cacheOnce.Do(func() {
		var err error
		if cacheDir, err = os.MkdirTemp("", "fashionclip-cache-"); err != nil {
			t.Fatal(err)
		}
	})
	return cacheDir
}

// goldenDir is absolute: tests chdir into temp folders.
var goldenDir string

func TestMain(m *testing.M) {
	flag.Parse()
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	goldenDir = filepath.Join(wd, "testdata", "golden")
	code := m.Run()
	if tinyDir != "" {
		os.RemoveAll(tinyDir)
	}
	if cacheDir != "" {
		os.RemoveAll(cacheDir)
	}
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

type cliResult struct {
	stdout, stderr string
	code           int
}

// runCLI runs the command line in-process with fake streams.
func runCLI(t testing.TB, tty bool, stdin string, env map[string]string, args ...string) cliResult {
	t.Helper()
	io, in, out, errOut := iostreams.Test()
	io.SetTTY(tty, tty, tty)
	in.WriteString(stdin)
	f := cmdutil.NewFactory(io, testGetenv(t, env))
	code := Run(context.Background(), f, args)
	return cliResult{out.String(), errOut.String(), code}
}

// testGetenv is the environment of in-process runs: env, plus the ONNX
// Runtime library the tests found and a scratch fashionclip cache.
func testGetenv(t testing.TB, env map[string]string) func(string) string {
	return func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		switch k {
		case "FASHIONCLIP_ORT_LIB":
			return os.Getenv(k)
		case "FASHIONCLIP_CACHE":
			return testCacheDir(t)
		}
		return ""
	}
}

var floatPattern = regexp.MustCompile(`-?\d+\.\d+(e-?\d+)?`)

// normaliseFloats rounds every decimal to 4 places so golden files do not
// depend on the last bits a given CPU's kernels produce.
func normaliseFloats(s string) string {
	return floatPattern.ReplaceAllStringFunc(s, func(m string) string {
		v, err := strconv.ParseFloat(m, 64)
		if err != nil {
			return m
		}
		return strconv.FormatFloat(v, 'f', 4, 64)
	})
}

// golden compares got with testdata/golden/NAME.golden (rewritten with -update).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join(goldenDir, name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/cli -run %s -update)", err, t.Name())
	}
	if string(want) != got {
		t.Errorf("%s differs from golden file %s\n--- got\n%s\n--- want\n%s", t.Name(), path, got, want)
	}
}

// sampleImages copies the committed sample images to a temp folder so
// paths in outputs are stable and tests may add broken files.
func sampleImages(t testing.TB) string {
	t.Helper()
	src := filepath.Join(testutil.ModuleRoot(t), "testdata", "images")
	dst := filepath.Join(t.TempDir(), "images")
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// chdir runs the test inside dir so relative paths show in outputs.
func chdir(t *testing.T, dir string) {
	t.Helper()
	t.Chdir(dir)
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// buildBinary builds the real fashionclip binary once for end-to-end tests.
func buildBinary(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end binary test skipped in -short mode")
	}
	root := testutil.ModuleRoot(t)
	testutil.ORTLibrary(t)
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "fashionclip-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "fashionclip")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/fashionclip")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// runBinary runs the built binary with the given env additions.
func runBinary(t testing.TB, dir, stdin string, env []string, args ...string) cliResult {
	t.Helper()
	cmd := exec.Command(buildBinary(t), args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "FASHIONCLIP_CACHE="+testCacheDir(t)), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return cliResult{out.String(), errOut.String(), code}
}

// loadTestModel loads a model folder through the library, as commands do.
func loadTestModel(t testing.TB, dir string) *fashionclip.Model {
	t.Helper()
	rt, err := fashionclip.NewRuntime(fashionclip.RuntimeOptions{Library: testutil.ORTLibrary(t)})
	if err != nil {
		t.Fatal(err)
	}
	m, err := rt.Load(context.Background(), dir, fashionclip.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}
