package indexcmd

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fashionclip/fashionclip/internal/cmdutil"
	"github.com/fashionclip/fashionclip/internal/index"
	"github.com/fashionclip/fashionclip/internal/output"
)

// IndexVerifyOptions are `index verify`'s flags and arguments.
type IndexVerifyOptions struct {
	f       *cmdutil.Factory
	Indexes []string
	Deep    bool
	Format  string
}

// NewCmdIndexVerify builds `fashionclip index verify`.
func NewCmdIndexVerify(f *cmdutil.Factory, runF func(*IndexVerifyOptions) error) *cobra.Command {
	opts := &IndexVerifyOptions{f: f}
	cmd := &cobra.Command{
		Use:   "verify INDEX...",
		Short: "Check that indexes are intact (--deep: every byte)",
		Long: `Check each index: the manifest is consistent; every chunk is there with the
manifest's dtype, dimension and row count and the size its header implies; every
table reads, has the manifest's row count, names its chunk and points at distinct
rows of it; no item is live in two tables. --deep also reads every byte: files
with a recorded SHA-256 must match it, chunks without one (version 1 indexes) must
hold finite unit vectors in their live rows.

Each problem is printed on stdout as 'FILE: PROBLEM' (-f json: one record per
index with its problems). The exit status is 0 when every index is healthy and 1
when any has a problem. Like a search, verify takes no lock: run it while an
embed writes the index.`,
		Example: `  fashionclip index verify catalog.idx
  fashionclip index verify --deep shard-*.idx`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Indexes = args
			if opts.Format != "" {
				if _, err := output.Resolve(opts.Format, false, output.JSON); err != nil {
					return &cmdutil.ExitError{Code: cmdutil.ExitUsage, Err: err}
				}
			}
			if runF != nil {
				return runF(opts)
			}
			return indexVerifyRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Deep, "deep", false, "read every byte: compare recorded SHA-256s, check vectors without one")
	cmd.Flags().StringVarP(&opts.Format, "format", "f", "", "json for one record per index (default: one 'FILE: PROBLEM' line per problem)")
	return cmd
}

func indexVerifyRun(ctx context.Context, o *IndexVerifyOptions) error {
	f := o.f
	records := output.NewRecordWriter(f.IO.Out, false)
	var damaged []string
	for _, dir := range o.Indexes {
		r, err := index.Verify(ctx, dir, o.Deep)
		if ctx.Err() != nil {
			return ctx.Err() // interrupted: nothing to conclude
		}
		if err != nil {
			// Not an index at all (or an unreadable folder): a problem of
			// this argument; the other indexes are still checked.
			r.Problems = append(r.Problems, index.Problem{File: dir, Problem: strings.TrimPrefix(err.Error(), dir+": ")})
		}
		if o.Format != "" {
			if err := records.Write(r); err != nil {
				return cmdutil.QuietPipe(err)
			}
		} else {
			for _, p := range r.Problems {
				if _, err := fmt.Fprintln(f.IO.Out, p.String()); err != nil {
					return cmdutil.QuietPipe(err)
				}
			}
		}
		if !r.Healthy() {
			damaged = append(damaged, dir)
			f.Warnf("%s: %s", dir, cmdutil.Plural(len(r.Problems), "problem"))
			continue
		}
		how := "headers and tables checked"
		if o.Deep {
			how = fmt.Sprintf("%s matched their SHA-256", cmdutil.Plural(r.Hashed, "file"))
			if r.Scanned > 0 {
				how += fmt.Sprintf(", the vectors of %s without one were checked", cmdutil.Plural(r.Scanned, "chunk"))
			}
		}
		f.Warnf("%s: healthy: %s in %s (generation %d); %s", dir, cmdutil.Plural(r.Items, "item"), cmdutil.Plural(r.Chunks, "chunk"), r.Generation, how)
	}
	switch {
	case len(damaged) == 0:
		return nil
	case len(o.Indexes) == 1:
		return &cmdutil.ExitError{Code: cmdutil.ExitFatal, Err: fmt.Errorf("index %s is damaged", damaged[0])}
	}
	return &cmdutil.ExitError{Code: cmdutil.ExitFatal, Err: fmt.Errorf("%d of %d indexes are damaged: %s", len(damaged), len(o.Indexes), strings.Join(damaged, ", "))}
}
