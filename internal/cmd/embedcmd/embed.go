// Package embedcmd is `fashionclip embed`, with and without -o INDEX:
// flags, wiring and rendering (NewCmdX(f, runF), XOptions, xRun) over the
// library packages.
package embedcmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fashionclip/fashionclip/internal/cmdutil"
	"github.com/fashionclip/fashionclip/internal/output"
	"github.com/fashionclip/fashionclip/pkg/fashionclip"
)

// EmbedOptions are embed's flags and arguments.
type EmbedOptions struct {
	f        *cmdutil.Factory
	Inputs   []string
	Texts    []string
	TextFile string
	// Index is -o: write an on-disk index instead of JSON Lines.
	Index string
	In    cmdutil.InputFlags
	// Index-only flags (see embed_index.go).
	Dtype  string
	Hash   bool
	Shard  string
	Shards int
}

// NewCmdEmbed builds `fashionclip embed`.
func NewCmdEmbed(f *cmdutil.Factory, runF func(*EmbedOptions) error) *cobra.Command {
	opts := &EmbedOptions{f: f}
	cmd := &cobra.Command{
		Use:   "embed [--text T]... [PATH...] [-o INDEX]",
		Short: "Embed texts and images (JSON Lines, or an on-disk index with -o)",
		Long: `Print one JSON line per input, texts first, then images in input order:
  {"text": <text>, "embedding": [...]}   or   {"path": <path>, "embedding": [...]}
Embeddings are L2-normalised; floats are the shortest decimals that round-trip the
float32 values. A failed input gives {"path": ..., "error": ...}. Compare with Python:
CLIPModel.get_text_features / get_image_features, normalised.`,
		Example: `  fashionclip embed --text "red dress" --text "blue jeans"
  fashionclip embed shoes/ > shoes.jsonl
  fashionclip embed catalog/ -o catalog.idx`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Inputs = args
			if len(args) == 0 && len(opts.Texts) == 0 && opts.TextFile == "" {
				return cmdutil.UsageError("nothing to embed: give --text T, --text-file F or image paths")
			}
			if err := opts.In.Validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			if opts.Index != "" {
				return embedIndexRun(cmd, opts)
			}
			return embedRun(cmd, opts)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVarP(&opts.Texts, "text", "t", nil, "a text to embed (repeatable)")
	fl.StringVar(&opts.TextFile, "text-file", "", "file with one text per line")
	fl.StringVarP(&opts.Index, "output", "o", "", "write an index folder instead of JSON Lines")
	opts.In.Bind(cmd, true)
	bindEmbedIndexFlags(cmd, opts)
	return cmd
}

type textEmbedding struct {
	Text      string    `json:"text"`
	Embedding []float32 `json:"embedding"`
}

type imageEmbedding struct {
	Path      string    `json:"path"`
	Embedding []float32 `json:"embedding,omitempty"`
	Error     string    `json:"error,omitempty"`
}

// allTexts is --text followed by the lines of --text-file.
func (o *EmbedOptions) allTexts() ([]string, error) {
	if o.TextFile == "" {
		return o.Texts, nil
	}
	more, err := cmdutil.ReadLinesFile(o.TextFile)
	if err != nil {
		return nil, fmt.Errorf("text file: %w", err)
	}
	return append(append([]string(nil), o.Texts...), more...), nil
}

func embedRun(cmd *cobra.Command, o *EmbedOptions) error {
	ctx := cmd.Context()
	f := o.f
	texts, err := o.allTexts()
	if err != nil {
		return err
	}
	m, err := f.LoadModel(ctx, "", o.In.ModelOptions)
	if err != nil {
		return err
	}
	defer m.Close()
	w := output.NewRecordWriter(f.IO.Out, false)
	if len(texts) > 0 {
		if tok, err := m.Tokenizer(); err == nil {
			cmdutil.WarnTruncated(f, tok, "text", texts)
		}
		embs, err := m.EncodeTexts(ctx, texts)
		if err != nil {
			return err
		}
		for i, t := range texts {
			if err := w.Write(textEmbedding{Text: t, Embedding: embs[i]}); err != nil {
				return cmdutil.QuietPipe(err)
			}
		}
	}
	if len(o.Inputs) == 0 {
		return nil
	}
	run, err := cmdutil.ForEachImage(ctx, f, m, o.Inputs, o.In, func(r fashionclip.Result[*cmdutil.ImageItem]) error {
		rec := imageEmbedding{Path: r.Item.Path, Embedding: r.Embedding}
		if r.Err != nil {
			rec.Error = r.Err.Error()
		}
		return w.Write(rec)
	})
	if err != nil {
		return err
	}
	return run.ExitFor(o.Inputs)
}
