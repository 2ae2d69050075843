package indexcmd

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/fashionclip/fashionclip/internal/cmdutil"
	"github.com/fashionclip/fashionclip/internal/dupes"
	"github.com/fashionclip/fashionclip/internal/index"
	"github.com/fashionclip/fashionclip/internal/output"
	"github.com/fashionclip/fashionclip/internal/report"
	"github.com/fashionclip/fashionclip/internal/thumbnail"
)

// IndexDupesOptions are `index dupes`'s flags and arguments.
type IndexDupesOptions struct {
	f      *cmdutil.Factory
	Index  string
	Format string
	// Report is --report FILE: the groups as an HTML page with thumbnails.
	Report string
	dupes.Options
}

// NewCmdIndexDupes builds `fashionclip index dupes`.
func NewCmdIndexDupes(f *cmdutil.Factory, runF func(*IndexDupesOptions) error) *cobra.Command {
	opts := &IndexDupesOptions{f: f}
	cmd := &cobra.Command{
		Use:   "dupes INDEX",
		Short: "Find duplicate images: byte-identical copies and near duplicates",
		Long: fmt.Sprintf(`Group the images of an index that are copies of each other, without loading a model.

Exact groups ("exact": true) hold byte-identical files: SHA-256s recorded by
'embed --hash', or computed now for the files that could be copies. Near groups are
connected components of the pairs whose cosine is at or above --threshold: two
images share a group when a chain of such pairs links them; a group's max_distance
(1 - its smallest cosine) shows when it chains too far. Texts are not compared.

--threshold defaults to %g, a provisional value: it could not be measured on the real
FashionCLIP weights. Tune it on known copies of your catalogue (docs/export.md,
"Tuning the threshold").

One record per group, exact groups first, then largest first; members[0] is the
representative and each score is the cosine with it.`, dupes.DefaultThreshold),
		Example: `  fashionclip index dupes catalog.idx
  fashionclip index dupes catalog.idx --threshold 0.98 -f table
  fashionclip index dupes catalog.idx --exact -f tsv
  fashionclip index dupes catalog.idx --report dupes.html     # look at the groups`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Index = args[0]
			if _, err := output.Resolve(opts.Format, false, dupesFormats...); err != nil {
				return &cmdutil.ExitError{Code: cmdutil.ExitUsage, Err: err}
			}
			if !(opts.Threshold > 0 && opts.Threshold <= 1) {
				return cmdutil.UsageError("--threshold %v: want a cosine in (0, 1]", opts.Threshold)
			}
			if opts.ExactOnly && cmd.Flags().Changed("threshold") {
				return cmdutil.UsageError("--exact compares no vectors: drop --threshold")
			}
			if opts.ExactOnly && opts.NoHash {
				return cmdutil.UsageError("--exact with --no-hash can only use recorded SHA-256s; drop --no-hash to hash the files")
			}
			if runF != nil {
				return runF(opts)
			}
			return indexDupesRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.Float64Var(&opts.Threshold, "threshold", dupes.DefaultThreshold, "cosine at or above which two images are near duplicates")
	fl.BoolVar(&opts.ExactOnly, "exact", false, "byte-identical copies only (no vectors compared)")
	fl.BoolVar(&opts.NoHash, "no-hash", false, "never read image files: exact copies only from SHA-256s the index records")
	fl.StringVarP(&opts.Format, "format", "f", "", "jsonl, json, tsv or table (default: table on a terminal, jsonl otherwise)")
	fl.StringVar(&opts.Report, "report", "", "also write the groups as an HTML page with thumbnails to `FILE`")
	return cmd
}

var dupesFormats = []output.Format{output.Table, output.JSONL, output.JSON, output.TSV}

func indexDupesRun(ctx context.Context, o *IndexDupesOptions) error {
	f := o.f
	ix, err := index.Open(o.Index)
	if err != nil {
		return err
	}
	defer ix.Close()
	if o.Report != "" {
		// Before the comparison, which may take minutes.
		if err := output.CheckWritable(o.Report); err != nil {
			return fmt.Errorf("--report: %w", err)
		}
	}
	bar := &dupesBar{f: f}
	if f.IO.ShowProgress() {
		o.Progress = bar
	}
	res, err := dupes.Find(ctx, ix, o.Options)
	bar.finish()
	if err != nil {
		return err
	}
	for _, w := range res.Warnings {
		f.Warnf("%s: not hashed, so its exact copies are not reported: %v", w.Path, w.Err)
	}
	if err := cmdutil.QuietPipe(writeDupes(f, o.Format, res.Groups)); err != nil {
		return err
	}
	if o.Report != "" {
		if err := writeDupesReport(ctx, o, ix, res.Groups); err != nil {
			return fmt.Errorf("--report: %w", err)
		}
	}
	exact := 0
	for _, g := range res.Groups {
		if g.Exact {
			exact++
		}
	}
	f.Warnf("%s among %s: %d exact, %d near (threshold %g)", cmdutil.Plural(len(res.Groups), "group"),
		cmdutil.Plural(res.Images, "image"), exact, len(res.Groups)-exact, o.Threshold)
	return nil
}

func writeDupes(f *cmdutil.Factory, flag string, groups []dupes.Group) error {
	format, _ := output.Resolve(flag, f.IO.IsStdoutTTY(), dupesFormats...)
	switch format {
	case output.JSONL, output.JSON:
		w := output.NewRecordWriter(f.IO.Out, format == output.JSON)
		for _, g := range groups {
			if err := w.Write(g); err != nil {
				return err
			}
		}
		return w.Close()
	case output.TSV:
		w := output.NewRowWriter(f.IO.Out, output.TSV)
		if err := w.Write("group", "exact", "max_distance", "score", "id", "path"); err != nil {
			return err
		}
		for _, g := range groups {
			for _, m := range g.Members {
				if err := w.Write(strconv.Itoa(g.Group), strconv.FormatBool(g.Exact), output.FormatScore(g.MaxDistance),
					output.FormatScore(m.Score), m.ID, m.Path); err != nil {
					return err
				}
			}
		}
		return nil
	}
	t := output.NewTableWriter(f.IO.Out, "GROUP", "KIND", "SCORE", "PATH")
	for _, g := range groups {
		kind := "near"
		if g.Exact {
			kind = "exact"
		}
		for i, m := range g.Members {
			id, k := "", ""
			if i == 0 {
				id, k = strconv.Itoa(g.Group), kind
			}
			t.Append(id, k, output.FormatScore(m.Score), m.Path)
		}
	}
	return t.Close()
}

// writeDupesReport writes the groups as an HTML page, with a thumbnail of
// each image that still decodes.
func writeDupesReport(ctx context.Context, o *IndexDupesOptions, ix *index.Index, groups []dupes.Group) error {
	out := make([]report.DupeGroup, len(groups))
	for i, g := range groups {
		out[i] = report.DupeGroup{Group: g.Group, Exact: g.Exact, MaxDistance: g.MaxDistance}
		for _, m := range g.Members {
			out[i].Members = append(out[i].Members, report.DupeMember{Path: ix.FilePath(m.Path), Score: m.Score})
		}
	}
	thumb := func(path string) []byte {
		jpg, _ := thumbnail.FromFile(ctx, path, thumbnail.Options{MaxEdge: 256})
		return jpg // nil when the file no longer reads or decodes
	}
	err := report.WriteDupes(o.Report, report.DupesInfo{Index: o.Index, Threshold: o.Threshold}, out, thumb,
		report.Options{Command: "fashionclip index dupes " + o.Index})
	var te *report.ThumbnailError
	if errors.As(err, &te) {
		o.f.Warnf("%v", err) // the page is written, without those pictures
		return nil
	}
	return err
}

// dupesBar shows each phase of dupes.Find on a progress bar.
type dupesBar struct {
	f   *cmdutil.Factory
	bar *progressbar.ProgressBar
}

func (p *dupesBar) Start(phase string, total int64) {
	p.finish()
	unit := "file"
	if phase == "compare" {
		unit = "madd"
	}
	p.bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(p.f.IO.ProgressWriter()),
		progressbar.OptionSetDescription(phase), progressbar.OptionShowIts(), progressbar.OptionSetItsString(unit),
		progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
}

func (p *dupesBar) Update(done int64) {
	if p.bar != nil {
		p.bar.Set64(done)
	}
}

func (p *dupesBar) finish() {
	if p.bar != nil {
		p.bar.Finish()
		p.bar = nil
	}
}
