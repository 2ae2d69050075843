// Package synthcmd is `fashionclip synth`: flags, wiring and rendering
// (NewCmdX(f, runF), XOptions, xRun) over the library packages.
package synthcmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fashionclip/fashionclip/internal/cmdutil"
	"github.com/fashionclip/fashionclip/internal/synth"
)

// SynthOptions are synth's flags.
type SynthOptions struct {
	f      *cmdutil.Factory
	Size   string
	Layout string
	Out    string
	Seed   int64
}

// NewCmdSynth builds the hidden `fashionclip synth` used by tests, benchmarks and the demo.
func NewCmdSynth(f *cmdutil.Factory, runF func(*SynthOptions) error) *cobra.Command {
	opts := &SynthOptions{f: f}
	cmd := &cobra.Command{
		Use:    "synth --size tiny|vit-b-32 --out DIR",
		Short:  "Write a synthetic CLIP model with random weights (for tests and benchmarks)",
		Hidden: true,
		Long: `Write a CLIP-architecture ONNX model with seeded random weights and a synthetic
vocabulary. Its scores mean nothing: it exists to test and benchmark without the real
605 MB weights. Layout "combined" is Optimum's model.onnx, "split" is transformers.js's
onnx/text_model.onnx + onnx/vision_model.onnx, "both" writes combined/ and split/.`,
		Example: "  fashionclip synth --size tiny --out /tmp/tiny\n  fashionclip synth --size vit-b-32 --layout combined --out models/vitb32",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Out == "" {
				return cmdutil.UsageError("--out DIR is required")
			}
			switch opts.Layout {
			case "combined", "split", "both":
			default:
				return cmdutil.UsageError("--layout must be combined, split or both")
			}
			if runF != nil {
				return runF(opts)
			}
			return synthRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Size, "size", "tiny", "tiny or vit-b-32")
	cmd.Flags().StringVar(&opts.Layout, "layout", "both", "combined, split or both")
	cmd.Flags().StringVar(&opts.Out, "out", "", "output folder")
	cmd.Flags().Int64Var(&opts.Seed, "seed", 7, "random seed")
	return cmd
}

func synthRun(o *SynthOptions) error {
	cfg, err := synth.ConfigByName(o.Size)
	if err != nil {
		return &cmdutil.ExitError{Code: cmdutil.ExitUsage, Err: err}
	}
	cfg.Seed = o.Seed
	if err := synth.Write(o.Out, o.Layout, cfg); err != nil {
		return err
	}
	fmt.Fprintf(o.f.IO.ErrOut, "wrote synthetic %s model (%s) to %s\n", o.Size, o.Layout, o.Out)
	return nil
}
