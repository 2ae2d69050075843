package indexcmd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/fashionclip/fashionclip/internal/buildinfo"
	"github.com/fashionclip/fashionclip/internal/cmdutil"
	"github.com/fashionclip/fashionclip/internal/export"
)

// IndexExportOptions are `index export`'s flags and arguments.
type IndexExportOptions struct {
	f      *cmdutil.Factory
	Inputs []string
	export.Options
}

// NewCmdIndexExport builds `fashionclip index export`.
func NewCmdIndexExport(f *cmdutil.Factory, runF func(*IndexExportOptions) error) *cobra.Command {
	opts := &IndexExportOptions{f: f}
	cmd := &cobra.Command{
		Use:   "export INDEX... -o OUT",
		Short: "Write an index's vectors for vector databases (Parquet, JSON Lines, npy, pgvector)",
		Long: `Write the live items of one index, or of several (the shards of 'embed --shard K/N'),
as one dataset, without loading a model. Every row has a stable id (the same in every
export), path or text, kind, size, mtime, sha256 when known, and the unit-length
embedding. Shards must share model, variant and dimension; an item in two inputs is
refused (merge overlapping indexes first).

  parquet   OUT is a folder of part-00000.parquet, ... (LanceDB, Milvus bulk insert,
            DuckDB FLOAT[d], Pinecone import, pandas)
  jsonl     OUT is a file, - for stdout (Qdrant, Weaviate, Elasticsearch bulk loaders)
  npy       OUT is a folder in clip-retrieval's layout (autofaiss build_index)
  pgvector  OUT is a psql script, - for stdout: CREATE TABLE, then COPY ... FROM STDIN

An earlier export in OUT is refused unless --force. Worked examples for each engine,
and how its similarity maps to our cosine: docs/export.md.`,
		Example: `  fashionclip index export catalog.idx -o catalog.parquet/
  fashionclip index export shard-*.idx -o export/ --format parquet --dtype float16
  fashionclip index export catalog.idx -o - --format pgvector --pg-type 'real[]' | psql -v ON_ERROR_STOP=1`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Inputs = args
			if opts.Out == "" {
				return cmdutil.UsageError("give the output with -o OUT (a folder for parquet and npy, a file or - for jsonl and pgvector)")
			}
			if runF != nil {
				return runF(opts)
			}
			return indexExportRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Out, "output", "o", "", "output folder (parquet, npy) or file (jsonl, pgvector; - for stdout)")
	fl.StringVar(&opts.Format, "format", export.FormatParquet, "parquet, jsonl, npy or pgvector")
	fl.StringVar(&opts.DType, "dtype", "", "float32 (default) or float16")
	fl.StringVar(&opts.PGType, "pg-type", export.PGVector, "pgvector column type: vector, halfvec or real[] (no extension needed)")
	fl.StringVar(&opts.PGTable, "pg-table", "items", "pgvector table name")
	fl.StringVar(&opts.Compression, "compression", "snappy", "parquet compression of the small columns: snappy, zstd or none")
	fl.IntVar(&opts.RowGroupRows, "row-group-rows", 0, "rows per parquet row group (default: 128 MiB of vectors)")
	fl.IntVar(&opts.PartRows, "part-rows", 0, "rows per parquet or npy file (default 1048576)")
	fl.BoolVar(&opts.Force, "force", false, "replace an earlier export in OUT")
	return cmd
}

func indexExportRun(ctx context.Context, o *IndexExportOptions) error {
	f := o.f
	if o.Out == "-" || o.Out == "" {
		o.Out = ""
		o.W = f.IO.Out
	}
	o.ToolVersion = buildinfo.Version
	var bar *progressbar.ProgressBar
	if f.IO.ShowProgress() {
		bar = progressbar.NewOptions(-1, progressbar.OptionSetWriter(f.IO.ProgressWriter()),
			progressbar.OptionSetDescription("export"), progressbar.OptionShowCount(),
			progressbar.OptionShowIts(), progressbar.OptionSetItsString("item"),
			progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
		o.Progress = exportBar{bar}
	}
	st, err := export.Export(ctx, o.Inputs, o.Options)
	if bar != nil {
		bar.Finish()
	}
	var oe *export.OptionError
	switch {
	case errors.As(err, &oe):
		return cmdutil.UsageError("--%s: %v", flagOfOption(oe.Option), err)
	case errors.Is(err, export.ErrOutputExists):
		return fmt.Errorf("%s: %w; pass --force to replace it", o.Out, err)
	case err != nil:
		return err
	}
	where := o.Out
	if where == "" {
		where = "stdout"
	}
	f.Warnf("exported %s (%d images, %d texts) to %s in %s", cmdutil.Plural(st.Items, "item"), st.Images, st.Texts,
		where, cmdutil.Plural(max(len(st.Files), 1), "file"))
	return nil
}

// flagOfOption names the flag of an export.OptionError's option.
func flagOfOption(option string) string {
	if option == "PostgreSQL type" {
		return "pg-type"
	}
	return strings.ReplaceAll(strings.ToLower(option), " ", "-")
}

// exportBar shows export progress on a progress bar.
type exportBar struct{ bar *progressbar.ProgressBar }

func (b exportBar) Start(items int) { b.bar.ChangeMax(items) }
func (b exportBar) Add(n int)       { b.bar.Add(n) }
