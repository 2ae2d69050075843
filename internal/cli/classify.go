package cli

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fashionclip/fashionclip/internal/labels"
	"github.com/fashionclip/fashionclip/internal/output"
	"github.com/fashionclip/fashionclip/internal/report"
	"github.com/fashionclip/fashionclip/pkg/fashionclip"
)

// ClassifyOptions are classify's flags and arguments.
type ClassifyOptions struct {
	f      *Factory
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
	In         InputFlags
	// Report is --report FILE (HTML), ReportAssets its --report-assets DIR.
	Report, ReportAssets string
}

// LabelGroup is one --group: a name and its own labels, scored with their own softmax.
type LabelGroup struct {
	Name   string
	Labels []string
}

// NewCmdClassify builds `fashionclip classify`.
func NewCmdClassify(f *Factory, runF func(*ClassifyOptions) error) *cobra.Command {
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
	opts.In.bind(cmd, true)
	return cmd
}

func (o *ClassifyOptions) validate() error {
	if len(o.Inputs) == 0 {
		return UsageError("no input: name image files, folders, globs, or '-' for paths on stdin")
	}
	for _, list := range o.labelsCSV {
		more, err := labels.Split(list)
		if err != nil {
			return &ExitError{Code: ExitUsage, Err: fmt.Errorf("--labels: %w", err)}
		}
		o.Labels = append(o.Labels, more...)
	}
	for _, l := range o.labelOne {
		if strings.TrimSpace(l) == "" {
			return UsageError("--label must not be empty")
		}
		o.Labels = append(o.Labels, l)
	}
	for _, spec := range o.GroupSpecs {
		name, list, ok := strings.Cut(spec, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return UsageError("--group %q: want NAME=label,label,...", spec)
		}
		g := LabelGroup{Name: name}
		var err error
		if g.Labels, err = labels.Split(list); err != nil {
			return &ExitError{Code: ExitUsage, Err: fmt.Errorf("--group %q: %w", name, err)}
		}
		if len(g.Labels) == 0 {
			return UsageError("--group %q has no labels", name)
		}
		for _, prev := range o.Groups {
			if prev.Name == name {
				return UsageError("--group %q given twice", name)
			}
		}
		o.Groups = append(o.Groups, g)
	}
	if o.LabelsFile == "" && len(o.Labels) == 0 && len(o.Groups) == 0 {
		return UsageError("no labels: give --labels a,b,c, --label X, --labels-file FILE or --group NAME=a,b")
	}
	for _, t := range o.Templates {
		if err := fashionclip.ValidateTemplate(t); err != nil {
			return &ExitError{Code: ExitUsage, Err: err}
		}
	}
	if o.TopK < 0 {
		return UsageError("--top-k must be 0 (all) or more")
	}
	if _, err := output.Resolve(o.Format, false); err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	if o.ReportAssets != "" && o.Report == "" {
		return UsageError("--report-assets goes with --report FILE")
	}
	return o.In.validate()
}

// readLinesFile reads a list file (labels, texts, templates): one entry a
// line; blank lines and # comments are skipped (labels.ReadLines).
func readLinesFile(path string) ([]string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	out, err := labels.ReadLines(fh)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no entry (blank lines and # comments do not count)", path)
	}
	return out, nil
}

// checkLabels applies the softmax rules to each group of labels scored
// together: labels the tokenizer cannot tell apart are a usage error (they
// would split one probability), and a lone label gets a warning (softmax
// scores it 1 whatever the image).
func checkLabels(f *Factory, m *fashionclip.Model, o *ClassifyOptions) error {
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
			return &ExitError{Code: ExitUsage, Err: err}
		}
		if len(list) == 1 && !o.RawScores {
			what := "one label"
			if group != "" {
				what = fmt.Sprintf("group %q has one label", group)
			}
			f.Warnf("WARNING: %s (%q): softmax scores it 1 for every image; add labels to choose between, or pass --raw-scores for its cosine similarity (a space in the list? quote it: --labels \"a, b\")", what, list[0])
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
	if cut := labels.Truncated(prompts, tok); len(cut) > 0 {
		more := ""
		if len(cut) > 1 {
			more = fmt.Sprintf(" (and %d more)", len(cut)-1)
		}
		f.Warnf("WARNING: %s over CLIP's %d tokens cut short: the model sees only the start of %q%s", output.Plural(len(cut), "prompt"), tok.MaxLength, cut[0], more)
	}
	return nil
}

func groupLabels(groups []LabelGroup) [][]string {
	out := make([][]string, len(groups))
	for i, g := range groups {
		out[i] = g.Labels
	}
	return out
}

// scoredGroup is one group's result for one image.
type scoredGroup struct {
	Name   string
	Scores []fashionclip.LabelScore
}

// classifyRecord is one input's JSON object. Groups keep the order given on
// the command line, so it is marshalled by hand.
type classifyRecord struct {
	Path   string
	Labels []fashionclip.LabelScore
	Groups []scoredGroup
	Err    string
}

func (r classifyRecord) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	path, _ := output.MarshalJSON(r.Path)
	b.WriteString(`{"path":`)
	b.Write(path)
	if r.Err != "" {
		e, _ := output.MarshalJSON(r.Err)
		b.WriteString(`,"error":`)
		b.Write(e)
		b.WriteString("}")
		return []byte(b.String()), nil
	}
	if r.Labels != nil {
		l, _ := output.MarshalJSON(r.Labels)
		b.WriteString(`,"labels":`)
		b.Write(l)
	}
	if len(r.Groups) > 0 {
		b.WriteString(`,"groups":{`)
		for i, g := range r.Groups {
			if i > 0 {
				b.WriteString(",")
			}
			n, _ := output.MarshalJSON(g.Name)
			s, _ := output.MarshalJSON(g.Scores)
			b.Write(n)
			b.WriteString(":")
			b.Write(s)
		}
		b.WriteString("}")
	}
	b.WriteString("}")
	return []byte(b.String()), nil
}

