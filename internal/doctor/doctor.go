// Package doctor checks what a fashionclip run depends on — ONNX Runtime,
// the CPU, the JPEG decoder, the caches, the default model, the Hub — and
// says for each problem how to fix it. Every dependency is a field of
// Checker, so the checks are tested without the real machine.
package doctor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fashionclip/fashionclip/internal/hub"
	"github.com/fashionclip/fashionclip/internal/ortlib"
)

// Status is a check's outcome, from best to worst.
type Status string

// The statuses.
const (
	OK   Status = "ok"
	Skip Status = "skip"
	Warn Status = "warn"
	Fail Status = "fail"
)

// Check is one line of the report.
type Check struct {
	Name   string         `json:"name"`
	Status Status         `json:"status"`
	Detail string         `json:"detail"`
	Fix    string         `json:"fix,omitempty"`
	Info   map[string]any `json:"info,omitempty"`
}

// Report is every check, and whether a classify run can work.
type Report struct {
	// CanClassify is true when ONNX Runtime loads and the default model is
	// local or can be downloaded.
	CanClassify bool    `json:"can_classify"`
	Checks      []Check `json:"checks"`
}

// Runtime is the loaded ONNX Runtime, or why it did not load.
type Runtime struct {
	Path, Source, Version string
}

// Checker holds the checks' dependencies.
type Checker struct {
	// LoadRuntime loads ONNX Runtime.
	LoadRuntime func() (Runtime, error)
	// Remedy says how to fix a runtime error (the CLI's one table of fixes).
	Remedy func(error) string
	// CPU reports the architecture and its SIMD features.
	CPU func() (arch string, features map[string]bool)
	// JPEGVersion is libjpeg-turbo's compiled-in version ("" unknown).
	JPEGVersion string
	// CacheDir is fashionclip's own cache; Hub the Hub client settings.
	CacheDir string
	Hub      hub.Config
	// HTTP reaches the Hub within HubTimeout.
	HTTP       *http.Client
	HubTimeout time.Duration
	// Model is the model reference to check, Variant its --variant.
	Model, Variant string
	// LocalLayout describes a local model folder ("combined", "split").
	LocalLayout func(dir string) (string, error)
	// CachedModel finds a repo id in the Hugging Face cache without network.
	CachedModel func(ref string) (dir string, err error)
	// IsRepoID tells a repo id from a mistyped path.
	IsRepoID func(string) bool
	// PullHint is the command that downloads the model ahead of time.
	PullHint string
}

// Run performs the checks; the Hub probe runs while the others do.
func (c *Checker) Run(ctx context.Context) Report {
	hubc := make(chan Check, 1)
	go func() { hubc <- c.checkHub(ctx) }()
	ortCheck := c.checkRuntime()
	arch, feats := c.CPU()
	checks := []Check{
		ortCheck,
		checkCPU(arch, feats),
		c.checkJPEG(),
		checkDir("cache", c.CacheDir, "set "+ortlib.EnvCache+" to a writable folder"),
		checkDir("hf-cache", c.Hub.CacheDir, "set HF_HUB_CACHE (or HF_HOME) to a writable folder"),
	}
	hubCheck := <-hubc
	model, local := c.checkModel(hubCheck.Status == OK)
	checks = append(checks, model, hubCheck)
	return Report{Checks: checks, CanClassify: ortCheck.Status == OK && (local || model.Status == Warn)}
}

func (c *Checker) checkRuntime() Check {
	ch := Check{Name: "onnxruntime"}
	rt, err := c.LoadRuntime()
	if err == nil && ortlib.CompareVersions(rt.Version, ortlib.MinVersion) < 0 {
		err = fmt.Errorf("ONNX Runtime %s at %s is too old (need %s or newer)", rt.Version, rt.Path, ortlib.MinVersion)
	}
	if err != nil {
		ch.Status, ch.Detail, ch.Fix = Fail, err.Error(), c.Remedy(err)
		if ch.Fix == "" {
			ch.Fix = c.Remedy(&ortlib.NotFoundError{})
		}
		return ch
	}
	ch.Status = OK
	ch.Detail = fmt.Sprintf("%s at %s (%s)", rt.Version, rt.Path, ortlib.Source(rt.Source).Describe())
	ch.Info = map[string]any{"version": rt.Version, "path": rt.Path, "source": rt.Source}
	return ch
}

