// Package doctorcmd is `fashionclip doctor`: flags, wiring and rendering
// (NewCmdX(f, runF), XOptions, xRun) over the library packages.
package doctorcmd

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fashionclip/fashionclip/internal/cmdutil"
	"github.com/fashionclip/fashionclip/internal/doctor"
	"github.com/fashionclip/fashionclip/internal/hub"
	"github.com/fashionclip/fashionclip/internal/ortlib"
	"github.com/fashionclip/fashionclip/internal/output"
	"github.com/fashionclip/fashionclip/pkg/fashionclip"
	"github.com/fashionclip/fashionclip/pkg/imageproc"
)

// DoctorOptions are doctor's flags; Checker's fields are the checks' dependencies.
type DoctorOptions struct {
	f       *cmdutil.Factory
	Format  output.Format
	format  string
	Checker *doctor.Checker
}

// NewCmdDoctor builds `fashionclip doctor`.
func NewCmdDoctor(f *cmdutil.Factory, runF func(*DoctorOptions) error) *cobra.Command {
	opts := &DoctorOptions{f: f}
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check that this machine can run fashionclip, and say how to fix what is missing",
		Long: `Check everything a run depends on and print one line per check (ok, skip, warn or
FAIL) with the fix for each problem:

  onnxruntime    the library is found, loads, and is ` + ortlib.MinVersion + ` or newer
  cpu            the SIMD features ONNX Runtime's kernels use (AVX2, AVX512F, FMA; NEON)
  libjpeg-turbo  the JPEG decoder the binary is linked with
  cache          fashionclip's cache ($FASHIONCLIP_CACHE): writable, size
  hf-cache       the Hugging Face hub cache ($HF_HUB_CACHE): writable, size
  model          the default model (--model, $FASHIONCLIP_MODEL or ` + cmdutil.DefaultModel + `)
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
				return cmdutil.UsageError("%v", err)
			}
			opts.Format = format
			if opts.Checker == nil {
				opts.Checker = newChecker(f)
			}
			if runF != nil {
				return runF(opts)
			}
			return doctorRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.format, "format", "f", "", "table or json (default table)")
	return cmd
}

// newChecker wires the checks to the real machine.
func newChecker(f *cmdutil.Factory) *doctor.Checker {
	cfg := f.Hub()
	cacheDir, _ := ortlib.CacheRoot(f.Getenv)
	variant, _ := fashionclip.ParseVariant(f.Flags.Variant)
	pull := "fashionclip model pull " + f.ModelRef()
	if variant != fashionclip.FP32 {
		pull += " --variant " + string(variant)
	}
	return &doctor.Checker{
		LoadRuntime: func() (doctor.Runtime, error) {
			rt, err := f.Runtime()
			if err != nil {
				return doctor.Runtime{}, err
			}
			return doctor.Runtime{Path: rt.LibraryPath(), Source: rt.LibrarySource(), Version: rt.Version()}, nil
		},
		Remedy:      cmdutil.Remedy,
		CPU:         doctor.HostCPU,
		JPEGVersion: imageproc.LibjpegTurboVersion(),
		CacheDir:    cacheDir,
		Hub:         cfg,
		HubTimeout:  3 * time.Second,
		Model:       f.ModelRef(),
		LocalLayout: func(dir string) (string, error) {
			l, err := fashionclip.DetectLayout(dir, variant)
			return string(l.Kind), err
		},
		CachedModel: func(repo string) (string, error) {
			ref, err := hub.ParseRef(repo)
			if err != nil {
				return "", err
			}
			snap, err := hub.NewClient(cfg).Local(ref, string(variant))
			if err != nil {
				return "", err
			}
			return snap.Dir, nil
		},
		IsRepoID: fashionclip.IsRepoID,
		PullHint: pull,
	}
}

func doctorRun(ctx context.Context, o *DoctorOptions) error {
	rep := o.Checker.Run(ctx)
	if err := writeDoctor(o.f, o.Format, rep); err != nil {
		return cmdutil.QuietPipe(err)
	}
	if !rep.CanClassify {
		// The report already says what is wrong and how to fix it.
		return &cmdutil.ExitError{Code: cmdutil.ExitFatal}
	}
	return nil
}

const (
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiRed    = "\x1b[31m"
	ansiReset  = "\x1b[0m"
)

func writeDoctor(f *cmdutil.Factory, format output.Format, rep doctor.Report) error {
	out := f.IO.Out
	if format == output.JSON {
		return output.NewRecordWriter(out, false).Write(rep)
	}
	width := 0
	for _, c := range rep.Checks {
		width = max(width, len(c.Name))
	}
	color := f.IO.ColorEnabled()
	paint := func(status doctor.Status) string {
		word := string(status)
		if status == doctor.Fail {
			word = "FAIL" // capitals: the line to read first, colour or not
		}
		pad := strings.Repeat(" ", 5-len(word))
		code := map[doctor.Status]string{doctor.OK: ansiGreen, doctor.Warn: ansiYellow, doctor.Fail: ansiRed}[status]
		if !color || code == "" {
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
