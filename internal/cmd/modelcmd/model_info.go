package modelcmd

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/fashionclip/fashionclip/internal/cmdutil"
	"github.com/fashionclip/fashionclip/internal/hub"
	"github.com/fashionclip/fashionclip/internal/output"
	"github.com/fashionclip/fashionclip/pkg/fashionclip"
)

type ModelInfoOptions struct {
	f      *cmdutil.Factory
	Target string // a repo id or a local folder
	Format output.Format
	format string
}

// NewCmdModelInfo builds `fashionclip model info`.
func NewCmdModelInfo(f *cmdutil.Factory, runF func(*ModelInfoOptions) error) *cobra.Command {
	opts := &ModelInfoOptions{f: f}
	cmd := &cobra.Command{
		Use:   "info [REPO[@REVISION] | FOLDER]",
		Short: "Show a model's files, sizes, layout and graph inputs/outputs",
		Long: `Show a model's files and sizes (from the Hub, or from the cache when offline or when the Hub
cannot be reached), which of them the --variant needs, the layout detected in the cached
snapshot, and, when the graphs are cached and ONNX Runtime loads, their input and output names.
A local model folder is accepted too.`,
		Example: `  fashionclip model info
  fashionclip model info Xenova/clip-vit-base-patch32 --variant quantized
  fashionclip model info ./my-model --format json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Target = f.ModelRef()
			if len(args) > 0 {
				opts.Target = args[0]
			}
			if st, err := os.Stat(opts.Target); err != nil || !st.IsDir() {
				if _, err := hub.ParseRef(opts.Target); err != nil {
					return cmdutil.UsageError("%q is neither a folder nor a repo id: %v", opts.Target, err)
				}
			}
			if err := checkVariant(f); err != nil {
				return err
			}
			format, err := cmdutil.ListingFormat(f, opts.format)
			if err != nil {
				return err
			}
			opts.Format = format
			if runF != nil {
				return runF(opts)
			}
			return modelInfoRun(cmd.Context(), opts)
		},
	}
	cmdutil.AddListingFormatFlag(cmd, &opts.format)
	return cmd
}

func modelInfoRun(ctx context.Context, o *ModelInfoOptions) error {
	f := o.f
	inspect := func(path string) ([]hub.IOName, []hub.IOName, error) {
		if _, err := f.Runtime(); err != nil {
			return nil, nil, fmt.Errorf("%w: %v", hub.ErrInspectUnavailable, err)
		}
		in, out, err := fashionclip.GraphSignature(path)
		return ioNames(in), ioNames(out), err
	}
	d, err := hub.NewClient(f.Hub()).Describe(ctx, o.Target, hub.DescribeOptions{Variant: f.Flags.Variant, Inspect: inspect})
	if err != nil {
		return err
	}
	if d.Repo != "" && d.Snapshot == "" {
		d.Notes = append(d.Notes, "not cached: run `fashionclip model pull "+o.Target+cmdutil.VariantArg(f.Flags.Variant)+"`")
	}
	return writeModelInfo(f, o.Format, d)
}

func ioNames(infos []fashionclip.GraphIO) []hub.IOName {
	out := make([]hub.IOName, len(infos))
	for i, x := range infos {
		out[i] = hub.IOName{Name: x.Name, Type: x.Type, Shape: x.Shape}
	}
	return out
}

func writeModelInfo(f *cmdutil.Factory, format output.Format, info *hub.Description) error {
	if format == output.JSON {
		return cmdutil.QuietPipe(output.NewRecordWriter(f.IO.Out, false).Write(info))
	}
	out := f.IO.Out
	if info.Repo != "" {
		fmt.Fprintf(out, "repo:      %s@%s", info.Repo, info.Revision)
		if info.Commit != "" {
			fmt.Fprintf(out, " (commit %s, from the %s)", info.Commit, info.Source)
		}
		fmt.Fprintln(out)
	}
	fmt.Fprintf(out, "variant:   %s\n", info.Variant)
	snapshot := info.Snapshot
	if snapshot == "" {
		snapshot = "not cached"
	}
	fmt.Fprintf(out, "folder:    %s\n", snapshot)
	if l := info.Layout; l != nil {
		if l.Kind == "split" {
			fmt.Fprintf(out, "layout:    split: %s + %s\n", l.Text, l.Vision)
		} else {
			fmt.Fprintf(out, "layout:    combined: %s\n", l.Combined)
		}
	}
	fmt.Fprintln(out)
	t := cmdutil.ListTable(out, format, "FILE", "SIZE", "LFS", "NEEDED", "CACHED")
	for _, mf := range info.Files {
		size := "?"
		if mf.Size >= 0 {
			size = hub.FormatBytes(mf.Size)
		}
		t.Append(mf.Path, size, cmdutil.YesNo(mf.LFS), cmdutil.YesNo(mf.Needed), cmdutil.YesNo(mf.Cached))
	}
	if err := t.Close(); err != nil {
		return cmdutil.QuietPipe(err)
	}
	if len(info.Graphs) > 0 {
		fmt.Fprintln(out)
		t := cmdutil.ListTable(out, format, "GRAPH", "KIND", "NAME", "TYPE", "SHAPE")
		for _, g := range info.Graphs {
			for _, x := range g.Inputs {
				t.Append(g.Path, "input", x.Name, x.Type, fmt.Sprint(x.Shape))
			}
			for _, x := range g.Outputs {
				t.Append(g.Path, "output", x.Name, x.Type, fmt.Sprint(x.Shape))
			}
		}
		if err := t.Close(); err != nil {
			return cmdutil.QuietPipe(err)
		}
	}
	for _, n := range info.Notes {
		f.Warnf("%s", n)
	}
	return nil
}