// cpuWanted lists, per architecture, the features in report order and
// whether missing one costs much speed.
var cpuWanted = map[string][]struct {
	name      string
	important bool
}{
	"amd64": {{"AVX2", true}, {"AVX512F", false}, {"FMA", true}},
	"arm64": {{"NEON", true}},
}

func checkCPU(arch string, feats map[string]bool) Check {
	c := Check{Name: "cpu", Status: OK, Info: map[string]any{"arch": arch}}
	wanted, known := cpuWanted[arch]
	if !known {
		c.Detail = arch + ": no SIMD checks for this architecture"
		return c
	}
	var parts, missing []string
	for _, w := range wanted {
		have := feats[w.name]
		c.Info[w.name] = have
		mark := "yes"
		if !have {
			mark = "no"
			if w.important {
				missing = append(missing, w.name)
			}
		}
		parts = append(parts, w.name+" "+mark)
	}
	c.Detail = arch + ": " + strings.Join(parts, ", ")
	if len(missing) > 0 {
		c.Status = Warn
		c.Fix = "none needed to run, but without " + strings.Join(missing, " and ") +
			" ONNX Runtime uses slower kernels; expect several times lower throughput (an emulator or an old VM CPU model?)"
	}
	return c
}

func (c *Checker) checkJPEG() Check {
	ch := Check{Name: "libjpeg-turbo", Status: OK, Detail: "linked", Info: map[string]any{}}
	if v := c.JPEGVersion; v != "" {
		ch.Detail = v + " (compiled against)"
		ch.Info["version"] = v
	}
	switch p, known := loadedLibrary("libjpeg"); {
	case p != "":
		ch.Detail += ", loaded from " + p
		ch.Info["path"] = p
	case known:
		ch.Detail += ", linked statically"
		ch.Info["static"] = true
	}
	return ch
}

// loadedLibrary finds the file of a shared library mapped into this process.
// known is false where the process's mappings cannot be read (not Linux).
func loadedLibrary(prefix string) (path string, known bool) {
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return "", false
	}
	for _, line := range strings.Split(string(b), "\n") {
		fields := strings.Fields(line)
		if len(fields) >= 6 && strings.HasPrefix(filepath.Base(fields[5]), prefix) {
			return fields[5], true
		}
	}
	return "", true
}

// checkDir reports whether a cache folder is writable (or can be created)
// and how much it holds.
func checkDir(name, dir, fix string) Check {
	c := Check{Name: name, Info: map[string]any{"path": dir}}
	if dir == "" {
		c.Status, c.Detail, c.Fix = Warn, "no cache folder (no home folder?)", fix
		return c
	}
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// Created on first use: the nearest existing parent decides.
		parent := dir
		for {
			next := filepath.Dir(parent)
			if next == parent {
				break
			}
			parent = next
			if _, err := os.Stat(parent); err == nil {
				break
			}
		}
		if err := probeWrite(parent); err != nil {
			c.Status, c.Detail, c.Fix = Warn, fmt.Sprintf("%s does not exist and cannot be created: %v", dir, err), fix
			return c
		}
		c.Status, c.Detail = OK, dir+" (not created yet; made on first use)"
		c.Info["size"] = int64(0)
		return c
	case err != nil:
		c.Status, c.Detail, c.Fix = Warn, err.Error(), fix
		return c
	case !st.IsDir():
		c.Status, c.Detail, c.Fix = Warn, dir+" is not a folder", fix
		return c
	}
	if err := probeWrite(dir); err != nil {
		c.Status, c.Detail, c.Fix = Warn, fmt.Sprintf("%s is not writable: %v", dir, err), fix
		return c
	}
	size := treeSize(dir)
	c.Info["size"] = size
	c.Status, c.Detail = OK, fmt.Sprintf("%s (%s, writable)", dir, hub.FormatBytes(size))
	return c
}

// probeWrite creates and removes a file: permission bits alone miss
// read-only mounts and ACLs.
func probeWrite(dir string) error {
	fh, err := os.CreateTemp(dir, ".fashionclip-doctor-*")
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return pe.Err
		}
		return err
	}
	name := fh.Name()
	fh.Close()
	return os.Remove(name)
}

