// Package benchcmd holds `fashionclip bench` and its subcommands (accuracy,
// speed): flags, wiring and rendering (NewCmdX(f, runF), XOptions, xRun)
// over the library packages.
package benchcmd

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/fashionclip/fashionclip/internal/bench"
	"github.com/fashionclip/fashionclip/internal/cmdutil"
	"github.com/fashionclip/fashionclip/internal/output"
	"github.com/fashionclip/fashionclip/pkg/fashionclip"
)

// NewCmdBench builds `fashionclip bench`, the parent of accuracy and speed.
func NewCmdBench(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure zero-shot accuracy on labelled datasets, and speed",
		Long: `Measure the model: "bench accuracy" scores zero-shot classification on a labelled
dataset (Fashion-MNIST, Kaggle Fashion Product Images, DeepFashion, a folder tree or a
CSV) with scikit-learn's metrics; "bench speed" times the image pipeline stage by stage.
See docs/benchmark.md for the protocol and the published numbers.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmdutil.UsageError("bench needs a subcommand: accuracy or speed")
		},
	}
	cmd.AddCommand(NewCmdBenchAccuracy(f, nil), NewCmdBenchSpeed(f, nil))
	return cmd
}

// BenchAccuracyOptions are `bench accuracy`'s flags.
type BenchAccuracyOptions struct {
	f            *cmdutil.Factory
	Dataset      string
	Data         string
	Split        string
	LabelColumn  string
	MinCount     int
	Templates    []string
	SweepFile    string
	LabelsMap    string
	Limit        int
	Seed         uint64
	Out          string
	Plot         string
	Predictions  string
	Format       string
	In           cmdutil.InputFlags
	sweepEntries []string
}

// NewCmdBenchAccuracy builds `fashionclip bench accuracy`.
func NewCmdBenchAccuracy(f *cmdutil.Factory, runF func(*BenchAccuracyOptions) error) *cobra.Command {
	opts := &BenchAccuracyOptions{f: f}
	cmd := &cobra.Command{
		Use:   "accuracy --dataset fmnist|kagl|deepfashion|folder|csv --data PATH",
		Short: "Zero-shot accuracy and F1 on a labelled dataset",
		Long: `Classify every image of a labelled dataset zero-shot against the dataset's class
names and report accuracy, weighted and macro F1, per-class precision/recall/F1/support
and the confusion matrix. Metrics equal scikit-learn's f1_score(average="weighted" or
"macro", zero_division=0) over the sorted union of true and predicted labels.

Datasets (--data is a folder, or the CSV file for csv):
  fmnist       Fashion-MNIST idx files, gzipped or not (fashionclip data pull fmnist)
  kagl         Kaggle Fashion Product Images: styles.csv + images/<id>.jpg
  deepfashion  DeepFashion Category and Attribute Prediction: Anno/, Eval/, img/
  folder       one sub-folder per class, images inside
  csv          rows path,label (relative paths from the CSV's folder)

--labels-map FILE renames classes into prompt words: a JSON object {"Tshirts": "t-shirt"}
or lines "Tshirts=t-shirt" / "Tshirts<TAB>t-shirt" ('#' comments). Items that cannot be
read are skipped, named on stderr and counted in "skipped" (exit status 3).

--format json prints one object: {"dataset", "data", "model", "revision", "templates",
"labels_map", "n", "skipped", "accuracy", "weighted_f1", "macro_f1", "per_class":
[{"label", "precision", "recall", "f1", "support"}], "confusion": {"labels", "matrix"},
"seconds"}; --out writes it to a file whatever the format.`,
		Example: `  fashionclip data pull fmnist --to data/fmnist
  fashionclip bench accuracy --dataset fmnist --data data/fmnist --plot cm.png
  fashionclip bench accuracy --dataset kagl --data kaggle/ --labels-map kagl.map --min-count 50 --out kagl.json
  fashionclip bench accuracy --dataset folder --data shop/ --limit 500 --seed 1 --predictions preds.jsonl
  fashionclip bench accuracy --dataset fmnist --data data/fmnist --sweep-templates templates.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.validate(cmd); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return benchAccuracyRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Dataset, "dataset", "", "dataset format: "+strings.Join(bench.Kinds, ", "))
	fl.StringVar(&opts.Data, "data", "", "the dataset's folder (the CSV file for --dataset csv)")
	fl.StringVar(&opts.Split, "split", "", "fmnist: train or test; deepfashion: train, val or test (default test)")
	fl.StringVar(&opts.LabelColumn, "label-column", "", "kagl: styles.csv column holding the class (default "+bench.DefaultKaggleLabelColumn+")")
	fl.IntVar(&opts.MinCount, "min-count", 0, "drop classes with fewer items than this (after --labels-map)")
	fl.StringArrayVar(&opts.Templates, "template", nil, `prompt template with {} (repeatable: ensembled as in classify; default "`+fashionclip.DefaultTemplate+`")`)
	fl.StringVar(&opts.SweepFile, "sweep-templates", "", "file of templates, one a line: score each alone (and their ensemble) and print a table")
	fl.StringVar(&opts.LabelsMap, "labels-map", "", "file renaming classes into prompt words (JSON object, or from=to / from<TAB>to lines)")
	fl.IntVar(&opts.Limit, "limit", 0, "evaluate a stratified sample of at most N items (0 = all)")
	fl.Uint64Var(&opts.Seed, "seed", 0, "seed of the --limit sample (same seed, same sample)")
	fl.StringVar(&opts.Out, "out", "", "also write the JSON report to this file")
	fl.StringVar(&opts.Plot, "plot", "", "draw the row-normalised confusion matrix into this PNG")
	fl.StringVar(&opts.Predictions, "predictions", "", `write one JSON line per item: {"id", "label", "predicted", "score"}`)
	fl.StringVarP(&opts.Format, "format", "f", "", "table or json (default: table on a terminal, json otherwise)")
	opts.In.Bind(cmd, false)
	return cmd
}

