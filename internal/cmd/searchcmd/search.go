// Package searchcmd is `fashionclip search`: flags, wiring and rendering
// (NewCmdX(f, runF), XOptions, xRun) over the library packages.
package searchcmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fashionclip/fashionclip/internal/cmdutil"
	"github.com/fashionclip/fashionclip/internal/index"
	"github.com/fashionclip/fashionclip/internal/output"
	"github.com/fashionclip/fashionclip/internal/query"
	"github.com/fashionclip/fashionclip/internal/report"
	"github.com/fashionclip/fashionclip/internal/thumbnail"
	"github.com/fashionclip/fashionclip/pkg/fashionclip"
)

// SearchOptions are search's flags and arguments.
type SearchOptions struct {
	f      *cmdutil.Factory
	Index  string
	Query  []string
	Images []string
	TopK   int
	// MinScore applies when HasMinScore (0 is a meaningful cosine).
	MinScore    float64
	HasMinScore bool
	Format      string
	// Report is --report FILE (HTML); Paths prints bare image paths.
	Report string
	Paths  bool
	// ImagesOnly and TextsOnly limit the results to one kind of item.
	ImagesOnly, TextsOnly bool
	// AllowVariantMismatch searches an index made by another variant of
	// the model (close vectors, not equal ones).
	AllowVariantMismatch bool
	// Terms is the parsed query: --image terms first, then the positional ones.
	Terms []query.Term
}

