// Package indexcmd holds `fashionclip index` and its subcommands (info,
// compact, merge, export, dupes, verify): flags, wiring and rendering
// (NewCmdX(f, runF), XOptions, xRun) over the library packages.
package indexcmd

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/fashionclip/fashionclip/internal/buildinfo"
	"github.com/fashionclip/fashionclip/internal/cmdutil"
	"github.com/fashionclip/fashionclip/internal/hub"
	"github.com/fashionclip/fashionclip/internal/index"
	"github.com/fashionclip/fashionclip/internal/output"
)

// NewCmdIndex builds `fashionclip index` and its subcommands. None of them
// loads a model.
func NewCmdIndex(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "index",
		Short: "Inspect, verify, compact, merge and export embedding indexes; find duplicates",
		Long: `An index is the folder 'fashionclip embed PATH... -o INDEX' writes: .npy chunks of
row-normalised vectors, Parquet tables of the live items and manifest.json (see
docs/index.md). These commands work on indexes without loading a model.`,
	}
	cmd.AddCommand(NewCmdIndexInfo(f, nil), NewCmdIndexCompact(f, nil), NewCmdIndexMerge(f, nil),
		NewCmdIndexExport(f, nil), NewCmdIndexDupes(f, nil), NewCmdIndexVerify(f, nil))
	return cmd
}

// IndexInfoOptions are `index info`'s arguments.
type IndexInfoOptions struct {
	f      *cmdutil.Factory
	Index  string
	Format string
}

// NewCmdIndexInfo builds `fashionclip index info`.
func NewCmdIndexInfo(f *cmdutil.Factory, runF func(*IndexInfoOptions) error) *cobra.Command {
	opts := &IndexInfoOptions{f: f}
	cmd := &cobra.Command{
		Use:   "info INDEX",
		Short: "Show an index's items, garbage, dtype and model",
		Long: `Print what an index holds: live items (images and texts), garbage rows (vectors of
replaced or deleted items, removed by 'index compact'), dtype, dimension, model and
files. A table on a terminal, JSON otherwise.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Index = args[0]
			if _, err := output.Resolve(opts.Format, false, output.Table, output.JSON); err != nil {
				return &cmdutil.ExitError{Code: cmdutil.ExitUsage, Err: err}
			}
			if runF != nil {
				return runF(opts)
			}
			return indexInfoRun(opts)
		},
	}
	cmdutil.AddListingFormatFlag(cmd, &opts.Format)
	return cmd
}

// InfoRecord is info's JSON form.
type InfoRecord struct {
	Index        string          `json:"index"`
	Items        int             `json:"items"`
	Images       int             `json:"images"`
	Texts        int             `json:"texts"`
	Garbage      int             `json:"garbage"`
	DType        string          `json:"dtype"`
	Dim          int             `json:"dim"`
	Model        index.ModelInfo `json:"model"`
	Root         string          `json:"root,omitempty"`
	Chunks       int             `json:"chunks"`
	Bytes        int64           `json:"bytes"`
	GarbageBytes int64           `json:"garbage_bytes"`
	Generation   int64           `json:"generation"`
	Version      int             `json:"format_version"`
	ToolVersion  string          `json:"tool_version,omitempty"`
	Preprocess   json.RawMessage `json:"preprocess,omitempty"`
}

func indexInfoRun(o *IndexInfoOptions) error {
	f := o.f
	info, err := index.Stat(o.Index)
	if err != nil {
		return err
	}
	// A damaged file does not hide what the rest says; verify tells more.
	for _, p := range info.Problems {
		f.Errorf("warning: %s", p)
	}
	m := info.Manifest
	rec := InfoRecord{Index: o.Index, Items: info.Items, Images: info.Items - info.Texts, Texts: info.Texts,
		Garbage: info.Garbage, DType: m.DType, Dim: m.Dim, Model: m.Model, Root: info.Root, Chunks: len(m.Chunks),
		Bytes: info.Bytes, GarbageBytes: info.GarbageBytes, Generation: m.Generation, Version: m.Version,
		ToolVersion: m.ToolVersion, Preprocess: m.Preprocess}
	format, _ := cmdutil.ListingFormat(f, o.Format) // checked when parsed
	if format == output.JSON {
		w := output.NewRecordWriter(f.IO.Out, false)
		return cmdutil.QuietPipe(w.Write(rec))
	}
	t := cmdutil.ListTable(f.IO.Out, format, "FIELD", "VALUE")
	t.Append("index", o.Index)
	t.Append("items", fmt.Sprintf("%d (%d images, %d texts)", rec.Items, rec.Images, rec.Texts))
	t.Append("garbage", fmt.Sprintf("%s (%s); 'fashionclip index compact' removes them", cmdutil.Plural(rec.Garbage, "row"), hub.FormatBytes(rec.GarbageBytes)))
	t.Append("dtype", rec.DType)
	t.Append("dimension", strconv.Itoa(rec.Dim))
	t.Append("model", m.Model.String())
	if rec.Root != "" {
		t.Append("root", rec.Root)
	}
	t.Append("chunks", fmt.Sprintf("%d (%s on disk)", rec.Chunks, hub.FormatBytes(rec.Bytes)))
	t.Append("generation", strconv.FormatInt(rec.Generation, 10))
	t.Append("written by", "fashionclip "+rec.ToolVersion)
	return cmdutil.QuietPipe(t.Close())
}

// IndexCompactOptions are `index compact`'s flags and arguments.
type IndexCompactOptions struct {
	f         *cmdutil.Factory
	Index     string
	Dtype     string
	ChunkRows int
}

// NewCmdIndexCompact builds `fashionclip index compact`.
func NewCmdIndexCompact(f *cmdutil.Factory, runF func(*IndexCompactOptions) error) *cobra.Command {
	opts := &IndexCompactOptions{f: f}
	cmd := &cobra.Command{
		Use:   "compact INDEX",
		Short: "Rewrite an index without its garbage rows",
		Long: `Rewrite the live rows of an index into new chunks (in commit order) and swap the
manifest once at the end, so that an interrupted compaction leaves the index as it
was. --dtype converts the vectors (float16 halves the size; float32 from float16 is
exact but cannot restore the precision float16 dropped).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Index = args[0]
			if opts.Dtype != "" && opts.Dtype != index.DTypeFloat32 && opts.Dtype != index.DTypeFloat16 {
				return cmdutil.UsageError("--dtype %q: want float32 or float16", opts.Dtype)
			}
			if opts.ChunkRows < 1 {
				return cmdutil.UsageError("--chunk-rows must be at least 1")
			}
			if runF != nil {
				return runF(opts)
			}
			st, err := index.Compact(opts.Index, index.CompactOptions{DType: opts.Dtype, ChunkRows: opts.ChunkRows})
			if err != nil {
				return err
			}
			f.Warnf("%s: %s in %s (were %s with %s)", opts.Index, cmdutil.Plural(st.Items, "item"), cmdutil.Plural(st.ChunksAfter, "chunk"),
				cmdutil.Plural(st.ChunksBefore, "chunk"), cmdutil.Plural(st.GarbageBefore, "garbage row"))
			return nil
		},
	}
	cmd.Flags().StringVar(&opts.Dtype, "dtype", "", "convert to float32 or float16 (default: keep)")
	cmd.Flags().IntVar(&opts.ChunkRows, "chunk-rows", index.DefaultChunkRows, "rows per chunk")
	return cmd
}