func (o *BenchAccuracyOptions) validate(cmd *cobra.Command) error {
	known := false
	for _, k := range bench.Kinds {
		known = known || k == o.Dataset
	}
	switch {
	case o.Dataset == "":
		return cmdutil.UsageError("--dataset is required (%s)", strings.Join(bench.Kinds, ", "))
	case !known:
		return cmdutil.UsageError("unknown --dataset %q (want %s)", o.Dataset, strings.Join(bench.Kinds, ", "))
	case o.Data == "":
		return cmdutil.UsageError("--data PATH is required")
	case o.Split != "" && o.Dataset != "fmnist" && o.Dataset != "deepfashion":
		return cmdutil.UsageError("--split applies to fmnist and deepfashion only")
	case o.LabelColumn != "" && o.Dataset != "kagl":
		return cmdutil.UsageError("--label-column applies to kagl only")
	case o.MinCount < 0 || o.Limit < 0:
		return cmdutil.UsageError("--min-count and --limit must not be negative")
	case cmd.Flags().Changed("seed") && o.Limit == 0:
		return cmdutil.UsageError("--seed chooses the --limit sample: give --limit N too")
	case o.SweepFile != "" && len(o.Templates) > 0:
		return cmdutil.UsageError("--sweep-templates and --template do not mix: put every template in the sweep file")
	case o.SweepFile != "" && (o.Predictions != "" || o.Plot != ""):
		return cmdutil.UsageError("--predictions and --plot describe one run; they do not mix with --sweep-templates")
	}
	for _, t := range o.Templates {
		if err := fashionclip.ValidateTemplate(t); err != nil {
			return &cmdutil.ExitError{Code: cmdutil.ExitUsage, Err: err}
		}
	}
	if _, err := output.Resolve(o.Format, false, output.Table, output.JSON); err != nil {
		return &cmdutil.ExitError{Code: cmdutil.ExitUsage, Err: err}
	}
	return o.In.Validate()
}

// prepareDataset loads the dataset and applies --labels-map, --min-count
// and --limit, in that order, warning about anything surprising.
func (o *BenchAccuracyOptions) prepareDataset() (*bench.Dataset, bench.LabelsMap, error) {
	f := o.f
	ds, err := bench.Load(o.Dataset, o.Data, bench.LoadOptions{Split: o.Split, LabelColumn: o.LabelColumn})
	if err != nil {
		return nil, nil, err
	}
	var lm bench.LabelsMap
	if o.LabelsMap != "" {
		if lm, err = bench.ReadLabelsMap(o.LabelsMap); err != nil {
			return nil, nil, err
		}
		if unused := ds.MapLabels(lm); len(unused) > 0 {
			f.Warnf("labels map: no class named %s in the dataset", strings.Join(quoteAll(unused), ", "))
		}
	}
	if classes, items := ds.DropRare(o.MinCount); classes > 0 {
		f.Warnf("--min-count %d dropped %s (%s)", o.MinCount, cmdutil.Plural(classes, "class"), cmdutil.Plural(items, "item"))
	}
	if len(ds.Items) == 0 {
		return nil, nil, fmt.Errorf("no item left to evaluate after --min-count %d", o.MinCount)
	}
	ds.Sample(o.Limit, o.Seed)
	return ds, lm, nil
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strconv.Quote(s)
	}
	return out
}

