// Package preprocesscmd is `fashionclip preprocess`: flags, wiring and
// rendering (NewCmdX(f, runF), XOptions, xRun) over the library packages.
package preprocesscmd

import (
	"bufio"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/fashionclip/fashionclip/internal/cmdutil"
	"github.com/fashionclip/fashionclip/pkg/fashionclip"
	"github.com/fashionclip/fashionclip/pkg/imageproc"
	"github.com/fashionclip/fashionclip/pkg/npy"
)

// PreprocessOptions are preprocess's arguments.
type PreprocessOptions struct {
	f          *cmdutil.Factory
	Image      string
	Out        string
	FastDecode bool
	MaxPixels  int64
	modelSet   bool
}

// NewCmdPreprocess builds `fashionclip preprocess`.
func NewCmdPreprocess(f *cmdutil.Factory, runF func(*PreprocessOptions) error) *cobra.Command {
	opts := &PreprocessOptions{f: f}
	cmd := &cobra.Command{
		Use:   "preprocess [--model DIR] IMAGE -o OUT.npy",
		Short: "Write the model's input tensor for an image as a .npy file",
		Long: `Decode, orient, resize (Pillow-exact bicubic), crop and normalise one image exactly as
Hugging Face's CLIPImageProcessor does, and write the float32 [3,224,224] tensor as a
little-endian .npy file that numpy.load reads. Compare with Python:
CLIPImageProcessor.from_pretrained(...)(Image.open(p), return_tensors="np").pixel_values[0].

The preprocessing settings come from the model's preprocessor_config.json when --model
(or FASHIONCLIP_MODEL) names a model; otherwise CLIP's standard settings, which are
FashionCLIP's, are used without touching the network.`,
		Example: `  fashionclip preprocess shoe.jpg -o shoe.npy
  python -c "import numpy as np; print(np.load('shoe.npy').shape)"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Image = args[0]
			opts.modelSet = cmd.Flags().Changed("model") || f.Getenv(cmdutil.EnvModel) != ""
			if opts.Out == "" {
				return cmdutil.UsageError("-o OUT.npy is required")
			}
			if opts.Out == "-" && f.IO.IsStdoutTTY() {
				return cmdutil.UsageError("-o - would write binary .npy data to the terminal: redirect stdout (> x.npy) or give -o FILE")
			}
			if runF != nil {
				return runF(opts)
			}
			return preprocessRun(cmd, opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Out, "output", "o", "", "where to write the .npy file ('-' = stdout)")
	cmd.Flags().BoolVar(&opts.FastDecode, "fast-decode", false, "DCT-domain JPEG downscaling (not bit-exact)")
	cmd.Flags().Int64Var(&opts.MaxPixels, "max-pixels", 89_478_485, "refuse images with more pixels than this")
	return cmd
}

func preprocessRun(cmd *cobra.Command, o *PreprocessOptions) error {
	cfg := imageproc.DefaultConfig()
	if o.modelSet {
		src, err := o.f.ResolveModel(cmd.Context())
		if err != nil {
			return err
		}
		v, _ := fashionclip.ParseVariant(o.f.Flags.Variant)
		layout, err := fashionclip.DetectLayout(src.Dir, v)
		if err != nil {
			return err
		}
		if p, ok := layout.Find("preprocessor_config.json"); ok {
			if cfg, err = imageproc.LoadConfig(p); err != nil {
				return err
			}
		}
	}
	pre := imageproc.New(cfg, imageproc.Options{MaxPixels: o.MaxPixels, FastDecode: o.FastDecode})
	px, err := pre.File(o.Image)
	if err != nil {
		return err
	}
	shape := []int{3, cfg.CropHeight, cfg.CropWidth}
	if o.Out == "-" {
		w := bufio.NewWriter(o.f.IO.Out)
		if err := npy.WriteFloat32(w, px, shape...); err != nil {
			return cmdutil.QuietPipe(err)
		}
		return cmdutil.QuietPipe(w.Flush())
	}
	// Write beside the target and rename, so a failed run never leaves a partial file.
	tmp := o.Out + ".partial"
	fh, err := os.Create(tmp)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(fh)
	err = npy.WriteFloat32(w, px, shape...)
	if err == nil {
		err = w.Flush()
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", o.Out, err)
	}
	return os.Rename(tmp, o.Out)
}