// IndexMergeOptions are `index merge`'s flags and arguments.
type IndexMergeOptions struct {
	f      *cmdutil.Factory
	Inputs []string
	Output string
	Dtype  string
}

// NewCmdIndexMerge builds `fashionclip index merge`.
func NewCmdIndexMerge(f *cmdutil.Factory, runF func(*IndexMergeOptions) error) *cobra.Command {
	opts := &IndexMergeOptions{f: f}
	cmd := &cobra.Command{
		Use:   "merge INDEX... -o OUT",
		Short: "Join indexes (e.g. the shards of a sharded embed) into one",
		Long: `Add every live item of the input indexes to OUT (created when absent; an existing OUT
keeps its items). All must come from the same model. An item found in more than one
input keeps the vector of the last one. Merging the shard indexes of
'embed --shard K/N' gives the same items and vectors as one unsharded run.`,
		Example: `  fashionclip index merge shard-*.idx -o catalog.idx`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Inputs = args
			if opts.Output == "" {
				return cmdutil.UsageError("give the output index with -o OUT")
			}
			if opts.Dtype != "" && opts.Dtype != index.DTypeFloat32 && opts.Dtype != index.DTypeFloat16 {
				return cmdutil.UsageError("--dtype %q: want float32 or float16", opts.Dtype)
			}
			if runF != nil {
				return runF(opts)
			}
			st, err := index.Merge(opts.Output, opts.Inputs, index.MergeOptions{DType: opts.Dtype, ToolVersion: buildinfo.Version})
			if err != nil {
				return err
			}
			if st.Duplicates > 0 {
				f.Warnf("%s found in more than one input; the last input's vectors were kept", cmdutil.Plural(st.Duplicates, "item"))
			}
			f.Warnf("%s: %s from %s", opts.Output, cmdutil.Plural(st.Items, "item"), cmdutil.Plural(len(opts.Inputs), "index"))
			return nil
		},
	}
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", "the index to write (required)")
	cmd.Flags().StringVar(&opts.Dtype, "dtype", "", "dtype of a new OUT: float32 or float16 (default: the first input's)")
	return cmd
}
