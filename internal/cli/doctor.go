package cli

// The preamble reads the libjpeg-turbo version the binary was compiled
// against: a constant, so the check costs nothing at run time.

/*
#include <stdio.h>
#include <jpeglib.h>

static int fcJpegTurboVersion(void) {
#ifdef LIBJPEG_TURBO_VERSION_NUMBER
	return LIBJPEG_TURBO_VERSION_NUMBER;
#else
	return 0;
#endif
}
*/
import "C"

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/cpu"

	"github.com/fashionclip/fashionclip/internal/hub"
	"github.com/fashionclip/fashionclip/internal/ort"
	"github.com/fashionclip/fashionclip/internal/output"
	"github.com/fashionclip/fashionclip/pkg/fashionclip"
)

func init() {
	extraCommands = append(extraCommands, func(f *Factory) *cobra.Command { return NewCmdDoctor(f, nil) })
}

// Check statuses, from best to worst.
const (
	statusOK   = "ok"
	statusSkip = "skip"
	statusWarn = "warn"
	statusFail = "fail"
)

// DoctorCheck is one line of the report.
type DoctorCheck struct {
	Name   string         `json:"name"`
	Status string         `json:"status"` // ok, skip, warn or fail
	Detail string         `json:"detail"`
	Fix    string         `json:"fix,omitempty"`
	Info   map[string]any `json:"info,omitempty"`
}

// DoctorReport is what `doctor --format json` prints.
type DoctorReport struct {
	// CanClassify is true when ONNX Runtime loads and the default model is
	// local or can be downloaded: the condition for exit status 0.
	CanClassify bool          `json:"can_classify"`
	Checks      []DoctorCheck `json:"checks"`
}

// DoctorOptions are doctor's flags.
type DoctorOptions struct {
	f      *Factory
	Format output.Format
	format string
}

// Seams for tests: ONNX Runtime is process-global and the CPU is what it is.
var (
	doctorORTInit    = ort.Init
	doctorCPU        = hostCPUFeatures
	doctorHubTimeout = 3 * time.Second
	// cachedModel finds a Hub repo id in the Hugging Face cache without network.
	cachedModel = func(f *Factory, repo string) (string, error) {
		ref, err := hub.ParseRef(repo)
		if err != nil {
			return "", err
		}
		snap, err := hub.NewClient(doctorHubConfig(f)).Local(ref, f.Variant)
		if err != nil {
			return "", err
		}
		return snap.Dir, nil
	}
)

