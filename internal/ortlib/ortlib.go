// Package ortlib knows where the ONNX Runtime shared library lives: its
// file name per platform, fashionclip's cache folders, and the lookup order
// (explicit path, environment, beside the executable, the user cache, the
// system). The loader (internal/ort), the installer (internal/hub) and
// doctor share it. Pure Go: it never loads the library.
package ortlib

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// MinVersion is the oldest ONNX Runtime whose C API onnxruntime_go v1.27 can use.
const MinVersion = "1.24.0"

// EnvLibrary names the environment variable that points at the library.
const EnvLibrary = "FASHIONCLIP_ORT_LIB"

// EnvCache names the variable that moves fashionclip's own cache.
const EnvCache = "FASHIONCLIP_CACHE"

// LibraryName is the file name the library has on goos.
func LibraryName(goos string) string {
	switch goos {
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
func CacheRoot(getenv func(string) string) (string, error) {
	if d := getenv(EnvCache); d != "" {
		return d, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(base, "fashionclip"), nil
}

// RuntimeDir is where the runtime installer puts libraries and where the
// lookup searches after the executable's own folder.
func RuntimeDir(getenv func(string) string) (string, error) {
	root, err := CacheRoot(getenv)
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "runtime"), nil
}

// GraphCacheDir holds graphs derived from model files (cut towers, ...).
func GraphCacheDir(getenv func(string) string) (string, error) {
	root, err := CacheRoot(getenv)
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "graphs"), nil
}

// Source says why a candidate was chosen.
type Source string

// The lookup's sources, in order.
const (
	FromExplicit   Source = "flag" // a path the caller named
	FromEnv        Source = "env"
	FromExecutable Source = "executable"
	FromCache      Source = "cache"
	FromSystem     Source = "system" // a bare name handed to the dynamic loader
)

// Describe is a short phrase for reports ("beside the executable").
func (s Source) Describe() string {
	switch s {
	case FromExplicit:
		return "named explicitly"
	case FromEnv:
		return "from $" + EnvLibrary
	case FromExecutable:
		return "beside the executable"
	case FromCache:
		return "from fashionclip's cache"
	}
	return "from the system library path"
}

// Candidate is one place the library may be.
type Candidate struct {
	Path   string
	Source Source
}

// Lookup says where to look: an explicit path, the environment and the
// running executable (for its folder).
type Lookup struct {
	Path       string              // explicit path, "" for none
	Getenv     func(string) string // nil: os.Getenv
	Executable string              // "" : os.Executable()
	GOOS       string              // "" : this program's
}

func (l Lookup) getenv(k string) string {
	if l.Getenv == nil {
		return os.Getenv(k)
	}
	return l.Getenv(k)
}

// Candidates lists, in lookup order, where the library is searched: the
// explicit path, $FASHIONCLIP_ORT_LIB, beside the executable (and ../lib),
// the user cache (newest installed version first), then the system's
// library path.
func (l Lookup) Candidates() []Candidate {
	var out []Candidate
	if l.Path != "" {
		out = append(out, Candidate{l.Path, FromExplicit})
	}
	if env := l.getenv(EnvLibrary); env != "" {
		out = append(out, Candidate{env, FromEnv})
	}
	goos := l.GOOS
	if goos == "" {
		goos = runtime.GOOS
	}
	name := LibraryName(goos)
	exe := l.Executable
	if exe == "" {
		exe, _ = os.Executable()
	}
	if exe != "" {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		dir := filepath.Dir(exe)
		out = append(out, Candidate{filepath.Join(dir, name), FromExecutable},
			Candidate{filepath.Join(dir, "..", "lib", name), FromExecutable})
	}
	if dir, err := RuntimeDir(l.getenv); err == nil {
		if entries, err := os.ReadDir(dir); err == nil {
			for i := len(entries) - 1; i >= 0; i-- {
				if entries[i].IsDir() {
					out = append(out, Candidate{filepath.Join(dir, entries[i].Name(), name), FromCache})
				}
			}
		}
		out = append(out, Candidate{filepath.Join(dir, name), FromCache})
	}
	return append(out, Candidate{name, FromSystem})
}

// NotFoundError lists every place the lookup tried.
type NotFoundError struct{ Tried []string }

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("ONNX Runtime library not found (looked in: %s)", strings.Join(e.Tried, ", "))
}

// MissingPathError is an explicitly named library path (argument or
// environment) that does not exist: falling back silently would hide a typo.
type MissingPathError struct {
	Path   string
	Source Source
}

func (e *MissingPathError) Error() string {
	return fmt.Sprintf("ONNX Runtime library %s (%s) does not exist", e.Path, e.Source.Describe())
}

// Resolve picks the first candidate that exists; the system candidate is
// always taken last, since only the dynamic loader can tell.
func (l Lookup) Resolve() (Candidate, error) {
	var tried []string
	for _, c := range l.Candidates() {
		if c.Source == FromSystem {
			return c, nil
		}
		if _, err := os.Stat(c.Path); err == nil {
			return c, nil
		} else if c.Source == FromExplicit || c.Source == FromEnv {
			return c, &MissingPathError{Path: c.Path, Source: c.Source}
		}
		tried = append(tried, c.Path)
	}
	return Candidate{}, &NotFoundError{Tried: tried}
}

// CompareVersions compares dotted numeric versions ("1.24.3"); suffixes after
// a '-' are ignored.
func CompareVersions(a, b string) int {
	pa, pb := versionParts(a), versionParts(b)
	for i := range 3 {
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
