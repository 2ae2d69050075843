// Package tokenizecmd is `fashionclip tokenize`: flags, wiring and rendering
// (NewCmdX(f, runF), XOptions, xRun) over the library packages.
package tokenizecmd

import (
	"bufio"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fashionclip/fashionclip/internal/cmdutil"
	"github.com/fashionclip/fashionclip/internal/output"
	"github.com/fashionclip/fashionclip/pkg/fashionclip"
	"github.com/fashionclip/fashionclip/pkg/tokenizer"
)

// TokenizeOptions are tokenize's arguments.
type TokenizeOptions struct {
	f     *cmdutil.Factory
	Texts []string
	stdin bool
}

// NewCmdTokenize builds `fashionclip tokenize`.
func NewCmdTokenize(f *cmdutil.Factory, runF func(*TokenizeOptions) error) *cobra.Command {
	opts := &TokenizeOptions{f: f}
	cmd := &cobra.Command{
		Use:   "tokenize [--model M] [--] TEXT...",
		Short: "Print token ids exactly as Hugging Face's CLIPTokenizerFast does",
		Long: `Print one JSON line per text: {"text": <text>, "ids": [<ids with start and end tokens>]}.
Compare with Python: CLIPTokenizerFast.from_pretrained(...)(text).input_ids.
With no TEXT, one text per line is read from stdin. Use -- before texts that start with '-'.`,
		Example: `  fashionclip tokenize "a photo of a red dress"
  fashionclip tokenize -- "-50% off"
  printf 'sneaker\nboot\n' | fashionclip tokenize`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Texts = args
			opts.stdin = len(args) == 0
			if runF != nil {
				return runF(opts)
			}
			return tokenizeRun(cmd, opts)
		},
	}
	return cmd
}

// loadTokenizer finds the model's tokenizer without loading any graph or ONNX Runtime.
func loadTokenizer(cmd *cobra.Command, f *cmdutil.Factory) (*tokenizer.Tokenizer, error) {
	src, err := f.ResolveModel(cmd.Context())
	if err != nil {
		return nil, err
	}
	v, _ := fashionclip.ParseVariant(f.Flags.Variant)
	layout, err := fashionclip.DetectLayout(src.Dir, v)
	if err != nil {
		return nil, err
	}
	tokDir, err := layout.TokenizerDir()
	if err != nil {
		return nil, err
	}
	return tokenizer.Load(tokDir)
}

func tokenizeRun(cmd *cobra.Command, o *TokenizeOptions) error {
	tok, err := loadTokenizer(cmd, o.f)
	if err != nil {
		return err
	}
	w := output.NewRecordWriter(o.f.IO.Out, false)
	type rec struct {
		Text string  `json:"text"`
		IDs  []int64 `json:"ids"`
	}
	emit := func(t string) error { return w.Write(rec{Text: t, IDs: tok.Encode(t)}) }
	if !o.stdin {
		for _, t := range o.Texts {
			if err := emit(t); err != nil {
				return cmdutil.QuietPipe(err)
			}
		}
		return nil
	}
	sc := bufio.NewScanner(o.f.IO.In)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	for sc.Scan() {
		if err := emit(strings.TrimSuffix(sc.Text(), "\r")); err != nil {
			return cmdutil.QuietPipe(err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read stdin: %w", err)
	}
	return nil
}
