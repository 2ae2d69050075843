// Package modelcmd holds `fashionclip model` and its subcommands (pull,
// list, info, path, rm, quantize): flags, wiring and rendering (NewCmdX(f,
// runF), XOptions, xRun) over the library packages.
package modelcmd

import (
	"github.com/spf13/cobra"

	"github.com/fashionclip/fashionclip/internal/cmdutil"
	"github.com/fashionclip/fashionclip/internal/hub"
)

// NewCmdModel builds `fashionclip model`.
func NewCmdModel(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "model",
		Short: "Download and manage models in the Hugging Face cache",
		Long: `Download and manage FashionCLIP models in the Hugging Face cache.

Models live where huggingface_hub keeps them ($HF_HUB_CACHE, else $HF_HOME/hub, else
~/.cache/huggingface/hub), in the same layout, so a model downloaded with Python is used here
without network and the other way round. Only the ONNX graphs of the chosen --variant and the
tokenizer and config files are downloaded.

Any command given --model owner/name pulls the model on first use. Later runs use the cached
snapshot without asking the Hub while it is complete; 'model pull' asks the Hub whether the
revision moved and fetches what changed. With --offline or HF_HUB_OFFLINE=1 nothing touches
the network. HF_TOKEN authenticates for gated or private repos; HF_ENDPOINT picks a mirror.`,
		Example: `  fashionclip model pull Xenova/clip-vit-base-patch32 --variant quantized
  fashionclip model list
  fashionclip model info patrickjohncyh/fashion-clip --format json
  fashionclip classify --model Xenova/clip-vit-base-patch32 --labels shirt,dress photo.jpg`,
	}
	cmd.AddCommand(NewCmdModelPull(f, nil), NewCmdModelList(f, nil), NewCmdModelInfo(f, nil),
		NewCmdModelRm(f, nil), NewCmdModelPath(f, nil))
	cmd.AddCommand(NewCmdModelQuantize(f, nil))
	return cmd
}

// parseRepoArg reads an owner/name[@rev] argument (default: --model or the
// default model).
func parseRepoArg(f *cmdutil.Factory, args []string) (hub.Ref, error) {
	s := f.ModelRef()
	if len(args) > 0 {
		s = args[0]
	}
	ref, err := hub.ParseRef(s)
	if err != nil {
		return hub.Ref{}, cmdutil.UsageError("%v", err)
	}
	return ref, nil
}

func checkVariant(f *cmdutil.Factory) error {
	if _, err := hub.VariantSuffix(f.Flags.Variant); err != nil {
		return cmdutil.UsageError("--variant: %v", err)
	}
	return nil
}

// ModelInfoOptions are `model info`'s arguments.
