package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/fashionclip/fashionclip/internal/bench"
	"github.com/fashionclip/fashionclip/internal/output"
	"github.com/fashionclip/fashionclip/internal/pipeline"
	"github.com/fashionclip/fashionclip/internal/source"
	"github.com/fashionclip/fashionclip/pkg/fashionclip"
	"github.com/fashionclip/fashionclip/pkg/imageproc"
)

func init() { extraCommands = append(extraCommands, NewCmdBench) }

// NewCmdBench builds `fashionclip bench`, the parent of accuracy and speed.
func NewCmdBench(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure zero-shot accuracy on labelled datasets, and speed",
		Long: `Measure the model: "bench accuracy" scores zero-shot classification on a labelled
dataset (Fashion-MNIST, Kaggle Fashion Product Images, DeepFashion, a folder tree or a
CSV) with scikit-learn's metrics; "bench speed" times the image pipeline stage by stage.
See docs/benchmark.md for the protocol and the published numbers.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return UsageError("bench needs a subcommand: accuracy or speed")
		},
	}
	cmd.AddCommand(NewCmdBenchAccuracy(f, nil), NewCmdBenchSpeed(f, nil))
	return cmd
}

// BenchAccuracyOptions are `bench accuracy`'s flags.
type BenchAccuracyOptions struct {
	f            *Factory
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
	BatchSize    int
	FastDecode   bool
	MaxPixels    int64
	sweepEntries []string
}

// NewCmdBenchAccuracy builds `fashionclip bench accuracy`.
func NewCmdBenchAccuracy(f *Factory, runF func(*BenchAccuracyOptions) error) *cobra.Command {
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
	fl.IntVar(&opts.BatchSize, "batch-size", 8, "images per ONNX Runtime run")
	fl.BoolVar(&opts.FastDecode, "fast-decode", false, "decode large JPEGs at reduced scale (faster, not bit-exact)")
	fl.Int64Var(&opts.MaxPixels, "max-pixels", 89_478_485, "refuse images with more pixels than this")
	return cmd
}

func (o *BenchAccuracyOptions) inputFlags() InputFlags {
	return InputFlags{BatchSize: o.BatchSize, FastDecode: o.FastDecode, MaxPixels: o.MaxPixels}
}

func (o *BenchAccuracyOptions) validate(cmd *cobra.Command) error {
	known := false
	for _, k := range bench.Kinds {
		known = known || k == o.Dataset
	}
	switch {
	case o.Dataset == "":
		return UsageError("--dataset is required (%s)", strings.Join(bench.Kinds, ", "))
	case !known:
		return UsageError("unknown --dataset %q (want %s)", o.Dataset, strings.Join(bench.Kinds, ", "))
	case o.Data == "":
		return UsageError("--data PATH is required")
	case o.Split != "" && o.Dataset != "fmnist" && o.Dataset != "deepfashion":
		return UsageError("--split applies to fmnist and deepfashion only")
	case o.LabelColumn != "" && o.Dataset != "kagl":
		return UsageError("--label-column applies to kagl only")
	case o.MinCount < 0 || o.Limit < 0:
		return UsageError("--min-count and --limit must not be negative")
	case cmd.Flags().Changed("seed") && o.Limit == 0:
		return UsageError("--seed chooses the --limit sample: give --limit N too")
	case o.SweepFile != "" && len(o.Templates) > 0:
		return UsageError("--sweep-templates and --template do not mix: put every template in the sweep file")
	case o.SweepFile != "" && (o.Predictions != "" || o.Plot != ""):
		return UsageError("--predictions and --plot describe one run; they do not mix with --sweep-templates")
	}
	for _, t := range o.Templates {
		if err := fashionclip.ValidateTemplate(t); err != nil {
			return &ExitError{Code: ExitUsage, Err: err}
		}
	}
	if _, err := output.Resolve(o.Format, false, output.Table, output.JSON); err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	in := o.inputFlags()
	return in.validate()
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
		f.Warnf("--min-count %d dropped %d classes (%d items)", o.MinCount, classes, items)
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

// labelSet is one way of embedding the class names: the --template
// ensemble, or one template of a sweep.
type labelSet struct {
	name   string
	labels *fashionclip.Labels
	pred   []string // one per evaluated item
}

// embedLabelSets embeds the candidates once per template of a sweep (plus
// the ensemble of them all), or once with the --template ensemble.
func (o *BenchAccuracyOptions) embedLabelSets(ctx context.Context, m *fashionclip.Model, classes []string) ([]*labelSet, error) {
	if o.SweepFile == "" {
		l, err := m.EmbedLabels(ctx, classes, o.Templates)
		if err != nil {
			return nil, err
		}
		return []*labelSet{{name: "ensemble", labels: l}}, nil
	}
	var sets []*labelSet
	for _, t := range o.sweepEntries {
		l, err := m.EmbedLabels(ctx, classes, []string{t})
		if err != nil {
			return nil, err
		}
		sets = append(sets, &labelSet{name: t, labels: l})
	}
	if len(sets) > 1 {
		// The ensemble is the mean of the per-template embeddings, exactly
		// what EmbedLabels computes from the same prompts.
		ens := &fashionclip.Labels{Names: classes, Templates: o.sweepEntries, Embeddings: make([][]float32, len(classes))}
		for i := range classes {
			per := make([][]float32, len(sets))
			for j, s := range sets {
				per[j] = s.labels.Embeddings[i]
			}
			ens.Embeddings[i] = fashionclip.MeanNormalized(per)
		}
		sets = append(sets, &labelSet{name: fmt.Sprintf("ensemble of all %d", len(sets)), labels: ens})
	}
	return sets, nil
}

func benchAccuracyRun(ctx context.Context, o *BenchAccuracyOptions) error {
	start := time.Now()
	f := o.f
	format, _ := output.Resolve(o.Format, f.IO.IsStdoutTTY(), output.Table, output.JSON)
	if o.SweepFile != "" {
		entries, err := readLinesFile(o.SweepFile)
		if err != nil {
			return fmt.Errorf("sweep templates: %w", err)
		}
		for _, t := range entries {
			if err := fashionclip.ValidateTemplate(t); err != nil {
				return &ExitError{Code: ExitUsage, Err: fmt.Errorf("%s: %w", o.SweepFile, err)}
			}
		}
		o.sweepEntries = entries
	}
	ds, lm, err := o.prepareDataset()
	if err != nil {
		return err
	}
	in := o.inputFlags()
	m, err := f.LoadModel(ctx, in.modelOptions)
	if err != nil {
		return err
	}
	defer m.Close()
	sets, err := o.embedLabelSets(ctx, m, ds.Classes)
	if err != nil {
		return err
	}

	skipped := len(ds.Skipped)
	for _, s := range ds.Skipped {
		if !f.IO.Quiet {
			fmt.Fprintf(f.IO.ErrOut, "fashionclip: %s: skipped: %s\n", s.ID, s.Reason)
		}
	}
	pre := m.Preprocessor()
	preprocess := func(path string, dst []float32) ([]float32, error) {
		it := ds.Items[itemIndex(path)]
		if it.Image != nil {
			return pre.Image(it.Image)
		}
		data, err := os.ReadFile(it.Path)
		if err != nil {
			return nil, err
		}
		return pre.Reuse(dst, data)
	}
	scale := m.LogitScale()
	var truth []string
	var preds []bench.Prediction
	runErr := benchPipeline(ctx, f, ds, preprocess, m, pipeline.Options{Workers: f.ThreadBudget(), BatchSize: in.BatchSize},
		func(r pipeline.Result) {
			it := ds.Items[itemIndex(r.Item.Path)]
			if r.Err != nil {
				skipped++
				if !f.IO.Quiet {
					fmt.Fprintf(f.IO.ErrOut, "fashionclip: %s: skipped: %v\n", it.ID, r.Err)
				}
				return
			}
			truth = append(truth, it.Label)
			for i, s := range sets {
				top := s.labels.Score(r.Embedding, scale, fashionclip.ScoreOptions{TopK: 1})[0]
				s.pred = append(s.pred, top.Label)
				if i == 0 && o.Predictions != "" {
					preds = append(preds, bench.Prediction{ID: it.ID, Label: it.Label, Predicted: top.Label, Score: top.Score})
				}
			}
		})
	if runErr != nil {
		return runErr
	}
	if len(truth) == 0 {
		return fmt.Errorf("every item failed (%d skipped)", skipped)
	}
	revision := modelRevision(f.ModelRefOrDefault(), m.Dir())
	var mapped bench.LabelsMap
	if len(lm) > 0 {
		mapped = lm
	}
	if o.SweepFile != "" {
		sr := &bench.SweepReport{Dataset: o.Dataset, Data: o.Data, Model: f.ModelRefOrDefault(), Revision: revision,
			LabelsMap: mapped, N: len(truth), Skipped: skipped}
		for _, s := range sets {
			mt, err := bench.Compute(truth, s.pred)
			if err != nil {
				return err
			}
			sr.Sweep = append(sr.Sweep, bench.SweepRow{Template: s.name, Accuracy: mt.Accuracy, WeightedF1: mt.WeightedF1, MacroF1: mt.MacroF1})
		}
		sr.Seconds = time.Since(start).Seconds()
		return finishReport(f, format, o.Out, sr, sr.WriteTable, skipped)
	}

	mt, err := bench.Compute(truth, sets[0].pred)
	if err != nil {
		return err
	}
	templates := o.Templates
	if len(templates) == 0 {
		templates = []string{fashionclip.DefaultTemplate}
	}
	rep := &bench.Report{Dataset: o.Dataset, Data: o.Data, Model: f.ModelRefOrDefault(), Revision: revision,
		Templates: templates, LabelsMap: mapped, Skipped: skipped}
	rep.SetMetrics(mt)
	if o.Predictions != "" {
		if err := bench.WritePredictions(o.Predictions, preds); err != nil {
			return fmt.Errorf("--predictions: %w", err)
		}
	}
	if o.Plot != "" {
		title := fmt.Sprintf("%s: accuracy %.4f, n=%d (rows: truth, row-normalised)", o.Dataset, mt.Accuracy, mt.N)
		if err := bench.WriteConfusionPNGFile(o.Plot, mt.Confusion, title); err != nil {
			return fmt.Errorf("--plot: %w", err)
		}
	}
	rep.Seconds = time.Since(start).Seconds()
	return finishReport(f, format, o.Out, rep, rep.WriteTable, skipped)
}

// finishReport writes --out, prints the report, and applies the exit rules:
// skipped items make the run partial (3) although the report is complete.
func finishReport(f *Factory, format output.Format, out string, v any, table func(io.Writer) error, skipped int) error {
	if out != "" {
		if err := bench.WriteJSONFile(out, v); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
	}
	var err error
	if format == output.JSON {
		err = bench.WriteJSON(f.IO.Out, v)
	} else {
		err = table(f.IO.Out)
	}
	if err != nil && !output.IsClosedPipe(err) {
		return err
	}
	if skipped > 0 {
		return &ExitError{Code: ExitPartial, Err: fmt.Errorf("%s skipped (named above); the metrics leave them out", plural(skipped, "item"))}
	}
	return nil
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// itemIndex recovers the dataset index that benchPipeline puts in an item's
// Path (the pipeline hands preprocessing a path string only).
func itemIndex(path string) int {
	i, _ := strconv.Atoi(path)
	return i
}

// benchPipeline streams every item of ds through internal/pipeline, calling
// sink for each result in dataset order, with a progress bar on a terminal.
func benchPipeline(ctx context.Context, f *Factory, ds *bench.Dataset, pre pipeline.PreprocessFunc, enc pipeline.Encoder,
	opts pipeline.Options, sink func(pipeline.Result)) error {
	items := make(chan source.Item)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(items)
		for i, it := range ds.Items {
			select {
			case items <- source.Item{Path: strconv.Itoa(i), Arg: it.ID, Rel: it.ID}:
			case <-runCtx.Done():
				return
			}
		}
	}()
	results, wait := pipeline.Run(runCtx, items, pre, enc, opts)
	var bar *progressbar.ProgressBar
	if f.IO.ShowProgress() {
		bar = imageProgress(f, ds.Kind, len(ds.Items))
	}
	for r := range results {
		if r.Err != nil && runCtx.Err() != nil {
			continue // cancelled work is not an item failure
		}
		if bar != nil && r.Err != nil {
			bar.Clear()
		}
		sink(r)
		if bar != nil {
			bar.Add(1)
		}
	}
	if bar != nil {
		bar.Finish()
	}
	if err := wait(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

// modelRevision names the exact model weights for a report: the Hub
// snapshot's commit when the model came from the cache, else the revision
// the reference asked for, else "" (a local folder).
func modelRevision(ref, dir string) string {
	dir = filepath.Clean(dir)
	if filepath.Base(filepath.Dir(dir)) == "snapshots" {
		return filepath.Base(dir)
	}
	if IsRepoID(ref) {
		if _, rev, ok := strings.Cut(ref, "@"); ok {
			return rev
		}
	}
	return ""
}

// BenchSpeedOptions are `bench speed`'s flags.
type BenchSpeedOptions struct {
	f         *Factory
	Images    string
	Synthetic int
	Format    string
	In        InputFlags
}

// NewCmdBenchSpeed builds `fashionclip bench speed`.
func NewCmdBenchSpeed(f *Factory, runF func(*BenchSpeedOptions) error) *cobra.Command {
	opts := &BenchSpeedOptions{f: f}
	cmd := &cobra.Command{
		Use:   "speed [--images DIR | --synthetic N] [--batch-size B] [--threads T]",
		Short: "Images per second end to end, per stage, and against the model alone",
		Long: `Run images through the same pipeline classify uses and report images/s end to end,
per-batch inference latency (p50/p95/p99), time per image in each stage (read, decode,
preprocess, infer, score), text-encoding latency and peak RSS; and "model only": ONNX
Runtime's throughput on ready-made tensors with the same batch size and threads, the
ceiling the end-to-end figure is compared with.

Decoding and resizing are fused in the pipeline, so "decode" is timed separately on up
to 16 of the images and "preprocess" is the fused time less that.

--synthetic N (default 64 when --images is not given) first writes N deterministic
1200×1600 JPEGs (quality 90) into a temporary folder.`,
		Example: `  fashionclip bench speed --synthetic 256 --batch-size 16
  fashionclip bench speed --images shop/ --fast-decode --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Images != "" && cmd.Flags().Changed("synthetic") {
				return UsageError("--images and --synthetic do not mix")
			}
			if opts.Synthetic < 1 {
				return UsageError("--synthetic must be at least 1")
			}
			if _, err := output.Resolve(opts.Format, false, output.Table, output.JSON); err != nil {
				return &ExitError{Code: ExitUsage, Err: err}
			}
			if err := opts.In.validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return benchSpeedRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Images, "images", "", "folder of images to time (walked like classify's inputs)")
	fl.IntVar(&opts.Synthetic, "synthetic", 64, "generate N 1200×1600 JPEGs to time (when --images is not given)")
	fl.StringVarP(&opts.Format, "format", "f", "", "table or json (default: table on a terminal, json otherwise)")
	opts.In.bind(cmd)
	return cmd
}

