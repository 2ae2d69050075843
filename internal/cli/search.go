package cli

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fashionclip/fashionclip/internal/index"
	"github.com/fashionclip/fashionclip/internal/output"
	"github.com/fashionclip/fashionclip/pkg/fashionclip"
)

func init() {
	extraCommands = append(extraCommands, func(f *Factory) *cobra.Command { return NewCmdSearch(f, nil) })
}

// SearchOptions are search's flags and arguments.
type SearchOptions struct {
	f      *Factory
	Index  string
	Query  []string
	Images []string
	TopK   int
	// MinScore applies when HasMinScore (0 is a meaningful cosine).
	MinScore    float64
	HasMinScore bool
	Format      string
	// Terms is the parsed query: --image terms first, then the positional ones.
	Terms []QueryTerm
}

// QueryTerm is one weighted part of a query: a text or an image file.
type QueryTerm struct {
	Weight float64
	Text   string
	Image  string
}

// NewCmdSearch builds `fashionclip search`.
func NewCmdSearch(f *Factory, runF func(*SearchOptions) error) *cobra.Command {
	opts := &SearchOptions{f: f}
	cmd := &cobra.Command{
		Use:   "search INDEX [QUERY...] [--image FILE]...",
		Short: "Find the items of an index closest to a text and/or image query",
		Long: `Search an index made by 'fashionclip embed -o INDEX' for the items whose embeddings have
the largest cosine with the query. The scan is exact (every live row is scored).

QUERY is a term, optionally followed by more terms, each after an operator argument:
  search idx "white sneaker" - "logo" + 2:"chunky sole"
An operator is an argument that is exactly + or -. A term may start with a weight W:
(a number and a colon, e.g. 2: or 0.5:); the rest of the argument is the text, so
"3-pack crew socks" is one term. Two terms need an operator between them. To search
a text that itself starts with a number and a colon, give it a weight: 1:"12:30 watch".
Negative weights like -1:x look like flags to the shell parser; write - x instead.

--image FILE adds an image term with weight 1; --image W:FILE gives it weight W
(negative to subtract, e.g. --image -0.5:logo.png); a FILE that exists as named is
never read as W:FILE. Image terms come first; with them the QUERY may start with an
operator: search idx --image shoe.jpg - "laces".

The query vector is the normalised weighted sum of the terms' normalised embeddings.
A text-only query loads only the text half of the model.

Output: a table on a terminal, JSON Lines when piped:
  {"path": <image>, "score": <cosine>}   or   {"text": <text>, "score": <cosine>}
Without --model, the model recorded in the index is used.`,
		Example: `  fashionclip search catalog.idx "red floral summer dress"
  fashionclip search catalog.idx "white sneaker" - "logo" + 2:"chunky sole" -k 20
  fashionclip search catalog.idx --image query.jpg - "stripes" --min-score 0.25 -f tsv`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Index, opts.Query = args[0], args[1:]
			opts.HasMinScore = cmd.Flags().Changed("min-score")
			if err := opts.validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return searchRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&opts.Images, "image", nil, "an image term FILE or W:FILE (repeatable)")
	fl.IntVarP(&opts.TopK, "top-k", "k", 10, "number of results")
	fl.Float64Var(&opts.MinScore, "min-score", 0, "drop results with a cosine below this")
	fl.StringVarP(&opts.Format, "format", "f", "", "table, jsonl, json, tsv or csv (default: table on a terminal, jsonl otherwise)")
	return cmd
}

func (o *SearchOptions) validate() error {
	if o.TopK < 1 {
		return UsageError("--top-k must be at least 1")
	}
	if _, err := output.Resolve(o.Format, false); err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	terms, err := ParseQuery(o.Query, o.Images, func(p string) bool { _, err := os.Stat(p); return err == nil })
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	o.Terms = terms
	return nil
}

