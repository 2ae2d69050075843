package modelcmd

import (
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fashionclip/fashionclip/internal/cmdutil"
	"github.com/fashionclip/fashionclip/internal/hub"
	"github.com/fashionclip/fashionclip/internal/output"
)

// ModelListOptions are `model list`'s flags.
type ModelListOptions struct {
	f      *cmdutil.Factory
	Format output.Format
	format string
}

// NewCmdModelList builds `fashionclip model list`.
func NewCmdModelList(f *cmdutil.Factory, runF func(*ModelListOptions) error) *cobra.Command {
	opts := &ModelListOptions{f: f}
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the models in the Hugging Face cache",
		Long: `List the model repos in the Hugging Face cache, with their revisions (refs), snapshots and
size on disk (each blob counted once, as huggingface-cli scan-cache does). Repos downloaded by
Python are listed too.`,
		Example: `  fashionclip model list
  fashionclip model list --format json | jq -r '.[].repo'`,
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
			return modelListRun(opts)
		},
	}
	cmdutil.AddListingFormatFlag(cmd, &opts.format)
	return cmd
}

func modelListRun(o *ModelListOptions) error {
	f := o.f
	cache := f.Hub().CacheDir
	repos, err := hub.List(cache)
	if err != nil {
		return fmt.Errorf("read the Hugging Face cache %s: %w", cache, err)
	}
	if o.Format == output.JSON {
		w := output.NewRecordWriter(f.IO.Out, true)
		for _, r := range repos {
			if err := w.Write(r); err != nil {
				return cmdutil.QuietPipe(err)
			}
		}
		return cmdutil.QuietPipe(w.Close())
	}
	if len(repos) == 0 {
		f.Warnf("no models in %s; fetch one with `fashionclip model pull`", cache)
		return nil
	}
	t := cmdutil.ListTable(f.IO.Out, o.Format, "REPO", "REVISIONS", "SNAPSHOTS", "SIZE", "PATH")
	for _, r := range repos {
		revs := make([]string, 0, len(r.Refs))
		for rev, commit := range r.Refs {
			revs = append(revs, rev+"="+shortCommit(commit))
		}
		sort.Strings(revs)
		if len(revs) == 0 {
			revs = []string{"-"}
		}
		t.Append(r.Repo, strings.Join(revs, " "), fmt.Sprint(len(r.Snapshots)), hub.FormatBytes(r.Size), r.Dir)
	}
	return cmdutil.QuietPipe(t.Close())
}
