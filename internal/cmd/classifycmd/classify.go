// Package classifycmd is `fashionclip classify`: flags, wiring and rendering
// (NewCmdX(f, runF), XOptions, xRun) over the library packages.
package classifycmd

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fashionclip/fashionclip/internal/cmdutil"
	"github.com/fashionclip/fashionclip/internal/labels"
	"github.com/fashionclip/fashionclip/internal/output"
	"github.com/fashionclip/fashionclip/pkg/fashionclip"
)

// ClassifyOptions are classify's flags and arguments.
type ClassifyOptions struct {
	f      *cmdutil.Factory
	Inputs []string

	Labels     []string // from --labels, --label and --labels-file, in that order
	labelsCSV  []string
	labelOne   []string
	LabelsFile string
	GroupSpecs []string
	Groups     []LabelGroup
	Templates  []string
	RawScores  bool
	TopK       int
	MinScore   float64
	hasMin     bool
	Format     string
	In         cmdutil.InputFlags
	// Report is --report FILE (HTML), ReportAssets its --report-assets DIR.
	Report, ReportAssets string
}

// LabelGroup is one --group: a name and its own labels, scored with their own softmax.
type LabelGroup struct {
	Name   string
	Labels []string
}

// NewCmdClassify builds `fashionclip classify`.
func NewCmdClassify(f *cmdutil.Factory, runF func(*ClassifyOptions) error) *cobra.Command {
	opts := &ClassifyOptions{f: f}
	cmd := &cobra.Command{
		Use:   "classify PATH... --labels a,b,c",
		Short: "Zero-shot tag images with labels you choose",
		Long: `Score every image against the given labels (zero-shot): softmax over the labels of
logit_scale × cosine(image, "a photo of a <label>").

Inputs are files, folders (walked recursively; only image extensions are chosen:
jpg, jpeg, png, gif, webp, bmp, tif, tiff), glob patterns, or '-' for a list of
paths on stdin. Results stream in input order: a table on a terminal, JSON Lines
in a pipe.`,
		Example: `  fashionclip classify ./shoes --labels "sneaker,boot,sandal"
  fashionclip classify catalog/ --group type=dress,shirt,coat --group colour=black,white,red
  find . -name '*.jpg' -print0 | fashionclip classify -0 - --labels "dress,shirt" | jq -r '.labels[0].label'
  fashionclip classify img.jpg --label "t-shirt, cotton" --template "{}" --raw-scores --min-score 0.25`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Inputs = args
			opts.hasMin = cmd.Flags().Changed("min-score")
			if err := opts.validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return classifyRun(cmd, opts)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVarP(&opts.labelsCSV, "labels", "l", nil, `comma-separated labels (repeatable; quote a label holding a comma: '"t-shirt, cotton",jeans')`)
	fl.StringArrayVar(&opts.labelOne, "label", nil, "one label (repeatable; may contain commas)")
	fl.StringVar(&opts.LabelsFile, "labels-file", "", "file with one label per line (blank lines and # comments skipped)")
	fl.StringArrayVar(&opts.GroupSpecs, "group", nil, "a label group NAME=a,b,c scored with its own softmax (repeatable)")
	fl.StringArrayVar(&opts.Templates, "template", nil, `prompt template with {} for the label (repeatable: averaged; default "`+fashionclip.DefaultTemplate+`")`)
	fl.BoolVar(&opts.RawScores, "raw-scores", false, "report cosine similarity instead of softmax probability")
	fl.IntVarP(&opts.TopK, "top-k", "k", 3, "labels kept per image and group (0 = all)")
	fl.Float64Var(&opts.MinScore, "min-score", 0, "keep only labels scoring at least this (a cosine with --raw-scores)")
	fl.StringVarP(&opts.Format, "format", "f", "", "table, jsonl, json, tsv or csv (default: table on a terminal, jsonl otherwise)")
	fl.StringVar(&opts.Report, "report", "", "also write an HTML report of the results (thumbnails inline; opens offline)")
	fl.StringVar(&opts.ReportAssets, "report-assets", "", "with --report, write the thumbnails into this folder instead of inline (large runs)")
	opts.In.Bind(cmd, true)
	return cmd
}

func (o *ClassifyOptions) validate() error {
	if len(o.Inputs) == 0 {
		return cmdutil.UsageError("no input: name image files, folders, globs, or '-' for paths on stdin")
	}
	for _, list := range o.labelsCSV {
		more, err := labels.Split(list)
		if err != nil {
			return &cmdutil.ExitError{Code: cmdutil.ExitUsage, Err: fmt.Errorf("--labels: %w", err)}
		}
		o.Labels = append(o.Labels, more...)
	}
	for _, l := range o.labelOne {
		if strings.TrimSpace(l) == "" {
			return cmdutil.UsageError("--label must not be empty")
		}
		o.Labels = append(o.Labels, l)
	}
	for _, spec := range o.GroupSpecs {
		name, list, ok := strings.Cut(spec, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return cmdutil.UsageError("--group %q: want NAME=label,label,...", spec)
		}
		g := LabelGroup{Name: name}
		var err error
		if g.Labels, err = labels.Split(list); err != nil {
			return &cmdutil.ExitError{Code: cmdutil.ExitUsage, Err: fmt.Errorf("--group %q: %w", name, err)}
		}
		if len(g.Labels) == 0 {
			return cmdutil.UsageError("--group %q has no labels", name)
		}
		for _, prev := range o.Groups {
			if prev.Name == name {
				return cmdutil.UsageError("--group %q given twice", name)
			}
		}
		o.Groups = append(o.Groups, g)
	}
	if o.LabelsFile == "" && len(o.Labels) == 0 && len(o.Groups) == 0 {
		return cmdutil.UsageError("no labels: give --labels a,b,c, --label X, --labels-file FILE or --group NAME=a,b")
	}
	for _, t := range o.Templates {
		if err := fashionclip.ValidateTemplate(t); err != nil {
			return &cmdutil.ExitError{Code: cmdutil.ExitUsage, Err: err}
		}
	}
	if o.TopK < 0 {
		return cmdutil.UsageError("--top-k must be 0 (all) or more")
	}
	if _, err := output.Resolve(o.Format, false); err != nil {
		return &cmdutil.ExitError{Code: cmdutil.ExitUsage, Err: err}
	}
	if o.ReportAssets != "" && o.Report == "" {
		return cmdutil.UsageError("--report-assets goes with --report FILE")
	}
	return o.In.Validate()
}

// checkLabels applies the softmax rules to each group of labels scored
// together: labels the tokenizer cannot tell apart are a usage error (they
// would split one probability), and a lone label gets a warning (softmax
// scores it 1 whatever the image), as does a prompt the tokenizer cuts.
// Warnings about what the scores mean print even with --quiet, as the
// synthetic-model and device warnings do.
func checkLabels(f *cmdutil.Factory, m *fashionclip.Model, o *ClassifyOptions) error {
	tok, err := m.Tokenizer()
	if err != nil {
		return err
	}
	check := func(group string, list []string) error {
		err := labels.CheckDistinct(list, tok.Encode)
		if err != nil && group != "" {
			err = fmt.Errorf("--group %q: %w", group, err)
		}
		if err != nil {
			return &cmdutil.ExitError{Code: cmdutil.ExitUsage, Err: err}
		}
		if len(list) == 1 && !o.RawScores {
			what := "one label"
			if group != "" {
				what = fmt.Sprintf("group %q has one label", group)
			}
			f.Errorf("WARNING: %s (%q): softmax scores it 1 for every image; add labels to choose between, or pass --raw-scores for its cosine similarity (a space in the list? quote it: --labels \"a, b\")", what, list[0])
		}
		return nil
	}
	if len(o.Labels) > 0 {
		if err := check("", o.Labels); err != nil {
			return err
		}
	}
	for _, g := range o.Groups {
		if err := check(g.Name, g.Labels); err != nil {
			return err
		}
	}
	templates := o.Templates
	if len(templates) == 0 {
		templates = []string{fashionclip.DefaultTemplate}
	}
	var prompts []string
	for _, list := range append([][]string{o.Labels}, groupLabels(o.Groups)...) {
		for _, l := range list {
			for _, t := range templates {
				prompts = append(prompts, fashionclip.Prompt(t, l))
			}
		}
	}
	cmdutil.WarnTruncated(f, tok, "prompt", prompts)
	return nil
}

func groupLabels(groups []LabelGroup) [][]string {
	out := make([][]string, len(groups))
	for i, g := range groups {
		out[i] = g.Labels
	}
	return out
}

func classifyRun(cmd *cobra.Command, o *ClassifyOptions) error {
	ctx := cmd.Context()
	f := o.f
	if o.LabelsFile != "" {
		more, err := cmdutil.ReadLinesFile(o.LabelsFile)
		if err != nil {
			return fmt.Errorf("labels file: %w", err)
		}
		o.Labels = append(o.Labels, more...)
	}
	format, _ := output.Resolve(o.Format, f.IO.IsStdoutTTY())
	m, err := f.LoadModel(ctx, "", o.In.ModelOptions)
	if err != nil {
		return err
	}
	defer m.Close()
	if err := checkLabels(f, m, o); err != nil {
		return err
	}
	m.Preload(fashionclip.VisionTower) // loads while the labels are embedded

	copts := fashionclip.ClassifierOptions{Templates: o.Templates,
		ScoreOptions: fashionclip.ScoreOptions{Raw: o.RawScores, TopK: o.TopK, MinScore: o.MinScore, HasMinScore: o.hasMin}}
	var plain *fashionclip.Classifier
	if len(o.Labels) > 0 {
		if plain, err = m.NewClassifier(ctx, o.Labels, copts); err != nil {
			return err
		}
	}
	groups := make([]*fashionclip.Classifier, len(o.Groups))
	for i, g := range o.Groups {
		if groups[i], err = m.NewClassifier(ctx, g.Labels, copts); err != nil {
			return err
		}
	}

	sink, closeSink := classifySink(f, format, o)
	rep, err := o.openReport()
	if err != nil {
		return err
	}
	run, err := cmdutil.ForEachImage(ctx, f, m, o.Inputs, o.In, func(r fashionclip.Result[*cmdutil.ImageItem]) error {
		rec := classifyRecord{Path: r.Item.Path}
		if rep != nil {
			defer func() { o.addToReport(rep, rec, r) }()
		}
		if r.Err != nil {
			rec.Err = r.Err.Error()
			return sink(rec)
		}
		if plain != nil {
			rec.Labels = plain.Classify(r.Embedding)
			if rec.Labels == nil {
				rec.Labels = []fashionclip.LabelScore{}
			}
		}
		for i, g := range groups {
			rec.Groups = append(rec.Groups, scoredGroup{Name: o.Groups[i].Name, Scores: g.Classify(r.Embedding)})
		}
		return sink(rec)
	})
	if cerr := closeSink(); err == nil && cerr != nil && !output.IsClosedPipe(cerr) {
		err = cerr
	}
	if rep != nil {
		if err != nil {
			rep.Abort()
		} else if err = rep.Close(); err != nil {
			err = fmt.Errorf("--report: %w", err)
		}
	}
	if err != nil {
		return err
	}
	return run.ExitFor(o.Inputs)
}
