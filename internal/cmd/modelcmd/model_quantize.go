package modelcmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fashionclip/fashionclip/internal/cmdutil"
	"github.com/fashionclip/fashionclip/internal/hub"
	"github.com/fashionclip/fashionclip/internal/output"
	"github.com/fashionclip/fashionclip/internal/samples"
	"github.com/fashionclip/fashionclip/internal/source"
	"github.com/fashionclip/fashionclip/pkg/fashionclip"
)

// ModelQuantizeOptions are `model quantize`'s arguments.
type ModelQuantizeOptions struct {
	f      *cmdutil.Factory
	Out    string
	Check  []string // image files or folders; none: the built-in samples
	Labels []string
	Force  bool
	Format output.Format
	format string
}

// NewCmdModelQuantize builds `fashionclip model quantize`.
func NewCmdModelQuantize(f *cmdutil.Factory, runF func(*ModelQuantizeOptions) error) *cobra.Command {
	opts := &ModelQuantizeOptions{f: f}
	cmd := &cobra.Command{
		Use:   "quantize -o DIR",
		Short: "Write an int8 copy of a model and measure how close it stays to fp32",
		Long: `Derive int8 text and vision graphs from the model's fp32 graphs and write them as a model
folder: DIR/onnx/text_model_int8.onnx, DIR/onnx/vision_model_int8.onnx and the model's config
and tokenizer files. Load it with --model DIR --variant int8, ship it or serve it.

Weights become int8 with one scale per output channel; activations are quantized on every run.
Then both models embed the same inputs and the command prints the cosine between their
embeddings (min and mean) for texts and images, and how often the best label agrees. Without
--check it uses a few sample images built into fashionclip; check on your own images before
you rely on int8 (--check FOLDER, or 'bench accuracy --variant int8' next to fp32).

--variant int8 on any command derives the same graphs into the cache on first use; this
command is for a folder you keep.`,
		Example: `  fashionclip model quantize -o fashion-clip-int8
  fashionclip model quantize --model ./my-clip -o my-clip-int8 --check photos/ --labels dress,shirt,boot
  fashionclip classify --model fashion-clip-int8 --variant int8 --labels dress,shirt photos/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Out == "" {
				return cmdutil.UsageError("-o DIR is required: the folder to write")
			}
			if v, _ := fashionclip.ParseVariant(f.Flags.Variant); v != fashionclip.FP32 {
				return cmdutil.UsageError("--variant %s: model quantize reads the model's fp32 graphs; leave --variant out", v)
			}
			format, err := output.Resolve(opts.format, f.IO.IsStdoutTTY(), output.Table, output.JSON)
			if err != nil {
				return cmdutil.UsageError("%v", err)
			}
			opts.Format = format
			if runF != nil {
				return runF(opts)
			}
			return modelQuantizeRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Out, "output", "o", "", "the model folder to write")
	fl.StringSliceVar(&opts.Check, "check", nil, "image files or folders to measure fidelity on (default: built-in samples)")
	fl.StringSliceVarP(&opts.Labels, "labels", "l", nil, "comma-separated labels for top-1 agreement (default with the samples: what they show)")
	fl.BoolVar(&opts.Force, "force", false, "replace int8 graphs already in the folder")
	fl.StringVarP(&opts.format, "format", "f", "", "table or json (default: table on a terminal, json in a pipe)")
	return cmd
}

// quantizeTexts are embedded by both models besides the label prompts:
// queries of the kinds search sees.
var quantizeTexts = []string{
	"red leather ankle boot", "a white cotton t-shirt with a round neck", "striped summer dress",
	"black handbag with a gold chain", "blue denim jeans, slim fit", "running shoes",
}

// QuantizeReport is what the command prints.
type QuantizeReport struct {
	Folder      string                  `json:"folder"`
	TextGraph   string                  `json:"text_graph"`
	VisionGraph string                  `json:"vision_graph"`
	Bytes       int64                   `json:"bytes"`
	Seconds     float64                 `json:"seconds"`
	Texts       fashionclip.CosineStats `json:"texts"`
	Images      fashionclip.CosineStats `json:"images"`
	Top1Agree   int                     `json:"top1_agree"`
	Top1Of      int                     `json:"top1_of"`
	Samples     bool                    `json:"builtin_samples"`
}

func modelQuantizeRun(ctx context.Context, o *ModelQuantizeOptions) error {
	f := o.f
	fp, err := f.LoadModel(ctx, "", func(opts *fashionclip.Options) { opts.Variant = fashionclip.FP32 })
	if err != nil {
		return err
	}
	defer fp.Close()
	t0 := time.Now()
	w, err := fp.WriteInt8Folder(o.Out, o.Force)
	var exists *fashionclip.FolderExistsError
	if errors.As(err, &exists) {
		return cmdutil.UsageError("%v: pass --force to replace it", err)
	}
	if err != nil {
		return err
	}
	rep := QuantizeReport{Folder: w.Dir, TextGraph: w.Text, VisionGraph: w.Vision, Seconds: time.Since(t0).Seconds()}
	for _, p := range []string{w.Text, w.Vision} {
		if st, err := os.Stat(p); err == nil {
			rep.Bytes += st.Size()
		}
	}
	f.Warnf("wrote %s in %.1fs: int8 graphs of %s (the quantized weights went from %s to %s); load it with --model %s --variant int8",
		w.Dir, rep.Seconds, hub.FormatBytes(rep.Bytes), hub.FormatBytes(w.TextFacts.FloatBytes+w.VisionFacts.FloatBytes),
		hub.FormatBytes(w.TextFacts.Int8Bytes+w.VisionFacts.Int8Bytes), w.Dir)

	q, err := f.LoadModel(ctx, o.Out, func(opts *fashionclip.Options) { opts.Variant = fashionclip.Int8 })
	if err != nil {
		return fmt.Errorf("load the written folder: %w", err)
	}
	defer q.Close()
	in := fashionclip.CompareInputs{Labels: o.Labels}
	unread := 0
	if len(o.Check) == 0 {
		rep.Samples = true
		imgs, err := samples.Images()
		if err != nil {
			return err
		}
		for _, img := range imgs {
			in.Images = append(in.Images, fashionclip.ImageInput{Name: img.Name, Data: img.Data})
		}
		if len(in.Labels) == 0 {
			in.Labels = samples.Labels()
		}
	} else {
		err := source.Walk(ctx, o.Check, source.Options{MaxDepth: -1}, func(it source.Item) error {
			if it.Err != nil {
				f.Errorf("%s: %v", it.Path, it.Err)
				unread++
				return nil
			}
			in.Images = append(in.Images, fashionclip.ImageInput{Name: it.Path, Path: it.Path})
			return nil
		})
		if err != nil {
			return err
		}
		if len(in.Images) == 0 {
			return cmdutil.UsageError("--check: no images in %s", strings.Join(o.Check, ", "))
		}
	}
	in.Texts = append(in.Texts, quantizeTexts...)
	for _, l := range in.Labels {
		in.Texts = append(in.Texts, fashionclip.Prompt(fashionclip.DefaultTemplate, l))
	}
	fid, err := fashionclip.Compare(ctx, fp, q, in)
	if err != nil {
		return err
	}
	for _, r := range fid.Failed {
		f.Errorf("%s: %v", r.Item.Name, r.Err)
	}
	rep.Texts, rep.Images, rep.Top1Agree, rep.Top1Of = fid.Texts, fid.Images, fid.Top1Agree, fid.Top1Of
	if err := writeQuantizeReport(f, o.Format, rep); err != nil {
		return cmdutil.QuietPipe(err)
	}
	if rep.Samples {
		f.Warnf("measured on the %d built-in sample images; measure on your own with --check FOLDER", rep.Images.N)
	}
	if n := unread + len(fid.Failed); n > 0 {
		return &cmdutil.ExitError{Code: cmdutil.ExitPartial, Err: fmt.Errorf("%d of %d images failed (the figures leave them out)", n, unread+len(in.Images))}
	}
	return nil
}

func writeQuantizeReport(f *cmdutil.Factory, format output.Format, rep QuantizeReport) error {
	if format == output.JSON {
		return output.NewRecordWriter(f.IO.Out, false).Write(rep)
	}
	t := output.NewTableWriter(f.IO.Out, "INT8 VS FP32", "N", "MIN COSINE", "MEAN COSINE")
	for _, r := range []struct {
		name string
		s    fashionclip.CosineStats
	}{{"texts", rep.Texts}, {"images", rep.Images}} {
		t.Append(r.name, fmt.Sprint(r.s.N), fmt.Sprintf("%.5f", r.s.Min), fmt.Sprintf("%.5f", r.s.Mean))
	}
	if err := t.Close(); err != nil {
		return err
	}
	if rep.Top1Of > 0 {
		_, err := fmt.Fprintf(f.IO.Out, "top-1 label agreement: %d of %d images (%.1f%%)\n", rep.Top1Agree, rep.Top1Of, 100*float64(rep.Top1Agree)/float64(rep.Top1Of))
		return err
	}
	return nil
}