// weightPrefix is what looks like the start of a weight: a number-ish run
// ending in a colon. It must then parse as a number, or the term is refused
// (rather than silently searched as text).
var weightPrefix = regexp.MustCompile(`^([+-]?[0-9.][0-9.eE+-]*):`)

// splitWeight takes a W: prefix off s; without one the weight is 1.
func splitWeight(s string) (float64, string, error) {
	m := weightPrefix.FindStringSubmatch(s)
	if m == nil {
		return 1, s, nil
	}
	w, err := strconv.ParseFloat(m[1], 64)
	if err != nil || math.IsInf(w, 0) || math.IsNaN(w) {
		return 0, "", fmt.Errorf("bad weight %q in %q (to search this text, write 1:%s)", m[1], s, s)
	}
	if w == 0 {
		return 0, "", fmt.Errorf("weight 0 in %q: the term would do nothing", s)
	}
	return w, s[len(m[0]):], nil
}

// ParseQuery reads the query grammar (see search --help). exists tells
// whether an --image value names a file as it stands.
func ParseQuery(args, images []string, exists func(string) bool) ([]QueryTerm, error) {
	var terms []QueryTerm
	for _, img := range images {
		w, path := 1.0, img
		if !exists(img) {
			var err error
			if w, path, err = splitWeight(img); err != nil {
				return nil, fmt.Errorf("--image: %w", err)
			}
		}
		if path == "" {
			return nil, fmt.Errorf("--image %q names no file", img)
		}
		terms = append(terms, QueryTerm{Weight: w, Image: path})
	}
	const (
		start = iota
		afterTerm
		afterOp
	)
	state, sign, op := start, 1.0, ""
	for _, a := range args {
		if a == "+" || a == "-" {
			switch {
			case state == afterOp:
				return nil, fmt.Errorf("operator %q follows operator %q: put a term between them", a, op)
			case state == start && len(images) == 0:
				return nil, fmt.Errorf("the query starts with the operator %q: start with a term (or an --image)", a)
			}
			state, op, sign = afterOp, a, 1
			if a == "-" {
				sign = -1
			}
			continue
		}
		if state == afterTerm {
			prev := terms[len(terms)-1].Text
			return nil, fmt.Errorf("two terms in a row (%q, %q): quote them as one text, or put + or - between them", prev, a)
		}
		w, text, err := splitWeight(a)
		if err != nil {
			return nil, err
		}
		if strings.TrimSpace(text) == "" {
			return nil, fmt.Errorf("empty term %q", a)
		}
		terms = append(terms, QueryTerm{Weight: sign * w, Text: text})
		state, sign = afterTerm, 1
	}
	if state == afterOp {
		return nil, fmt.Errorf("the query ends with the operator %q: a term must follow it", op)
	}
	if len(terms) == 0 {
		return nil, errors.New("no query: give a text after INDEX, or --image FILE")
	}
	return terms, nil
}

// searchHit is one output record.
type searchHit struct {
	Path  *string `json:"path,omitempty"`
	Text  *string `json:"text,omitempty"`
	Score float64 `json:"score"`
}

func searchRun(ctx context.Context, o *SearchOptions) error {
	f := o.f
	ix, err := index.Open(o.Index)
	if err != nil {
		return err
	}
	defer ix.Close()
	man := ix.Manifest()
	if f.ModelRef == "" && f.Getenv(EnvModel) == "" {
		// The index knows its model: use it unless told otherwise.
		if man.Model.Folder != "" {
			if _, err := os.Stat(man.Model.Folder); err == nil {
				f.ModelRef = man.Model.Folder
			}
		}
		if f.ModelRef == "" && man.Model.Repo != "" {
			f.ModelRef = man.Model.Repo
			if man.Model.Revision != "" {
				f.ModelRef += "@" + man.Model.Revision
			}
		}
	}
	m, err := f.LoadModel(ctx, nil)
	if err != nil {
		return err
	}
	defer m.Close()
	info, err := indexModelInfo(f, m)
	if err != nil {
		return err
	}
	if !man.Model.Same(info) {
		return &index.MismatchError{Index: o.Index, IndexHas: man.Model, Requested: info}
	}
	format, _ := output.Resolve(o.Format, f.IO.IsStdoutTTY())
	if ix.Len() == 0 {
		f.Warnf("index %s is empty", o.Index)
		return writeSearchHits(f, format, nil)
	}
	q, err := queryVector(ctx, m, o.Terms)
	if err != nil {
		return err
	}
	hits, err := ix.Search(q, index.SearchOptions{K: o.TopK, MinScore: o.MinScore, HasMinScore: o.HasMinScore,
		Workers: f.ThreadBudget()})
	if err != nil {
		return err
	}
	return writeSearchHits(f, format, hits)
}

