// Package ort finds and loads the ONNX Runtime shared library and wraps its
// sessions. It knows nothing about images or text.
package ort

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"

	onnx "github.com/yalue/onnxruntime_go"
)

// MinVersion is the oldest ONNX Runtime whose C API onnxruntime_go v1.27 can use.
const MinVersion = "1.24.0"

// EnvLibrary names the environment variable that points at the library.
const EnvLibrary = "FASHIONCLIP_ORT_LIB"

// LibraryName is the file name the library has on this platform.
func LibraryName() string {
	switch runtime.GOOS {
	case "darwin":
		return "libonnxruntime.dylib"
	case "windows":
		return "onnxruntime.dll"
	}
	return "libonnxruntime.so.1"
}

// CacheRoot is fashionclip's own cache folder: $FASHIONCLIP_CACHE, else
// fashionclip/ under the user cache (~/.cache on Linux). Hub models are not
// kept here but in Hugging Face's cache, shared with Python.
func CacheRoot() (string, error) {
	if d := os.Getenv("FASHIONCLIP_CACHE"); d != "" {
		return d, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(base, "fashionclip"), nil
}

// RuntimeDir is where `fashionclip runtime install` puts the library and where
// the lookup searches after the executable's own folder.
func RuntimeDir() (string, error) {
	root, err := CacheRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "runtime"), nil
}

// GraphCacheDir holds the text and vision graphs cut out of combined models.
func GraphCacheDir() (string, error) {
	root, err := CacheRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "graphs"), nil
}

// NotFoundError lists every place the lookup tried.
type NotFoundError struct{ Tried []string }

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("ONNX Runtime library not found (looked in: %s); fix: run `fashionclip runtime install`, "+
		"or pass --ort-lib PATH or set %s to a libonnxruntime %s or newer", strings.Join(e.Tried, ", "), EnvLibrary, MinVersion)
}

// Candidate is one place the library may be, and why it was chosen.
type Candidate struct {
	Path   string
	Source string // "flag", "env", "executable", "cache", "system"
}

// Candidates lists, in lookup order, where the library is searched:
// the --ort-lib flag, FASHIONCLIP_ORT_LIB, beside the executable, the user
// cache, then the system's library path (a bare name handed to dlopen).
func Candidates(flagPath string) []Candidate {
	var out []Candidate
	if flagPath != "" {
		out = append(out, Candidate{flagPath, "flag"})
	}
	if env := os.Getenv(EnvLibrary); env != "" {
		out = append(out, Candidate{env, "env"})
	}
	name := LibraryName()
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		dir := filepath.Dir(exe)
		out = append(out, Candidate{filepath.Join(dir, name), "executable"},
			Candidate{filepath.Join(dir, "..", "lib", name), "executable"})
	}
	if dir, err := RuntimeDir(); err == nil {
		// Newest installed version first.
		if entries, err := os.ReadDir(dir); err == nil {
			for i := len(entries) - 1; i >= 0; i-- {
				if entries[i].IsDir() {
					out = append(out, Candidate{filepath.Join(dir, entries[i].Name(), name), "cache"})
				}
			}
		}
		out = append(out, Candidate{filepath.Join(dir, name), "cache"})
	}
	out = append(out, Candidate{name, "system"})
	return out
}

// Resolve picks the first candidate that exists. An explicit flag or
// environment path that does not exist is an error of its own: silently
// falling back would hide a typo.
func Resolve(flagPath string) (Candidate, error) {
	var tried []string
	for _, c := range Candidates(flagPath) {
		if c.Source == "system" {
			// dlopen searches LD_LIBRARY_PATH and the ld.so cache itself; we can
			// only find out by trying.
			return c, nil
		}
		if _, err := os.Stat(c.Path); err == nil {
			return c, nil
		} else if c.Source == "flag" || c.Source == "env" {
			what := "--ort-lib"
			if c.Source == "env" {
				what = EnvLibrary
			}
			return c, fmt.Errorf("ONNX Runtime library %s (from %s) does not exist; fix the path or run `fashionclip runtime install`", c.Path, what)
		}
		tried = append(tried, c.Path)
	}
	return Candidate{}, &NotFoundError{Tried: tried}
}

var (
	initMu      sync.Mutex
	initDone    bool
	initLibrary Candidate
	initVersion string
)

// Init loads the library once per process. Later calls return the first
// outcome's library; asking for a different library afterwards is an error,
// because ONNX Runtime's environment is process-global.
func Init(flagPath string) (Candidate, string, error) {
	initMu.Lock()
	defer initMu.Unlock()
	if initDone {
		return initLibrary, initVersion, nil
	}
	c, err := Resolve(flagPath)
	if err != nil {
		return c, "", err
	}
	onnx.SetSharedLibraryPath(c.Path)
	if err := onnx.InitializeEnvironment(onnx.WithLogLevelError()); err != nil {
		if c.Source == "system" {
			tried := []string{}
			for _, cand := range Candidates(flagPath) {
				tried = append(tried, cand.Path)
			}
			return c, "", &NotFoundError{Tried: tried}
		}
		return c, "", fmt.Errorf("cannot load ONNX Runtime from %s (need %s or newer): %v; fix: run `fashionclip runtime install` or point --ort-lib at a newer library", c.Path, MinVersion, err)
	}
	v := onnx.GetVersion()
	if CompareVersions(v, MinVersion) < 0 {
		_ = onnx.DestroyEnvironment()
		return c, v, fmt.Errorf("ONNX Runtime %s at %s is too old (need %s or newer); fix: run `fashionclip runtime install`", v, c.Path, MinVersion)
	}
	initDone, initLibrary, initVersion = true, c, v
	return c, v, nil
}

// CompareVersions compares dotted numeric versions ("1.24.3"); suffixes after
// a '-' are ignored.
func CompareVersions(a, b string) int {
	pa, pb := versionParts(a), versionParts(b)
	for i := 0; i < 3; i++ {
		if pa[i] != pb[i] {
			if pa[i] < pb[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

func versionParts(v string) [3]int {
	var out [3]int
	v, _, _ = strings.Cut(strings.TrimPrefix(v, "v"), "-")
	for i, p := range strings.SplitN(v, ".", 3) {
		n, _ := strconv.Atoi(p)
		out[i] = n
	}
	return out
}

// ErrNotInitialized is returned by session constructors called before Init.
var ErrNotInitialized = errors.New("ONNX Runtime is not initialised")
