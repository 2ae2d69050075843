package benchcmd

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/fashionclip/fashionclip/internal/bench"
	"github.com/fashionclip/fashionclip/internal/cmdutil"
	"github.com/fashionclip/fashionclip/internal/output"
	"github.com/fashionclip/fashionclip/internal/source"
	"github.com/fashionclip/fashionclip/internal/synth"
	"github.com/fashionclip/fashionclip/pkg/imageproc"
)

// BenchSpeedOptions are `bench speed`'s flags.
type BenchSpeedOptions struct {
	f         *cmdutil.Factory
	Images    string
	Synthetic int
	Format    string
	In        cmdutil.InputFlags
}

// NewCmdBenchSpeed builds `fashionclip bench speed`.
func NewCmdBenchSpeed(f *cmdutil.Factory, runF func(*BenchSpeedOptions) error) *cobra.Command {
	opts := &BenchSpeedOptions{f: f}
	cmd := &cobra.Command{
		Use:   "speed [--images DIR | --synthetic N] [--batch-size B] [--threads T]",
		Short: "Images per second end to end, per stage, and against the model alone",
		Long: `Run images through the same pipeline classify uses and report images/s end to end,
per-batch inference latency (p50/p95/p99), time per image in each stage (read, decode,
preprocess, infer, score), text-encoding latency and peak RSS; and "model only": ONNX
Runtime's throughput on ready-made tensors with the same batch size and threads, the
ceiling the end-to-end figure is compared with.

Decoding and resizing are fused in the pipeline, so "decode" is timed separately on up
to 16 of the images and "preprocess" is the fused time less that.

--synthetic N (default 64 when --images is not given) first writes N deterministic
1200×1600 JPEGs (quality 90) into a temporary folder.`,
		Example: `  fashionclip bench speed --synthetic 256 --batch-size 16
  fashionclip bench speed --images shop/ --fast-decode --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Images != "" && cmd.Flags().Changed("synthetic") {
				return cmdutil.UsageError("--images and --synthetic do not mix")
			}
			if opts.Synthetic < 1 {
				return cmdutil.UsageError("--synthetic must be at least 1")
			}
			if _, err := output.Resolve(opts.Format, false, output.Table, output.JSON); err != nil {
				return &cmdutil.ExitError{Code: cmdutil.ExitUsage, Err: err}
			}
			if err := opts.In.Validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return benchSpeedRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Images, "images", "", "folder of images to time (walked like classify's inputs)")
	fl.IntVar(&opts.Synthetic, "synthetic", 64, "generate N 1200×1600 JPEGs to time (when --images is not given)")
	fl.StringVarP(&opts.Format, "format", "f", "", "table or json (default: table on a terminal, json otherwise)")
	opts.In.Bind(cmd, true)
	return cmd
}

func benchSpeedRun(ctx context.Context, o *BenchSpeedOptions) error {
	f := o.f
	format, _ := output.Resolve(o.Format, f.IO.IsStdoutTTY(), output.Table, output.JSON)
	// The model first: a missing runtime should not cost the wait for
	// synthetic images.
	m, err := f.LoadModel(ctx, "", o.In.ModelOptions)
	if err != nil {
		return err
	}
	defer m.Close()
	var paths []string
	var sourceName string
	if o.Images != "" {
		err := source.Walk(ctx, []string{o.Images}, source.Options{MaxDepth: o.In.MaxDepth, Hidden: o.In.Hidden},
			func(it source.Item) error {
				if it.Err == nil {
					paths = append(paths, it.Path)
				}
				return nil
			})
		if err != nil {
			return err
		}
		if len(paths) == 0 {
			return fmt.Errorf("no image found in %s (folders are searched for %v)", o.Images, source.ImageExtensions)
		}
		sourceName = fmt.Sprintf("%d images from %s", len(paths), o.Images)
	} else {
		dir, err := os.MkdirTemp("", "fashionclip-speed-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		f.Warnf("writing %d synthetic %d×%d JPEGs into %s", o.Synthetic, synth.JPEGWidth, synth.JPEGHeight, dir)
		if paths, err = synth.WriteJPEGs(ctx, dir, o.Synthetic, synth.JPEGWidth, synth.JPEGHeight); err != nil {
			return err
		}
		sourceName = fmt.Sprintf("%d synthetic %d×%d JPEGs", len(paths), synth.JPEGWidth, synth.JPEGHeight)
	}
	bar, run := benchProgress(f, "images", len(paths), o.In.BatchSize)
	run.OnFailure = func(it *bench.Item, err error) {
		if bar != nil {
			bar.Clear()
		}
		f.Errorf("%s: %v", it.Path, err)
	}
	rep, err := bench.RunSpeed(ctx, bench.Adapt(m), bench.SpeedOptions{RunOptions: run, Paths: paths,
		Decode: imageproc.Options{MaxPixels: o.In.MaxPixels, FastDecode: o.In.FastDecode}})
	if bar != nil {
		bar.Finish()
	}
	if err != nil {
		return err
	}
	rep.Model, rep.Source = f.ModelRef(), sourceName
	if format == output.JSON {
		err = bench.WriteJSON(f.IO.Out, rep)
	} else {
		err = rep.WriteTable(f.IO.Out)
	}
	if err != nil && !output.IsClosedPipe(err) {
		return err
	}
	if rep.Failed > 0 {
		return &cmdutil.ExitError{Code: cmdutil.ExitPartial, Err: fmt.Errorf("%d of %d images failed", rep.Failed, len(paths))}
	}
	return nil
}