// queryVector embeds the terms and combines them.
func queryVector(ctx context.Context, m *fashionclip.Model, terms []QueryTerm) ([]float32, error) {
	var texts, images []string
	for _, t := range terms {
		if t.Image != "" {
			images = append(images, t.Image)
		} else {
			texts = append(texts, t.Text)
		}
	}
	var textEmb [][]float32
	var err error
	if len(texts) > 0 {
		if textEmb, err = m.EncodeTexts(ctx, texts); err != nil {
			return nil, err
		}
	}
	var imgRes []fashionclip.ImageResult
	if len(images) > 0 {
		if imgRes, err = m.EncodeImageFiles(ctx, images); err != nil {
			return nil, err
		}
		for _, r := range imgRes {
			if r.Err != nil {
				return nil, fmt.Errorf("--image %s: %w", r.Path, r.Err)
			}
		}
	}
	var sum []float64
	ti, ii := 0, 0
	for _, t := range terms {
		var e []float32
		if t.Image != "" {
			e, ii = imgRes[ii].Embedding, ii+1
		} else {
			e, ti = textEmb[ti], ti+1
		}
		if sum == nil {
			sum = make([]float64, len(e))
		}
		for i, x := range e {
			sum[i] += t.Weight * float64(x)
		}
	}
	var norm float64
	for _, x := range sum {
		norm += x * x
	}
	if norm < 1e-12 {
		return nil, errors.New("the query terms cancel out: their weighted sum is zero")
	}
	inv := 1 / math.Sqrt(norm)
	q := make([]float32, len(sum))
	for i, x := range sum {
		q[i] = float32(x * inv)
	}
	return q, nil
}

func writeSearchHits(f *Factory, format output.Format, hits []index.Hit) error {
	recs := make([]searchHit, len(hits))
	for i, h := range hits {
		recs[i].Score = h.Score
		if h.Item.IsText {
			recs[i].Text = &h.Item.Text
		} else {
			recs[i].Path = &h.Item.Path
		}
	}
	var err error
	switch format {
	case output.JSONL, output.JSON:
		w := output.NewRecordWriter(f.IO.Out, format == output.JSON)
		for _, r := range recs {
			if err = w.Write(r); err != nil {
				break
			}
		}
		if err == nil {
			err = w.Close()
		}
	case output.TSV, output.CSV:
		w := output.NewRowWriter(f.IO.Out, format)
		err = w.Write("score", "path", "text")
		for _, r := range recs {
			if err != nil {
				break
			}
			var p, t string
			if r.Path != nil {
				p = *r.Path
			} else {
				t = *r.Text
			}
			err = w.Write(strconv.FormatFloat(r.Score, 'g', -1, 64), p, t)
		}
	default:
		t := output.NewTableWriter(f.IO.Out, "#", "SCORE", "PATH / TEXT")
		for i, r := range recs {
			item := ""
			if r.Path != nil {
				item = *r.Path
			} else {
				item = strconv.Quote(*r.Text) + " (text)"
			}
			t.Append(strconv.Itoa(i+1), output.FormatScore(r.Score), item)
		}
		err = t.Close()
	}
	return quietPipe(err)
}