// NewCmdSearch builds `fashionclip search`.
func NewCmdSearch(f *cmdutil.Factory, runF func(*SearchOptions) error) *cobra.Command {
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
Without --model, the model recorded in the index is used, and without --variant its
variant; another variant of the same model is refused unless --allow-variant-mismatch.`,
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
	fl.StringVar(&opts.Report, "report", "", "also write the results as an HTML page with thumbnails")
	fl.BoolVar(&opts.Paths, "paths", false, "print bare image paths, one per line (for | xargs feh); only images are searched")
	fl.BoolVar(&opts.ImagesOnly, "images-only", false, "only images in the results")
	fl.BoolVar(&opts.TextsOnly, "texts-only", false, "only texts in the results")
	fl.BoolVar(&opts.AllowVariantMismatch, "allow-variant-mismatch", false, "search an index made by another variant of the model (scores close, not equal)")
	return cmd
}

func (o *SearchOptions) validate() error {
	if o.ImagesOnly && o.TextsOnly {
		return cmdutil.UsageError("--images-only and --texts-only exclude each other")
	}
	if o.Paths && o.TextsOnly {
		return cmdutil.UsageError("--paths prints images: it does not mix with --texts-only")
	}
	if o.Paths && o.Format != "" {
		return cmdutil.UsageError("--paths prints bare paths: it does not mix with --format")
	}
	if o.TopK < 1 {
		return cmdutil.UsageError("--top-k must be at least 1")
	}
	if _, err := output.Resolve(o.Format, false); err != nil {
		return &cmdutil.ExitError{Code: cmdutil.ExitUsage, Err: err}
	}
	terms, err := query.Parse(o.Query, o.Images, func(p string) bool { _, err := os.Stat(p); return err == nil })
	var it *query.ImageTermError
	switch {
	case errors.As(err, &it):
		return cmdutil.UsageError("--image %s: %v", it.Term, it.Err)
	case errors.Is(err, query.ErrEmpty):
		return cmdutil.UsageError("no query: give a text after INDEX, or --image FILE")
	case err != nil:
		return &cmdutil.ExitError{Code: cmdutil.ExitUsage, Err: err}
	}
	o.Terms = terms
	return nil
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
	ref := ""
	if f.Flags.Model == "" && f.Getenv(cmdutil.EnvModel) == "" {
		// The index knows its model: use it unless told otherwise.
		if ref, err = index.ModelRef(o.Index, man.Model); err != nil {
			return err
		}
	}
	m, err := f.LoadModel(ctx, ref, func(opts *fashionclip.Options) {
		if f.Flags.Variant == "" && man.Model.Variant != "" {
			opts.Variant = man.Model.Variant // the index's, unless told otherwise
		}
	})
	if err != nil {
		return err
	}
	defer m.Close()
	info, err := cmdutil.IndexModelInfo(m)
	if err != nil {
		return err
	}
	if err := index.CheckModel(o.Index, man.Model, info); err != nil {
		var vm *index.VariantMismatchError
		if !errors.As(err, &vm) || !o.AllowVariantMismatch {
			return err
		}
		f.Warnf("%v; searching all the same (--allow-variant-mismatch): scores are close to, not equal to, the index's own", err)
	}
	format, _ := output.Resolve(o.Format, f.IO.IsStdoutTTY())
	if ix.Len() == 0 {
		f.Warnf("index %s is empty", o.Index)
		return writeSearchHits(f, format, nil)
	}
	q, err := queryVector(ctx, f, m, o.Terms)
	if err != nil {
		return err
	}
	kind := index.AnyKind
	if o.ImagesOnly || o.Paths {
		kind = index.ImagesOnly // --paths prints images: k of them
	} else if o.TextsOnly {
		kind = index.TextsOnly
	}
	hits, err := ix.Search(q, index.SearchOptions{K: o.TopK, MinScore: o.MinScore, HasMinScore: o.HasMinScore,
		Workers: f.ThreadBudget(), Kind: kind})
	if err != nil {
		return err
	}
	if o.Report != "" {
		if err := writeSearchReport(ctx, o, ix, hits); err != nil {
			return fmt.Errorf("--report: %w", err)
		}
	}
	if o.Paths {
		for _, h := range hits {
			if !h.Item.IsText {
				// Where the file is, for a viewer: the stored path is
				// relative to the index's root, not to the working folder.
				if _, err := fmt.Fprintln(f.IO.Out, ix.FilePath(h.Item.Path)); err != nil {
					return cmdutil.QuietPipe(err)
				}
			}
		}
		return nil
	}
	return writeSearchHits(f, format, hits)
}

// writeSearchReport writes the hits as an HTML page, with a thumbnail of
// each image that still decodes; the page names the files where they are
// (its links open them), not as the index stores them.
func writeSearchReport(ctx context.Context, o *SearchOptions, ix *index.Index, hits []index.Hit) error {
	out := make([]report.SearchHit, len(hits))
	for i, h := range hits {
		out[i] = report.SearchHit{Path: ix.FilePath(h.Item.Path), Text: h.Item.Text, IsText: h.Item.IsText, Score: h.Score}
		if !h.Item.IsText {
			out[i].Thumbnail, _ = thumbnail.FromFile(ctx, out[i].Path, thumbnail.Options{MaxEdge: 256})
		}
	}
	q := strings.Join(o.Query, " ")
	for _, img := range o.Images {
		q = strings.TrimSpace("image " + img + " " + q)
	}
	return report.WriteSearch(o.Report, report.SearchInfo{Query: q, Index: o.Index}, out,
		report.Options{Command: "fashionclip search " + o.Index + " " + q})
}

// queryVector embeds the terms and combines them.
func queryVector(ctx context.Context, f *cmdutil.Factory, m *fashionclip.Model, terms []query.Term) ([]float32, error) {
	var texts []string
	for _, t := range terms {
		if t.Image == "" {
			texts = append(texts, t.Text)
		}
	}
	if tok, err := m.Tokenizer(); err == nil && len(texts) > 0 {
		cmdutil.WarnTruncated(f, tok, "query term", texts)
	}
	images := func(ctx context.Context, paths []string) ([][]float32, error) {
		res, err := m.EncodeImageFiles(ctx, paths)
		if err != nil {
			return nil, err
		}
		embs := make([][]float32, len(res))
		for i, r := range res {
			if r.Err != nil {
				return nil, fmt.Errorf("--image %s: %w", r.Item, r.Err)
			}
			embs[i] = r.Embedding
		}
		return embs, nil
	}
	return query.Embed(ctx, terms, m.EncodeTexts, images)
}

func writeSearchHits(f *cmdutil.Factory, format output.Format, hits []index.Hit) error {
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
		if len(recs) == 0 {
			f.Errorf("no match")
			return nil
		}
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
	return cmdutil.QuietPipe(err)
}
