// Package versioncmd is `fashionclip version`: flags, wiring and rendering
// (NewCmdX(f, runF), XOptions, xRun) over the library packages.
package versioncmd

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/fashionclip/fashionclip/internal/buildinfo"
	"github.com/fashionclip/fashionclip/internal/cmdutil"
	"github.com/fashionclip/fashionclip/internal/output"
)

// VersionOptions are version's flags.
type VersionOptions struct {
	f      *cmdutil.Factory
	Format string
}

// VersionInfo is what `version --format json` prints.
type VersionInfo struct {
	Version    string `json:"version"`
	Commit     string `json:"commit"`
	Go         string `json:"go"`
	Platform   string `json:"platform"`
	ORTVersion string `json:"onnxruntime_version,omitempty"`
	ORTLibrary string `json:"onnxruntime_library,omitempty"`
	ORTError   string `json:"onnxruntime_error,omitempty"`
	ModelCache string `json:"model_cache,omitempty"`
}

// NewCmdVersion builds `fashionclip version`.
func NewCmdVersion(f *cmdutil.Factory, runF func(*VersionOptions) error) *cobra.Command {
	opts := &VersionOptions{f: f}
	cmd := &cobra.Command{
		Use:     "version",
		Short:   "Print version, build and ONNX Runtime information",
		Example: "  fashionclip version\n  fashionclip version --format json | jq -r .onnxruntime_version",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := output.Resolve(opts.Format, false, output.Table, output.JSON); err != nil {
				return &cmdutil.ExitError{Code: cmdutil.ExitUsage, Err: err}
			}
			if runF != nil {
				return runF(opts)
			}
			return versionRun(opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Format, "format", "f", "", "table or json")
	return cmd
}

func versionRun(o *VersionOptions) error {
	info := VersionInfo{Version: buildinfo.Version, Commit: buildinfo.Commit, Go: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if rt, err := o.f.Runtime(); err != nil {
		info.ORTError = cmdutil.WithRemedy(err)
	} else {
		info.ORTVersion, info.ORTLibrary = rt.Version(), rt.LibraryPath()
	}
	info.ModelCache = o.f.Hub().CacheDir
	if o.Format == "json" {
		w := output.NewRecordWriter(o.f.IO.Out, false)
		return cmdutil.QuietPipe(w.Write(info))
	}
	out := o.f.IO.Out
	fmt.Fprintf(out, "fashionclip %s (commit %s, %s, %s)\n", info.Version, info.Commit, info.Go, info.Platform)
	if info.ORTError != "" {
		fmt.Fprintf(out, "ONNX Runtime: not usable: %s\n", info.ORTError)
	} else {
		fmt.Fprintf(out, "ONNX Runtime: %s (%s)\n", info.ORTVersion, info.ORTLibrary)
	}
	if info.ModelCache != "" {
		fmt.Fprintf(out, "Model cache: %s\n", info.ModelCache)
	}
	return nil
}