func benchAccuracyRun(ctx context.Context, o *BenchAccuracyOptions) error {
	start := time.Now()
	f := o.f
	format, _ := output.Resolve(o.Format, f.IO.IsStdoutTTY(), output.Table, output.JSON)
	if o.SweepFile != "" {
		entries, err := cmdutil.ReadLinesFile(o.SweepFile)
		if err != nil {
			return fmt.Errorf("sweep templates: %w", err)
		}
		for _, t := range entries {
			if err := fashionclip.ValidateTemplate(t); err != nil {
				return &cmdutil.ExitError{Code: cmdutil.ExitUsage, Err: fmt.Errorf("%s: %w", o.SweepFile, err)}
			}
		}
		o.sweepEntries = entries
	}
	for _, out := range []struct{ flag, path string }{{"--out", o.Out}, {"--plot", o.Plot}, {"--predictions", o.Predictions}} {
		if out.path != "" {
			if err := output.CheckWritable(out.path); err != nil {
				return fmt.Errorf("%s: %w", out.flag, err)
			}
		}
	}
	ds, lm, err := o.prepareDataset()
	if err != nil {
		return err
	}
	m, err := f.LoadModel(ctx, "", o.In.ModelOptions)
	if err != nil {
		return err
	}
	defer m.Close()
	for _, s := range ds.Skipped {
		f.Warnf("%s: skipped: %s", s.ID, s.Reason)
	}
	bar, run := benchProgress(f, ds.Kind, len(ds.Items), o.In.BatchSize)
	run.OnFailure = func(it *bench.Item, err error) {
		if bar != nil {
			bar.Clear()
		}
		f.Warnf("%s: skipped: %v", it.ID, err)
	}
	acc, err := bench.RunAccuracy(ctx, bench.Adapt(m), ds, bench.AccuracyOptions{RunOptions: run, Templates: o.Templates, Sweep: o.sweepEntries})
	if bar != nil {
		bar.Finish()
	}
	if err != nil {
		return err
	}
	skipped := len(ds.Skipped) + acc.Failed
	if len(acc.Truth) == 0 {
		return fmt.Errorf("every item failed (%d skipped)", skipped)
	}
	meta := bench.ReportMeta{Dataset: o.Dataset, Data: o.Data, Model: f.ModelRef(), Revision: m.Source().Commit,
		Templates: o.Templates, Skipped: skipped}
	if len(lm) > 0 {
		meta.LabelsMap = lm
	}
	if o.SweepFile != "" {
		meta.Seconds = time.Since(start).Seconds()
		sr, err := acc.SweepReport(meta)
		if err != nil {
			return err
		}
		return finishReport(f, format, o.Out, sr, sr.WriteTable, skipped, nil)
	}
	rep, mt, err := acc.Report(meta)
	if err != nil {
		return err
	}
	// A file that cannot be written after all fails the run, but only
	// after the report is printed: the evaluation is not lost.
	var writeErr error
	if o.Predictions != "" {
		if err := bench.WritePredictions(o.Predictions, acc.Predictions); err != nil {
			writeErr = fmt.Errorf("--predictions: %w", err)
		}
	}
	if o.Plot != "" {
		title := fmt.Sprintf("%s: accuracy %.4f, n=%d (rows: truth, row-normalised)", o.Dataset, mt.Accuracy, mt.N)
		if err := bench.WriteConfusionPNGFile(o.Plot, mt.Confusion, title); err != nil && writeErr == nil {
			writeErr = fmt.Errorf("--plot: %w", err)
		}
	}
	rep.Seconds = time.Since(start).Seconds()
	return finishReport(f, format, o.Out, rep, rep.WriteTable, skipped, writeErr)
}

// benchProgress is a run's progress bar on a terminal (nil elsewhere).
func benchProgress(f *cmdutil.Factory, what string, total, batch int) (*progressbar.ProgressBar, bench.RunOptions) {
	run := bench.RunOptions{Workers: f.ThreadBudget(), BatchSize: batch}
	if !f.IO.ShowProgress() {
		return nil, run
	}
	bar := cmdutil.ImageProgress(f, what, total)
	run.Progress = func(int, int) { bar.Add(1) }
	return bar, run
}

// finishReport prints the report, writes --out, and applies the exit rules:
// skipped items make the run partial (3) although the report is complete.
func finishReport(f *cmdutil.Factory, format output.Format, out string, v any, table func(io.Writer) error, skipped int, writeErr error) error {
	var err error
	if format == output.JSON {
		err = bench.WriteJSON(f.IO.Out, v)
	} else {
		err = table(f.IO.Out)
	}
	if err != nil && !output.IsClosedPipe(err) {
		return err
	}
	if out != "" {
		if err := bench.WriteJSONFile(out, v); err != nil && writeErr == nil {
			writeErr = fmt.Errorf("--out: %w", err)
		}
	}
	if writeErr != nil {
		return writeErr
	}
	if skipped > 0 {
		return &cmdutil.ExitError{Code: cmdutil.ExitPartial, Err: fmt.Errorf("%s skipped (named above); the metrics leave them out", cmdutil.Plural(skipped, "item"))}
	}
	return nil
}