// treeSize adds up regular files; the Hub cache's snapshot symlinks are not
// followed, so each blob counts once.
func treeSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// checkModel reports whether the model is usable without the network
// (local reports that). A Hub model missing from the cache is a warning
// when it can be downloaded and a failure when it cannot.
func (c *Checker) checkModel(hubOK bool) (ch Check, local bool) {
	ref := c.Model
	ch = Check{Name: "model", Info: map[string]any{"ref": ref}}
	if _, err := os.Stat(ref); err == nil {
		// An existing path wins over a repo id, as in loading.
		kind, err := c.LocalLayout(ref)
		if err != nil {
			ch.Status, ch.Detail = Fail, err.Error()
			ch.Fix = "pass --model a folder holding model.onnx (or onnx/model.onnx, or onnx/text_model.onnx + onnx/vision_model.onnx)"
			return ch, false
		}
		ch.Status, ch.Detail = OK, fmt.Sprintf("%s: local folder, %s layout", ref, kind)
		ch.Info["path"], ch.Info["layout"] = ref, kind
		return ch, true
	}
	if !c.IsRepoID(ref) {
		ch.Status, ch.Detail = Fail, fmt.Sprintf("%q is neither an existing folder nor a Hub repo id (owner/name[@revision])", ref)
		ch.Fix = "give --model (or $FASHIONCLIP_MODEL) an existing model folder or a Hub repo id"
		return ch, false
	}
	dir, err := c.CachedModel(ref)
	if err == nil {
		ch.Status, ch.Detail = OK, fmt.Sprintf("%s: cached in %s", ref, dir)
		ch.Info["path"], ch.Info["cached"] = dir, true
		return ch, true
	}
	ch.Info["cached"] = false
	// The cache's message may end with its own advice; the fix below replaces it.
	why, _, _ := strings.Cut(err.Error(), "; ")
	pull := "`" + c.PullHint + "`"
	if hubOK {
		ch.Status, ch.Detail = Warn, why+"; it is downloaded on first use"
		ch.Fix = "run " + pull + " now to download it once, ahead of time"
		return ch, false
	}
	ch.Status, ch.Detail = Fail, why+", and the Hub cannot be reached"
	if c.Hub.Offline {
		ch.Detail = why + ", and network access is off (--offline or HF_HUB_OFFLINE)"
	}
	ch.Fix = "run " + pull + " where the Hub is reachable (or set HF_ENDPOINT to a mirror), or pass --model DIR"
	return ch, false
}

func (c *Checker) checkHub(ctx context.Context) Check {
	ch := Check{Name: "hub", Info: map[string]any{"endpoint": c.Hub.Endpoint}}
	if c.Hub.Offline {
		ch.Status, ch.Detail = Skip, "offline (--offline or HF_HUB_OFFLINE): "+c.Hub.Endpoint+" not contacted"
		return ch
	}
	ctx, cancel := context.WithTimeout(ctx, c.HubTimeout)
	defer cancel()
	fix := "check the network and proxy settings (HTTPS_PROXY), set HF_ENDPOINT to a reachable mirror, or use a local model with --model DIR"
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, c.Hub.Endpoint, nil)
	if err != nil {
		ch.Status, ch.Detail, ch.Fix = Fail, fmt.Sprintf("HF_ENDPOINT %q: %v", c.Hub.Endpoint, err), "set HF_ENDPOINT to a URL such as "+hub.DefaultEndpoint
		return ch
	}
	start := time.Now()
	resp, err := c.HTTP.Do(req)
	if err != nil {
		ch.Status, ch.Fix = Fail, fix
		ch.Detail = fmt.Sprintf("%s cannot be reached: %v", c.Hub.Endpoint, errors.Unwrap(err))
		if ctx.Err() != nil {
			ch.Detail = fmt.Sprintf("%s did not answer within %s", c.Hub.Endpoint, c.HubTimeout)
		}
		return ch
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	ms := time.Since(start).Milliseconds()
	ch.Info["status"], ch.Info["ms"] = resp.StatusCode, ms
	if resp.StatusCode >= 500 {
		ch.Status, ch.Fix = Fail, "retry later, or set HF_ENDPOINT to another mirror"
		ch.Detail = fmt.Sprintf("%s answered HTTP %d", c.Hub.Endpoint, resp.StatusCode)
		return ch
	}
	ch.Status, ch.Detail = OK, fmt.Sprintf("%s reachable (HTTP %d in %d ms)", c.Hub.Endpoint, resp.StatusCode, ms)
	return ch
}