func classifyRun(cmd *cobra.Command, o *ClassifyOptions) error {
	ctx := cmd.Context()
	f := o.f
	if o.LabelsFile != "" {
		more, err := readLinesFile(o.LabelsFile)
		if err != nil {
			return fmt.Errorf("labels file: %w", err)
		}
		o.Labels = append(o.Labels, more...)
	}
	format, _ := output.Resolve(o.Format, f.IO.IsStdoutTTY())
	m, err := f.LoadModel(ctx, "", o.In.modelOptions)
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
	run, err := forEachImage(ctx, f, m, o.Inputs, o.In, func(r fashionclip.Result[*imageItem]) error {
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
	return run.exitFor(o.Inputs)
}

// reportThumbEdge is the longest side of report thumbnails: 10,000 of them
// stay near 40 MB inline.
const reportThumbEdge = 160

// openReport starts --report's HTML report, if asked for.
func (o *ClassifyOptions) openReport() (*report.Classify, error) {
	if o.Report == "" {
		return nil, nil
	}
	groups := []report.LabelGroup{}
	if len(o.Labels) > 0 {
		groups = append(groups, report.LabelGroup{Labels: o.Labels})
	}
	for _, g := range o.Groups {
		groups = append(groups, report.LabelGroup{Name: g.Name, Labels: g.Labels})
	}
	rep, err := report.NewClassify(o.Report, report.Options{Command: "fashionclip classify " + strings.Join(o.Inputs, " "),
		AssetsDir: o.ReportAssets, RawScores: o.RawScores, Groups: groups})
	if err != nil {
		return nil, fmt.Errorf("--report: %w", err)
	}
	o.In.thumbnails = reportThumbEdge
	return rep, nil
}

// addToReport keeps one result for the report; a thumbnail it refuses is a
// note, never a failed input.
func (o *ClassifyOptions) addToReport(rep *report.Classify, rec classifyRecord, r fashionclip.Result[*imageItem]) {
	rr := report.Record{Path: rec.Path, Err: r.Err, Thumbnail: r.Item.Thumb}
	add := func(name string, scores []fashionclip.LabelScore) {
		g := report.Group{Name: name}
		for _, s := range scores {
			g.Scores = append(g.Scores, report.Score{Label: s.Label, Score: s.Score})
		}
		rr.Groups = append(rr.Groups, g)
	}
	if r.Err == nil {
		if rec.Labels != nil {
			add("", rec.Labels)
		}
		for _, g := range rec.Groups {
			add(g.Name, g.Scores)
		}
	}
	if err := rep.Add(rr); err != nil {
		o.f.Warnf("--report: %v", err)
	}
}

// classifySink picks the writer for the format. It returns the per-record
// function and a closer.
func classifySink(f *Factory, format output.Format, o *ClassifyOptions) (func(classifyRecord) error, func() error) {
	score := func(s float64) string { return strconv.FormatFloat(s, 'g', -1, 64) }
	switch format {
	case output.JSONL, output.JSON:
		w := output.NewRecordWriter(f.IO.Out, format == output.JSON)
		return func(r classifyRecord) error { return w.Write(r) }, w.Close
	case output.TSV, output.CSV:
		w := output.NewRowWriter(f.IO.Out, format)
		headerDone := false
		return func(r classifyRecord) error {
			if !headerDone {
				headerDone = true
				if err := w.Write("path", "group", "label", "score"); err != nil {
					return err
				}
			}
			if r.Err != "" {
				return nil // errors go to stderr; rows hold scores only
			}
			for _, s := range r.Labels {
				if err := w.Write(r.Path, "", s.Label, score(s.Score)); err != nil {
					return err
				}
			}
			for _, g := range r.Groups {
				for _, s := range g.Scores {
					if err := w.Write(r.Path, g.Name, s.Label, score(s.Score)); err != nil {
						return err
					}
				}
			}
			return nil
		}, func() error { return nil }
	default:
		header := []string{"PATH"}
		if len(o.Labels) > 0 || o.LabelsFile != "" {
			header = append(header, "LABELS")
		}
		for _, g := range o.Groups {
			header = append(header, strings.ToUpper(g.Name))
		}
		t := output.NewTable(f.IO.Out, output.TableOptions{Kinds: []output.ColumnKind{output.PathColumn}}, header...)
		cell := func(scores []fashionclip.LabelScore) string {
			parts := make([]string, len(scores))
			for i, s := range scores {
				parts[i] = fmt.Sprintf("%s %s", s.Label, output.FormatScore(s.Score))
			}
			return strings.Join(parts, ", ")
		}
		return func(r classifyRecord) error {
			row := []string{r.Path}
			if r.Err != "" {
				row = append(row, "ERROR: "+r.Err)
				for len(row) < len(header) {
					row = append(row, "")
				}
			} else {
				if len(header) > 1+len(o.Groups) {
					row = append(row, cell(r.Labels))
				}
				for _, g := range r.Groups {
					row = append(row, cell(g.Scores))
				}
			}
			t.Append(row...)
			// A terminal user sees results in chunks rather than at the very end.
			if t.Len() >= 20 {
				return t.Flush()
			}
			return nil
		}, t.Close
	}
}