// NewCmdDoctor builds `fashionclip doctor`.
func NewCmdDoctor(f *Factory, runF func(*DoctorOptions) error) *cobra.Command {
	opts := &DoctorOptions{f: f}
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check that this machine can run fashionclip, and say how to fix what is missing",
		Long: `Check everything a run depends on and print one line per check (ok, skip, warn or
FAIL) with the fix for each problem:

  onnxruntime    the library is found, loads, and is ` + ort.MinVersion + ` or newer
  cpu            the SIMD features ONNX Runtime's kernels use (AVX2, AVX512F, FMA; NEON)
  libjpeg-turbo  the JPEG decoder the binary is linked with
  cache          fashionclip's cache ($FASHIONCLIP_CACHE): writable, size
  hf-cache       the Hugging Face hub cache ($HF_HUB_CACHE): writable, size
  model          the default model (--model, $FASHIONCLIP_MODEL or ` + DefaultModel + `)
                 is a usable folder or already in the Hugging Face cache
  hub            $HF_ENDPOINT (default ` + hub.DefaultEndpoint + `) answers within 3 s
                 (skipped with --offline or HF_HUB_OFFLINE=1)

doctor exits 0 when fashionclip can classify: ONNX Runtime loads and the model is
available locally or the Hub is reachable; 1 otherwise.`,
		Example: `  fashionclip doctor
  fashionclip doctor --offline
  fashionclip doctor --format json | jq -r '.checks[] | select(.status != "ok") | .fix'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := output.Resolve(opts.format, true, output.Table, output.JSON)
			if err != nil {
				return UsageError("%v", err)
			}
			opts.Format = format
			if runF != nil {
				return runF(opts)
			}
			return doctorRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.format, "format", "f", "", "table or json (default table)")
	return cmd
}

func doctorRun(ctx context.Context, o *DoctorOptions) error {
	f := o.f
	if ctx == nil {
		ctx = context.Background()
	}
	cfg := doctorHubConfig(f)

	// The Hub probe may take its full timeout: start it first.
	hubc := make(chan DoctorCheck, 1)
	go func() { hubc <- checkHub(ctx, cfg) }()

	ortCheck := checkORT(f)
	cacheRoot := f.Getenv("FASHIONCLIP_CACHE")
	if cacheRoot == "" {
		cacheRoot, _ = ort.CacheRoot()
	}
	arch, feats := doctorCPU()
	checks := []DoctorCheck{
		ortCheck,
		checkCPU(arch, feats),
		checkJPEG(),
		checkDir("cache", cacheRoot, "set FASHIONCLIP_CACHE to a writable folder"),
		checkDir("hf-cache", cfg.CacheDir, "set HF_HUB_CACHE (or HF_HOME) to a writable folder"),
	}
	hubCheck := <-hubc
	model, local := checkModel(f, cfg, hubCheck.Status == statusOK)
	checks = append(checks, model, hubCheck)

	rep := DoctorReport{Checks: checks,
		CanClassify: ortCheck.Status == statusOK && (local || model.Status == statusWarn)}
	if err := writeDoctor(f, o.Format, rep); err != nil {
		return quietPipe(err)
	}
	if !rep.CanClassify {
		// The report already says what is wrong and how to fix it.
		return &ExitError{Code: ExitFatal}
	}
	return nil
}

// doctorHubConfig is the Hub configuration the other commands use: the
// environment, plus --offline.
func doctorHubConfig(f *Factory) hub.Config {
	cfg := hub.ConfigFromEnv(f.Getenv)
	cfg.Offline = cfg.Offline || f.Offline
	return cfg
}

var ortSources = map[string]string{
	"flag":       "from --ort-lib",
	"env":        "from $" + ort.EnvLibrary,
	"executable": "beside the executable",
	"cache":      "from fashionclip's cache",
	"system":     "from the system library path",
}

func checkORT(f *Factory) DoctorCheck {
	c := DoctorCheck{Name: "onnxruntime"}
	lib, v, err := doctorORTInit(f.ORTLib)
	if err == nil && ort.CompareVersions(v, ort.MinVersion) < 0 {
		err = fmt.Errorf("ONNX Runtime %s at %s is too old (need %s or newer)", v, lib.Path, ort.MinVersion)
	}
	if err != nil {
		c.Status = statusFail
		// ort's messages end with their own fix; keep the two apart.
		detail, fix, ok := strings.Cut(err.Error(), "; fix: ")
		if !ok {
			fix = "run `fashionclip runtime install`, or pass --ort-lib PATH or set " + ort.EnvLibrary + " to a libonnxruntime " + ort.MinVersion + " or newer"
		}
		c.Detail, c.Fix = detail, fix
		return c
	}
	c.Status = statusOK
	c.Detail = fmt.Sprintf("%s at %s (%s)", v, lib.Path, ortSources[lib.Source])
	c.Info = map[string]any{"version": v, "path": lib.Path, "source": lib.Source}
	return c
}

// hostCPUFeatures lists the SIMD features ONNX Runtime's CPU kernels
// dispatch on for this architecture.
func hostCPUFeatures() (string, map[string]bool) {
	switch runtime.GOARCH {
	case "amd64":
		return "amd64", map[string]bool{"AVX2": cpu.X86.HasAVX2, "AVX512F": cpu.X86.HasAVX512F, "FMA": cpu.X86.HasFMA}
	case "arm64":
		return "arm64", map[string]bool{"NEON": cpu.ARM64.HasASIMD}
	}
	return runtime.GOARCH, nil
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

func checkCPU(arch string, feats map[string]bool) DoctorCheck {
	c := DoctorCheck{Name: "cpu", Status: statusOK, Info: map[string]any{"arch": arch}}
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
		c.Status = statusWarn
		c.Fix = "none needed to run, but without " + strings.Join(missing, " and ") +
			" ONNX Runtime uses slower kernels; expect several times lower throughput (an emulator or an old VM CPU model?)"
	}
	return c
}

func checkJPEG() DoctorCheck {
	c := DoctorCheck{Name: "libjpeg-turbo", Status: statusOK, Detail: "linked", Info: map[string]any{}}
	if n := int(C.fcJpegTurboVersion()); n > 0 {
		v := fmt.Sprintf("%d.%d.%d", n/1000000, n/1000%1000, n%1000)
		c.Detail = v + " (compiled against)"
		c.Info["version"] = v
	}
	switch p, known := loadedLibrary("libjpeg"); {
	case p != "":
		c.Detail += ", loaded from " + p
		c.Info["path"] = p
	case known:
		c.Detail += ", linked statically"
		c.Info["static"] = true
	}
	return c
}

// loadedLibrary finds the file of a shared library mapped into this process.
// known is false where the process's mappings cannot be read (not Linux).
func loadedLibrary(prefix string) (path string, known bool) {
	fh, err := os.Open("/proc/self/maps")
	if err != nil {
		return "", false
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 6 && strings.HasPrefix(filepath.Base(fields[5]), prefix) {
			return fields[5], true
		}
	}
	return "", sc.Err() == nil
}

// checkDir reports whether a cache folder is writable (or can be created)
// and how much it holds.
func checkDir(name, dir, fix string) DoctorCheck {
	c := DoctorCheck{Name: name, Info: map[string]any{"path": dir}}
	if dir == "" {
		c.Status, c.Detail, c.Fix = statusWarn, "no cache folder (no home folder?)", fix
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
			c.Status, c.Detail, c.Fix = statusWarn, fmt.Sprintf("%s does not exist and cannot be created: %v", dir, err), fix
			return c
		}
		c.Status, c.Detail = statusOK, dir+" (not created yet; made on first use)"
		c.Info["size"] = int64(0)
		return c
	case err != nil:
		c.Status, c.Detail, c.Fix = statusWarn, err.Error(), fix
		return c
	case !st.IsDir():
		c.Status, c.Detail, c.Fix = statusWarn, dir+" is not a folder", fix
		return c
	}
	if err := probeWrite(dir); err != nil {
		c.Status, c.Detail, c.Fix = statusWarn, fmt.Sprintf("%s is not writable: %v", dir, err), fix
		return c
	}
	size := treeSize(dir)
	c.Info["size"] = size
	c.Status, c.Detail = statusOK, fmt.Sprintf("%s (%s, writable)", dir, hub.FormatBytes(size))
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

// checkModel reports whether the default model is usable without the
// network (local reports that). A Hub model missing from the cache is a
// warning when it can be downloaded and a failure when it cannot.
func checkModel(f *Factory, cfg hub.Config, hubOK bool) (c DoctorCheck, local bool) {
	ref := f.ModelRefOrDefault()
	c = DoctorCheck{Name: "model", Info: map[string]any{"ref": ref}}
	if _, err := os.Stat(ref); err == nil {
		// An existing path wins over a repo id, as in Factory.ResolveModel.
		layout, err := fashionclip.DetectLayout(ref, fashionclip.Variant(f.Variant))
		if err != nil {
			c.Status, c.Detail = statusFail, err.Error()
			c.Fix = "pass --model a folder holding model.onnx (or onnx/model.onnx, or onnx/text_model.onnx + onnx/vision_model.onnx)"
			return c, false
		}
		c.Status, c.Detail = statusOK, fmt.Sprintf("%s: local folder, %s layout", ref, layout.Kind)
		c.Info["path"], c.Info["layout"] = ref, layout.Kind
		return c, true
	}
	if !IsRepoID(ref) {
		c.Status, c.Detail = statusFail, fmt.Sprintf("%q is neither an existing folder nor a Hub repo id (owner/name[@revision])", ref)
		c.Fix = "give --model (or $" + EnvModel + ") an existing model folder or a Hub repo id"
		return c, false
	}
	dir, err := cachedModel(f, ref)
	if err == nil {
		c.Status, c.Detail = statusOK, fmt.Sprintf("%s: cached in %s", ref, dir)
		c.Info["path"], c.Info["cached"] = dir, true
		return c, true
	}
	c.Info["cached"] = false
	// hub's messages end with their own advice; the fix below replaces it.
	why, _, _ := strings.Cut(err.Error(), "; ")
	pull := "`fashionclip model pull " + ref + variantArg(f.Variant) + "`"
	if hubOK {
		c.Status, c.Detail = statusWarn, why+"; it is downloaded on first use"
		c.Fix = "run " + pull + " now to download it once, ahead of time"
		return c, false
	}
	c.Status, c.Detail = statusFail, why+", and the Hub cannot be reached"
	if cfg.Offline {
		c.Detail = why + ", and network access is off (--offline or HF_HUB_OFFLINE)"
	}
	c.Fix = "run " + pull + " where the Hub is reachable (or set HF_ENDPOINT to a mirror), or pass --model DIR"
	return c, false
}

func variantArg(v string) string {
	if v == "" || strings.EqualFold(v, "fp32") {
		return ""
	}
	return " --variant " + v
}

func checkHub(ctx context.Context, cfg hub.Config) DoctorCheck {
	c := DoctorCheck{Name: "hub", Info: map[string]any{"endpoint": cfg.Endpoint}}
	if cfg.Offline {
		c.Status, c.Detail = statusSkip, "offline (--offline or HF_HUB_OFFLINE): "+cfg.Endpoint+" not contacted"
		return c
	}
	ctx, cancel := context.WithTimeout(ctx, doctorHubTimeout)
	defer cancel()
	fix := "check the network and proxy settings (HTTPS_PROXY), set HF_ENDPOINT to a reachable mirror, or use a local model with --model DIR"
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, cfg.Endpoint, nil)
	if err != nil {
		c.Status, c.Detail, c.Fix = statusFail, fmt.Sprintf("HF_ENDPOINT %q: %v", cfg.Endpoint, err), "set HF_ENDPOINT to a URL such as "+hub.DefaultEndpoint
		return c
	}
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.Status, c.Fix = statusFail, fix
		c.Detail = fmt.Sprintf("%s cannot be reached: %v", cfg.Endpoint, errors.Unwrap(err))
		if ctx.Err() != nil {
			c.Detail = fmt.Sprintf("%s did not answer within %s", cfg.Endpoint, doctorHubTimeout)
		}
		return c
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	ms := time.Since(start).Milliseconds()
	c.Info["status"], c.Info["ms"] = resp.StatusCode, ms
	if resp.StatusCode >= 500 {
		c.Status, c.Fix = statusFail, "retry later, or set HF_ENDPOINT to another mirror"
		c.Detail = fmt.Sprintf("%s answered HTTP %d", cfg.Endpoint, resp.StatusCode)
		return c
	}
	c.Status, c.Detail = statusOK, fmt.Sprintf("%s reachable (HTTP %d in %d ms)", cfg.Endpoint, resp.StatusCode, ms)
	return c
}

const (
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiRed    = "\x1b[31m"
	ansiReset  = "\x1b[0m"
)

func writeDoctor(f *Factory, format output.Format, rep DoctorReport) error {
	out := f.IO.Out
	if format == output.JSON {
		return output.NewRecordWriter(out, false).Write(rep)
	}
	width := 0
	for _, c := range rep.Checks {
		width = max(width, len(c.Name))
	}
	color := f.IO.ColorEnabled()
	paint := func(status string) string {
		word := status
		if status == statusFail {
			word = "FAIL" // capitals: the line to read first, colour or not
		}
		pad := strings.Repeat(" ", 5-len(word))
		if !color {
			return word + pad
		}
		code := map[string]string{statusOK: ansiGreen, statusWarn: ansiYellow, statusFail: ansiRed}[status]
		if code == "" {
			return word + pad
		}
		return code + word + ansiReset + pad
	}
	for _, c := range rep.Checks {
		line := fmt.Sprintf("%s %-*s  %s", paint(c.Status), width, c.Name, c.Detail)
		if c.Fix != "" {
			line += "; fix: " + c.Fix
		}
		if _, err := fmt.Fprintln(out, line); err != nil {
			return err
		}
	}
	summary := "fashionclip can classify"
	if !rep.CanClassify {
		summary = "fashionclip cannot classify yet: fix the FAIL lines above"
	}
	_, err := fmt.Fprintln(out, summary)
	return err
}
