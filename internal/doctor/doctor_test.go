package doctor

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fashionclip/fashionclip/internal/hub"
	"github.com/fashionclip/fashionclip/internal/ortlib"
)

// hubServer answers HEAD / with status after delay and counts the HEADs.
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

// checker is a Checker on fakes: a loadable runtime, a local model that is
// a combined layout, a cache holding acme/clip, an offline Hub.
func checker(t *testing.T) *Checker {
	return &Checker{
		LoadRuntime: func() (Runtime, error) {
			return Runtime{Path: "/lib/libonnxruntime.so.1", Source: "executable", Version: "1.24.3"}, nil
		},
		Remedy:      func(error) string { return "the remedy" },
		CPU:         func() (string, map[string]bool) { return "amd64", map[string]bool{"AVX2": true, "FMA": true} },
		JPEGVersion: "2.1.5",
		CacheDir:    t.TempDir(),
		Hub:         hub.Config{CacheDir: t.TempDir(), Endpoint: "http://127.0.0.1:1", Offline: true},
		HubTimeout:  time.Second,
		LocalLayout: func(dir string) (string, error) {
			if _, err := os.Stat(filepath.Join(dir, "model.onnx")); err != nil {
				return "", errors.New("no ONNX graph in " + dir)
			}
			return "combined", nil
		},
		CachedModel: func(ref string) (string, error) {
			if ref == "acme/clip" {
				return "/cache/acme", nil
			}
			return "", errors.New(ref + " is not in the Hugging Face cache (/cache)") // hub errors carry no advice
		},
		IsRepoID: func(s string) bool { return strings.Count(s, "/") == 1 && !strings.HasPrefix(s, "/") },
		PullHint: "fashionclip model pull X",
	}
}

func find(rep Report, name string) Check {
	for _, c := range rep.Checks {
		if c.Name == name {
			return c
		}
	}
	return Check{}
}

func TestChecker(t *testing.T) {
	local := t.TempDir()
	os.WriteFile(filepath.Join(local, "model.onnx"), nil, 0o644)
	broken := t.TempDir()
	okHub, _ := hubServer(t, http.StatusOK, 0)
	downHub, _ := hubServer(t, http.StatusServiceUnavailable, 0)
	missing := func() (Runtime, error) { return Runtime{}, &ortlib.NotFoundError{Tried: []string{"/nowhere"}} }
	tooOld := func() (Runtime, error) { return Runtime{Path: "/old/lib.so", Source: "system", Version: "1.20.1"}, nil }

	cases := []struct {
		name   string
		tweak  func(c *Checker)
		can    bool
		check  string
		status Status
		detail string // substring
		fix    string // substring
	}{
		{"local folder", func(c *Checker) { c.Model = local }, true, "model", OK, "local folder, combined layout", ""},
		{"runtime missing", func(c *Checker) { c.Model, c.LoadRuntime = local, missing }, false, "onnxruntime", Fail, "not found (looked in: /nowhere)", "the remedy"},
		{"runtime too old", func(c *Checker) { c.Model, c.LoadRuntime = local, tooOld }, false, "onnxruntime", Fail, "1.20.1 at /old/lib.so is too old", "the remedy"},
		{"runtime found", func(c *Checker) { c.Model = local }, true, "onnxruntime", OK, "1.24.3 at /lib/libonnxruntime.so.1 (beside the executable)", ""},
		{"repo cached offline", func(c *Checker) { c.Model = "acme/clip" }, true, "model", OK, "acme/clip: cached in /cache/acme", ""},
		{"not cached, Hub reachable", func(c *Checker) { c.Model, c.Hub.Offline, c.Hub.Endpoint = "acme/other", false, okHub }, true,
			"model", Warn, "not in the Hugging Face cache (/cache); it is downloaded on first use", "`fashionclip model pull X` now"},
		{"not cached, Hub 503", func(c *Checker) { c.Model, c.Hub.Offline, c.Hub.Endpoint = "acme/other", false, downHub }, false,
			"hub", Fail, "answered HTTP 503", "retry later"},
		{"not cached, Hub unreachable", func(c *Checker) { c.Model, c.Hub.Offline = "acme/other", false }, false,
			"model", Fail, "and the Hub cannot be reached", "where the Hub is reachable"},
		{"not cached, offline", func(c *Checker) { c.Model = "acme/other" }, false, "model", Fail, "network access is off", ""},
		{"offline skips the Hub", func(c *Checker) { c.Model = local }, true, "hub", Skip, "not contacted", ""},
		{"neither folder nor repo id", func(c *Checker) { c.Model = "no/such/folder" }, false, "model", Fail, "is neither an existing folder nor a Hub repo id", "--model"},
		{"folder without graphs", func(c *Checker) { c.Model = broken }, false, "model", Fail, "no ONNX graph", "folder holding model.onnx"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := checker(t)
			tc.tweak(c)
			rep := c.Run(context.Background())
			if len(rep.Checks) != 7 {
				t.Fatalf("%d checks, want 7", len(rep.Checks))
			}
			got := find(rep, tc.check)
			if rep.CanClassify != tc.can || got.Status != tc.status || !strings.Contains(got.Detail, tc.detail) || !strings.Contains(got.Fix, tc.fix) {
				t.Errorf("can %v, %s: %+v; want can %v, %s %q fix %q", rep.CanClassify, tc.check, got, tc.can, tc.status, tc.detail, tc.fix)
			}
		})
	}
}

