package cli

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fashionclip/fashionclip/internal/output"
	"github.com/fashionclip/fashionclip/internal/source"
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
	fl.StringSliceVarP(&opts.labelsCSV, "labels", "l", nil, "comma-separated labels")
	fl.StringArrayVar(&opts.labelOne, "label", nil, "one label (repeatable; may contain commas)")
	fl.StringVar(&opts.LabelsFile, "labels-file", "", "file with one label per line")
	fl.StringArrayVar(&opts.GroupSpecs, "group", nil, "a label group NAME=a,b,c scored with its own softmax (repeatable)")
	fl.StringArrayVar(&opts.Templates, "template", nil, `prompt template with {} for the label (repeatable: averaged; default "`+fashionclip.DefaultTemplate+`")`)
	fl.BoolVar(&opts.RawScores, "raw-scores", false, "report cosine similarity instead of softmax probability")
	fl.IntVarP(&opts.TopK, "top-k", "k", 3, "labels kept per image and group (0 = all)")
	fl.Float64Var(&opts.MinScore, "min-score", 0, "keep only labels scoring at least this (a cosine with --raw-scores)")
	fl.StringVarP(&opts.Format, "format", "f", "", "table, jsonl, json, tsv or csv (default: table on a terminal, jsonl otherwise)")
	opts.In.bind(cmd, true)
	return cmd
}

func (o *ClassifyOptions) validate() error {
	if len(o.Inputs) == 0 {
		return UsageError("no input: name image files, folders, globs, or '-' for paths on stdin")
	}
	for _, l := range o.labelsCSV {
		if l = strings.TrimSpace(l); l != "" {
			o.Labels = append(o.Labels, l)
		}
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
		for _, l := range strings.Split(list, ",") {
			if l = strings.TrimSpace(l); l != "" {
				g.Labels = append(g.Labels, l)
			}
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
	return o.In.validate()
}

// readLinesFile reads one entry per line (labels, texts), skipping blank lines.
func readLinesFile(path string) ([]string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	var out []string
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s is empty", path)
	}
	return out, nil
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
	run, err := forEachImage(ctx, f, m, o.Inputs, o.In, func(r fashionclip.Result[source.Item]) error {
		rec := classifyRecord{Path: r.Item.Path}
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
	if err != nil {
		return err
	}
	return run.exitFor(o.Inputs)
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
		t := output.NewTableWriter(f.IO.Out, header...)
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
