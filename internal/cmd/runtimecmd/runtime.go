// Package runtimecmd holds `fashionclip runtime` and its subcommands
// (install, info): flags, wiring and rendering (NewCmdX(f, runF), XOptions,
// xRun) over the library packages.
package runtimecmd

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/fashionclip/fashionclip/internal/buildinfo"
	"github.com/fashionclip/fashionclip/internal/cmdutil"
	"github.com/fashionclip/fashionclip/internal/hub"
	"github.com/fashionclip/fashionclip/internal/ortlib"
	"github.com/fashionclip/fashionclip/internal/output"
)

// NewCmdRuntime builds `fashionclip runtime`.
func NewCmdRuntime(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "runtime",
		Short: "Install ONNX Runtime or show which one is used",
		Long: `Install Microsoft's ONNX Runtime release into the user cache, or show which library the lookup
finds: --ort-lib, $` + ortlib.EnvLibrary + `, beside the executable, the user cache, then the system.`,
		Example: `  fashionclip runtime install
  fashionclip runtime info --format json`,
	}
	cmd.AddCommand(NewCmdRuntimeInstall(f, nil), NewCmdRuntimeInfo(f, nil))
	return cmd
}

// RuntimeInstallOptions are `runtime install`'s flags.
type RuntimeInstallOptions struct {
	f       *cmdutil.Factory
	Version string
	SHA256  string
	From    string
	Format  output.Format
	format  string
}

// NewCmdRuntimeInstall builds `fashionclip runtime install`.
func NewCmdRuntimeInstall(f *cmdutil.Factory, runF func(*RuntimeInstallOptions) error) *cobra.Command {
	opts := &RuntimeInstallOptions{f: f}
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Download ONNX Runtime's official release and install its library",
		Long: `Download Microsoft's official ONNX Runtime release archive for this platform (or take a local
one with --from), check its sha256 when --sha256 is given, and install its lib/libonnxruntime*
files into the user cache, where every command finds them. The archive's sha256 is printed so it
can be pinned next time. Nothing is installed from an archive that is incomplete, fails the
checksum or holds paths that leave the target folder.

$` + hub.EnvRuntimeBase + ` replaces the download base URL
(` + hub.DefaultRuntimeBase + `), e.g. for a mirror.`,
		Example: `  fashionclip runtime install
  fashionclip runtime install --version 1.24.3 --sha256 <hex>
  fashionclip runtime install --from ~/Downloads/onnxruntime-linux-x64-1.24.3.tgz`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := cmdutil.ListingFormat(f, opts.format)
			if err != nil {
				return err
			}
			opts.Format = format
			if opts.SHA256 != "" && len(strings.TrimSpace(opts.SHA256)) != 64 {
				return cmdutil.UsageError("--sha256 wants 64 hex digits")
			}
			if runF != nil {
				return runF(opts)
			}
			return runtimeInstallRun(cmd, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Version, "version", buildinfo.ORTVersion, "ONNX Runtime release to install")
	cmd.Flags().StringVar(&opts.SHA256, "sha256", "", "refuse the archive unless its sha256 is this (hex)")
	cmd.Flags().StringVar(&opts.From, "from", "", "install from this local .tgz (or URL) instead of the official download")
	cmdutil.AddListingFormatFlag(cmd, &opts.format)
	return cmd
}

func runtimeInstallRun(cmd *cobra.Command, o *RuntimeInstallOptions) error {
	f := o.f
	dest, err := ortlib.RuntimeDir(f.Getenv)
	if err != nil {
		return fmt.Errorf("no user cache folder to install ONNX Runtime into: %w", err)
	}
	opts := hub.RuntimeOptions{Version: o.Version, From: o.From, SHA256: o.SHA256, DestRoot: dest,
		LibraryName: ortlib.LibraryName(runtime.GOOS), Getenv: f.Getenv, Offline: f.Hub().Offline}
	var bar *progressbar.ProgressBar
	if f.IO.ShowProgress() {
		opts.Progress = func(done, total int64) {
			if bar == nil {
				bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(f.IO.ProgressWriter()),
					progressbar.OptionSetDescription("ONNX Runtime "+o.Version), progressbar.OptionShowBytes(true),
					progressbar.OptionSetWidth(30), progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
			}
			bar.Set64(done)
		}
	}
	res, err := hub.InstallRuntime(cmd.Context(), opts)
	if bar != nil {
		bar.Finish()
	}
	if err != nil {
		return err
	}
	if o.Format == output.JSON {
		return cmdutil.QuietPipe(output.NewRecordWriter(f.IO.Out, false).Write(res))
	}
	out := f.IO.Out
	fmt.Fprintf(out, "installed ONNX Runtime %s\n", res.Version)
	fmt.Fprintf(out, "library:  %s\n", res.Library)
	fmt.Fprintf(out, "from:     %s\n", res.Source)
	_, err = fmt.Fprintf(out, "sha256:   %s\n", res.SHA256)
	if o.SHA256 == "" {
		f.Warnf("pin this archive next time with --sha256 %s", res.SHA256)
	}
	return cmdutil.QuietPipe(err)
}