func TestHubProbeUsesHEADAndTimesOut(t *testing.T) {
	slow, heads := hubServer(t, http.StatusOK, 5*time.Second)
	c := checker(t)
	c.Model, c.Hub.Offline, c.Hub.Endpoint, c.HubTimeout = "acme/other", false, slow, 200*time.Millisecond
	start := time.Now()
	got := find(c.Run(context.Background()), "hub")
	if time.Since(start) > 3*time.Second {
		t.Errorf("waited %s for a Hub that does not answer", time.Since(start))
	}
	if got.Status != Fail || got.Detail != slow+" did not answer within 200ms" || heads.Load() != 1 {
		t.Errorf("%+v after %d HEAD requests", got, heads.Load())
	}
}

func TestCheckCPU(t *testing.T) {
	cases := []struct {
		arch   string
		feats  map[string]bool
		status Status
		detail string
	}{
		{"amd64", map[string]bool{"AVX2": true, "AVX512F": true, "FMA": true}, OK, "amd64: AVX2 yes, AVX512F yes, FMA yes"},
		{"amd64", map[string]bool{"AVX2": true, "FMA": true}, OK, "amd64: AVX2 yes, AVX512F no, FMA yes"},
		{"amd64", map[string]bool{"FMA": true}, Warn, "amd64: AVX2 no, AVX512F no, FMA yes"},
		{"arm64", map[string]bool{"NEON": true}, OK, "arm64: NEON yes"},
		{"arm64", nil, Warn, "arm64: NEON no"},
		{"riscv64", nil, OK, "riscv64: no SIMD checks for this architecture"},
	}
	for _, c := range cases {
		got := checkCPU(c.arch, c.feats)
		if got.Status != c.status || got.Detail != c.detail {
			t.Errorf("%s %v: %s %q, want %s %q", c.arch, c.feats, got.Status, got.Detail, c.status, c.detail)
		}
		if (got.Status == Warn) != (got.Fix != "") {
			t.Errorf("%s %v: a warning needs a fix and only a warning has one: %+v", c.arch, c.feats, got)
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
		name, dir string
		status    Status
		detail    string
		size      int64
		rootSkips bool // root writes anywhere
	}{
		{"existing, links not counted", full, OK, full + " (1.0 kB, writable)", 1000, false},
		{"not created yet", filepath.Join(full, "a", "b"), OK, filepath.Join(full, "a", "b") + " (not created yet; made on first use)", 0, false},
		{"a file", file, Warn, file + " is not a folder", -1, false},
		{"read-only", readOnly, Warn, readOnly + " is not writable: permission denied", -1, true},
		{"under a read-only folder", filepath.Join(readOnly, "x"), Warn, filepath.Join(readOnly, "x") + " does not exist and cannot be created: permission denied", -1, true},
		{"no folder", "", Warn, "no cache folder (no home folder?)", -1, false},
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
			if (got.Status == Warn) != (got.Fix == "the fix") {
				t.Errorf("fix %q with status %s", got.Fix, got.Status)
			}
		})
	}
}

func TestHostCPU(t *testing.T) {
	// The host's own features come back under the names the checks know.
	arch, feats := HostCPU()
	if arch != runtime.GOARCH {
		t.Errorf("arch %q, want %q", arch, runtime.GOARCH)
	}
	if arch == "amd64" && len(feats) != 3 {
		t.Errorf("features %v", feats)
	}
}
