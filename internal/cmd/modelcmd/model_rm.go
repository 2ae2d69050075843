package modelcmd

import (
	"bufio"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fashionclip/fashionclip/internal/cmdutil"
	"github.com/fashionclip/fashionclip/internal/graphcache"
	"github.com/fashionclip/fashionclip/internal/hub"
)

// ModelRmOptions are `model rm`'s arguments.
type ModelRmOptions struct {
	f   *cmdutil.Factory
	Ref hub.Ref
	Yes bool
}

// NewCmdModelRm builds `fashionclip model rm`.
func NewCmdModelRm(f *cmdutil.Factory, runF func(*ModelRmOptions) error) *cobra.Command {
	opts := &ModelRmOptions{f: f}
	cmd := &cobra.Command{
		Use:     "rm REPO[@REVISION]",
		Aliases: []string{"remove"},
		Short:   "Delete a cached model, or one revision of it",
		Long: `Delete a model from the Hugging Face cache. REPO alone removes every revision; REPO@REVISION
removes that snapshot and the blobs no other snapshot uses.`,
		Example: `  fashionclip model rm Xenova/clip-vit-base-patch32
  fashionclip model rm patrickjohncyh/fashion-clip@v1.0`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := hub.ParseRef(args[0])
			if err != nil {
				return cmdutil.UsageError("%v", err)
			}
			opts.Ref = ref
			if runF != nil {
				return runF(opts)
			}
			return modelRmRun(opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation on a terminal")
	return cmd
}

func modelRmRun(o *ModelRmOptions) error {
	if io := o.f.IO; !o.Yes && io.IsStdinTTY() && io.IsStderrTTY() {
		fmt.Fprintf(io.ErrOut, "Delete %s from the Hugging Face cache (%s)? [y/N] ", o.Ref, o.f.Hub().CacheDir)
		answer, _ := bufio.NewReader(io.In).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			return errors.New("nothing removed")
		}
	}
	res, err := hub.Remove(o.f.Hub().CacheDir, o.Ref)
	if err != nil {
		return err
	}
	// The graphs derived from the deleted blobs go too.
	if gc, err := cmdutil.GraphCache(o.f); err == nil && len(res.Blobs) > 0 {
		keys := make([]string, len(res.Blobs))
		for i, sha := range res.Blobs {
			keys[i] = graphcache.BlobKey(sha)
		}
		freed, err := gc.RemoveSources(keys...)
		res.Freed += freed
		if err != nil {
			o.f.Warnf("derived graphs: %v", err)
		}
	}
	what := cmdutil.Plural(len(res.Commits), "snapshot")
	if res.Whole {
		what += ", the whole repo"
	}
	o.f.Warnf("removed %s (%s), %s freed", o.Ref, what, hub.FormatBytes(res.Freed))
	return nil
}