// timedEncoder records each batch's inference time.
type timedEncoder struct {
	enc pipeline.Encoder
	mu  sync.Mutex
	ms  []float64
}

func (t *timedEncoder) EncodeImages(ctx context.Context, px [][]float32) ([][]float32, error) {
	t0 := time.Now()
	out, err := t.enc.EncodeImages(ctx, px)
	d := time.Since(t0)
	t.mu.Lock()
	t.ms = append(t.ms, ms(d))
	t.mu.Unlock()
	return out, err
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func benchSpeedRun(ctx context.Context, o *BenchSpeedOptions) error {
	f := o.f
	format, _ := output.Resolve(o.Format, f.IO.IsStdoutTTY(), output.Table, output.JSON)
	// The model first: a missing runtime should not cost the wait for
	// synthetic images.
	m, err := f.LoadModel(ctx, o.In.modelOptions)
	if err != nil {
		return err
	}
	defer m.Close()
	var paths []string
	var sourceName string
	if o.Images != "" {
		err := source.Walk(ctx, []string{o.Images}, source.Options{MaxDepth: o.In.MaxDepth, Hidden: o.In.Hidden},
			func(it source.Item) error {
				if it.Err == nil {
					paths = append(paths, it.Path)
				}
				return nil
			})
		if err != nil {
			return err
		}
		if len(paths) == 0 {
			return fmt.Errorf("no image found in %s (folders are searched for %v)", o.Images, source.ImageExtensions)
		}
		sourceName = fmt.Sprintf("%d images from %s", len(paths), o.Images)
	} else {
		dir, err := os.MkdirTemp("", "fashionclip-speed-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		f.Warnf("writing %d synthetic %d×%d JPEGs into %s", o.Synthetic, bench.SyntheticWidth, bench.SyntheticHeight, dir)
		if paths, err = bench.WriteSyntheticJPEGs(ctx, dir, o.Synthetic, bench.SyntheticWidth, bench.SyntheticHeight); err != nil {
			return err
		}
		sourceName = fmt.Sprintf("%d synthetic %d×%d JPEGs", len(paths), bench.SyntheticWidth, bench.SyntheticHeight)
	}

	bs := o.In.BatchSize
	rep := &bench.SpeedReport{Model: f.ModelRefOrDefault(), Source: sourceName, BatchSize: bs,
		Threads: f.ThreadBudget(), FastDecode: o.In.FastDecode}

	// Model only, first: its first batch also creates the vision session,
	// so the end-to-end run below does not pay for that.
	if rep.ModelOnlyImagesPerSecond, err = modelOnlyThroughput(ctx, m, len(paths), bs); err != nil {
		return err
	}

	// Text: the first call creates the text session; the second is timed.
	if _, err := m.EncodeText(ctx, "warm up"); err != nil {
		return err
	}
	t0 := time.Now()
	labels, err := m.EmbedLabels(ctx, bench.FMNISTClasses, nil)
	if err != nil {
		return err
	}
	rep.TextMS, rep.TextCount = ms(time.Since(t0)), len(bench.FMNISTClasses)

	// End to end through the pipeline classify uses.
	ds := &bench.Dataset{Kind: "images"}
	for _, p := range paths {
		ds.Items = append(ds.Items, bench.Item{ID: p, Path: p})
	}
	pre := m.Preprocessor()
	var readNanos atomic.Int64
	preprocess := func(path string, dst []float32) ([]float32, error) {
		p := paths[itemIndex(path)]
		t0 := time.Now()
		data, err := os.ReadFile(p)
		readNanos.Add(int64(time.Since(t0)))
		if err != nil {
			return nil, err
		}
		return pre.Reuse(dst, data)
	}
	stats := &pipeline.Stats{}
	enc := &timedEncoder{enc: m}
	var scoreNanos time.Duration
	scale := m.LogitScale()
	start := time.Now()
	err = benchPipeline(ctx, f, ds, preprocess, enc, pipeline.Options{Workers: f.ThreadBudget(), BatchSize: bs, Stats: stats},
		func(r pipeline.Result) {
			if r.Err != nil {
				rep.Failed++
				if !f.IO.Quiet {
					fmt.Fprintf(f.IO.ErrOut, "fashionclip: %s: %v\n", paths[itemIndex(r.Item.Path)], r.Err)
				}
				return
			}
			t0 := time.Now()
			labels.Score(r.Embedding, scale, fashionclip.ScoreOptions{TopK: 1})
			scoreNanos += time.Since(t0)
		})
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	rep.Images = len(paths) - rep.Failed
	if rep.Images == 0 {
		return fmt.Errorf("every image failed (%d)", rep.Failed)
	}
	rep.Seconds = elapsed.Seconds()
	rep.ImagesPerSecond = float64(rep.Images) / elapsed.Seconds()
	if rep.ModelOnlyImagesPerSecond > 0 {
		rep.VsModelOnly = rep.ImagesPerSecond / rep.ModelOnlyImagesPerSecond
	}
	rep.BatchLatencyMS = bench.LatencyOf(enc.ms)

	perImage := func(nanos int64) float64 { return float64(nanos) / 1e6 / float64(len(paths)) }
	fused := perImage(stats.PreprocessNanos.Load() - readNanos.Load())
	decode := decodeOnly(paths, imageproc.Options{MaxPixels: o.In.MaxPixels, FastDecode: o.In.FastDecode})
	rep.Stages = []bench.Stage{
		{Name: "read", MSPerImage: perImage(readNanos.Load())},
		{Name: "decode", MSPerImage: min(decode, fused)},
		{Name: "preprocess", MSPerImage: max(fused-decode, 0)},
		{Name: "infer", MSPerImage: float64(stats.EncodeNanos.Load()) / 1e6 / float64(rep.Images)},
		{Name: "score", MSPerImage: ms(scoreNanos) / float64(rep.Images)},
	}
	rep.PeakRSSBytes = bench.PeakRSS()
	if format == output.JSON {
		err = bench.WriteJSON(f.IO.Out, rep)
	} else {
		err = rep.WriteTable(f.IO.Out)
	}
	if err != nil && !output.IsClosedPipe(err) {
		return err
	}
	if rep.Failed > 0 {
		return &ExitError{Code: ExitPartial, Err: fmt.Errorf("%d of %d images failed", rep.Failed, len(paths))}
	}
	return nil
}

// modelOnlyThroughput times ONNX Runtime alone on ready tensors: as many
// images as the end-to-end run, in the same batches, after one warm-up batch.
func modelOnlyThroughput(ctx context.Context, m *fashionclip.Model, images, bs int) (float64, error) {
	n := m.Preprocessor().PixelCount()
	tensors := make([][]float32, min(bs, images))
	for i := range tensors {
		t := make([]float32, n)
		for j := range t {
			// Any values will do; these stay in the normalised range.
			t[j] = float32((i*7919+j*31)%2001)/1000 - 1
		}
		tensors[i] = t
	}
	if _, err := m.EncodeImages(ctx, tensors); err != nil {
		return 0, err
	}
	t0 := time.Now()
	for done := 0; done < images; done += bs {
		if _, err := m.EncodeImages(ctx, tensors[:min(bs, images-done)]); err != nil {
			return 0, err
		}
	}
	return float64(images) / time.Since(t0).Seconds(), nil
}

// decodeOnly is the mean time to decode (only) up to 16 of the images,
// spread over the set, in milliseconds.
func decodeOnly(paths []string, opts imageproc.Options) float64 {
	step := max(len(paths)/16, 1)
	var total time.Duration
	count := 0
	for i := 0; i < len(paths) && count < 16; i += step {
		data, err := os.ReadFile(paths[i])
		if err != nil {
			continue
		}
		t0 := time.Now()
		if _, err := imageproc.DecodeRGB(data, opts); err != nil {
			continue
		}
		total += time.Since(t0)
		count++
	}
	if count == 0 {
		return 0
	}
	return ms(total) / float64(count)
}
