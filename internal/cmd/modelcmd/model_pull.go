package modelcmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fashionclip/fashionclip/internal/cmdutil"
	"github.com/fashionclip/fashionclip/internal/hub"
)

// ModelPullOptions are `model pull`'s arguments.
type ModelPullOptions struct {
	f   *cmdutil.Factory
	Ref hub.Ref
}

// NewCmdModelPull builds `fashionclip model pull`.
func NewCmdModelPull(f *cmdutil.Factory, runF func(*ModelPullOptions) error) *cobra.Command {
	opts := &ModelPullOptions{f: f}
	cmd := &cobra.Command{
		Use:   "pull [REPO[@REVISION]]",
		Short: "Download a model (the graphs of one variant, tokenizer, configs) into the cache",
		Long: `Download a model into the Hugging Face cache and print its snapshot folder.

The Hub is asked which commit the revision (default: main) points at; files already cached are
not downloaded again, interrupted downloads resume, and every file is checked against its
sha256 (LFS) or git hash before it is linked. Without REPO, --model or $FASHIONCLIP_MODEL or
the default model is pulled.`,
		Example: `  fashionclip model pull
  fashionclip model pull Xenova/clip-vit-base-patch32@main --variant fp16
  HF_TOKEN=hf_xxx fashionclip model pull my-org/private-clip`,
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
			return modelPullRun(cmd.Context(), opts)
		},
	}
	return cmd
}

func modelPullRun(ctx context.Context, o *ModelPullOptions) error {
	f := o.f
	c := hub.NewClient(f.Hub())
	bar := cmdutil.NewPullProgress(f, o.Ref.String())
	snap, err := c.Pull(ctx, o.Ref, hub.PullOptions{Variant: f.Flags.Variant, Refresh: true, Progress: bar})
	cmdutil.CloseProgress(bar)
	if err != nil {
		return err
	}
	for _, w := range snap.Warnings {
		f.Warnf("%s", w)
	}
	switch {
	case !snap.Network:
		f.Warnf("%s is cached (commit %s; offline, not checked against the Hub)", o.Ref, shortCommit(snap.Commit))
	case len(snap.Fetched) == 0:
		f.Warnf("%s is up to date (commit %s)", o.Ref, shortCommit(snap.Commit))
	default:
		f.Warnf("pulled %s (commit %s): %d files, %s", o.Ref, shortCommit(snap.Commit), len(snap.Fetched), hub.FormatBytes(snap.Bytes))
	}
	_, err = fmt.Fprintln(f.IO.Out, snap.Dir)
	return cmdutil.QuietPipe(err)
}

func shortCommit(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}
