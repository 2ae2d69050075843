package classifycmd

// What classify prints and reports: its records, the sink that writes them
// in the chosen format, and the HTML report.

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/fashionclip/fashionclip/internal/cmdutil"
	"github.com/fashionclip/fashionclip/internal/output"
	"github.com/fashionclip/fashionclip/internal/report"
	"github.com/fashionclip/fashionclip/pkg/fashionclip"
)

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
	o.In.Thumbnails = reportThumbEdge
	return rep, nil
}

// addToReport keeps one result for the report; a thumbnail it refuses is a
// note, never a failed input.
func (o *ClassifyOptions) addToReport(rep *report.Classify, rec classifyRecord, r fashionclip.Result[*cmdutil.ImageItem]) {
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
func classifySink(f *cmdutil.Factory, format output.Format, o *ClassifyOptions) (func(classifyRecord) error, func() error) {
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
