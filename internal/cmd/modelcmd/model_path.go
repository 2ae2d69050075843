package modelcmd

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fashionclip/fashionclip/internal/cmdutil"
	"github.com/fashionclip/fashionclip/internal/hub"
)

// ModelPathOptions are `model path`'s arguments.
type ModelPathOptions struct {
	f   *cmdutil.Factory
	Ref hub.Ref
}

// NewCmdModelPath builds `fashionclip model path`.
func NewCmdModelPath(f *cmdutil.Factory, runF func(*ModelPathOptions) error) *cobra.Command {
	opts := &ModelPathOptions{f: f}
	cmd := &cobra.Command{
		Use:   "path [REPO[@REVISION]]",
		Short: "Print the cached snapshot folder of a model (never downloads)",
		Long: `Print the snapshot folder of a cached model, ready for --model or for other tools. Nothing is
downloaded: when the cache lacks the model (or the --variant's graphs), the command says what is
missing and exits 1.`,
		Example: `  fashionclip model path patrickjohncyh/fashion-clip
  ls "$(fashionclip model path Xenova/clip-vit-base-patch32 --variant quantized)/onnx"`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := parseRepoArg(f, args)
			if err != nil {
				return err
			}
			if err := checkVariant(f); err != nil {
				return err
			}
			opts.Ref = ref
			if runF != nil {
				return runF(opts)
			}
			return modelPathRun(opts)
		},
	}
	return cmd
}

func modelPathRun(o *ModelPathOptions) error {
	snap, err := hub.NewClient(o.f.Hub()).Local(o.Ref, o.f.Flags.Variant)
	if err != nil {
		if errors.Is(err, hub.ErrNotCached) {
			return &cmdutil.ExitError{Code: cmdutil.ExitFatal, Err: err}
		}
		return err
	}
	_, err = fmt.Fprintln(o.f.IO.Out, snap.Dir)
	return cmdutil.QuietPipe(err)
}