// RuntimeInfoOptions are `runtime info`'s flags.
type RuntimeInfoOptions struct {
	f      *cmdutil.Factory
	Format output.Format
	format string
}

// RuntimeInfo is what `runtime info` reports.
type RuntimeInfo struct {
	Library      string             `json:"library,omitempty"`
	Source       string             `json:"source,omitempty"`
	Version      string             `json:"version,omitempty"`
	MinVersion   string             `json:"min_version"`
	BuildVersion string             `json:"build_version"`
	RuntimeDir   string             `json:"runtime_dir,omitempty"`
	Candidates   []RuntimeCandidate `json:"candidates"`
	Error        string             `json:"error,omitempty"`
}

// RuntimeCandidate is one place the lookup tries.
type RuntimeCandidate struct {
	Path   string `json:"path"`
	Source string `json:"source"`
	Exists bool   `json:"exists"`
}

// NewCmdRuntimeInfo builds `fashionclip runtime info`.
func NewCmdRuntimeInfo(f *cmdutil.Factory, runF func(*RuntimeInfoOptions) error) *cobra.Command {
	opts := &RuntimeInfoOptions{f: f}
	cmd := &cobra.Command{
		Use:   "info",
		Short: "Show which ONNX Runtime library is found, where it was looked for, and its version",
		Long: `Show the places the ONNX Runtime lookup tries, in order, the library it picks and the version it
reports once loaded. Exits 1 when no usable library loads.`,
		Example: `  fashionclip runtime info
  fashionclip runtime info --ort-lib /opt/onnxruntime/lib/libonnxruntime.so.1 --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := cmdutil.ListingFormat(f, opts.format)
			if err != nil {
				return err
			}
			opts.Format = format
			if runF != nil {
				return runF(opts)
			}
			return runtimeInfoRun(opts)
		},
	}
	cmdutil.AddListingFormatFlag(cmd, &opts.format)
	return cmd
}

func runtimeInfoRun(o *RuntimeInfoOptions) error {
	f := o.f
	info := RuntimeInfo{MinVersion: ortlib.MinVersion, BuildVersion: buildinfo.ORTVersion}
	if dir, err := ortlib.RuntimeDir(f.Getenv); err == nil {
		info.RuntimeDir = dir
	}
	for _, c := range (ortlib.Lookup{Path: f.Flags.ORTLib, Getenv: f.Getenv}).Candidates() {
		_, err := os.Stat(c.Path)
		info.Candidates = append(info.Candidates, RuntimeCandidate{Path: c.Path, Source: string(c.Source), Exists: err == nil})
	}
	rt, initErr := f.Runtime()
	if initErr != nil {
		info.Error = cmdutil.WithRemedy(initErr)
	} else {
		info.Library, info.Source, info.Version = rt.LibraryPath(), rt.LibrarySource(), rt.Version()
	}
	if o.Format == output.JSON {
		if err := output.NewRecordWriter(f.IO.Out, false).Write(info); err != nil {
			return cmdutil.QuietPipe(err)
		}
	} else {
		out := f.IO.Out
		if initErr == nil {
			fmt.Fprintf(out, "ONNX Runtime %s loaded from %s (%s)\n", info.Version, info.Library, info.Source)
		} else {
			fmt.Fprintln(out, "ONNX Runtime: not loaded")
		}
		fmt.Fprintf(out, "needs %s or newer; built and tested with %s\n\n", info.MinVersion, info.BuildVersion)
		t := cmdutil.ListTable(out, o.Format, "#", "SOURCE", "PATH", "EXISTS")
		for i, c := range info.Candidates {
			exists := cmdutil.YesNo(c.Exists)
			if c.Source == "system" {
				exists = "(dlopen search)"
			}
			t.Append(fmt.Sprint(i+1), c.Source, c.Path, exists)
		}
		if err := t.Close(); err != nil {
			return cmdutil.QuietPipe(err)
		}
	}
	if initErr != nil {
		return &cmdutil.ExitError{Code: cmdutil.ExitFatal, Err: initErr}
	}
	return nil
}
