package fashionclip

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/fashionclip/fashionclip/internal/modelfiles"
	"github.com/fashionclip/fashionclip/internal/ort"
)

// Layout says which graph files a model folder holds.
type Layout struct {
	// Kind is Combined (one Optimum-style model.onnx computing both towers)
	// or Split (transformers.js: text_model.onnx + vision_model.onnx).
	Kind     LayoutKind
	Combined string // path of the combined graph
	Text     string // path of the text graph (split layout)
	Vision   string // path of the vision graph (split layout)
	// Dirs are searched, in order, for tokenizer and config files: the graph's
	// own folder, then its parent.
	Dirs []string
	// From is set (to FP32) when the graphs above are not the variant's own
	// and the variant's towers are derived from them at load (int8); empty
	// when the graphs are used as they are.
	From Variant
}

// LayoutKind is how a model's graphs are cut.
type LayoutKind = modelfiles.Kind

// The layout kinds.
const (
	Combined = modelfiles.Combined
	Split    = modelfiles.Split
)

// Variant names a set of graph files of one numeric precision.
type Variant = modelfiles.Variant

// The variants a model folder may offer ("" means fp32).
const (
	FP32      = modelfiles.FP32
	FP16      = modelfiles.FP16
	Quantized = modelfiles.Quantized
	Int8      = modelfiles.Int8
	UInt8     = modelfiles.UInt8
	Q4        = modelfiles.Q4
)

// ParseVariant reads a variant name (any case; "" is fp32).
func ParseVariant(s string) (Variant, error) { return modelfiles.ParseVariant(s) }

// Variants lists the accepted variant names.
func Variants() []string { return modelfiles.VariantNames() }

// Graphs lists the layout's graph files.
func (l Layout) Graphs() []string {
	if l.Kind == Combined {
		return []string{l.Combined}
	}
	return []string{l.Text, l.Vision}
}

// DetectLayout finds the graphs of the variant in dir. It accepts (a) a
// folder holding model.onnx, (b) a repository root holding onnx/model.onnx,
// (c) the transformers.js split layout onnx/{text,vision}_model.onnx, and
// (d) the path of a combined .onnx file. The rules are the Hub client's
// (internal/modelfiles), so a pulled repo loads as it was selected.
func DetectLayout(dir string, variant Variant) (Layout, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return Layout{}, fmt.Errorf("model folder %s: %w", dir, err)
	}
	if !st.IsDir() {
		// A path to a graph file is accepted too: its folder is the model.
		if strings.HasSuffix(dir, ".onnx") {
			d := filepath.Dir(dir)
			l := Layout{Kind: Combined, Combined: dir, Dirs: []string{d, filepath.Dir(d)}}
			// A graph named by path is used as it is, except that an int8
			// request derives from it unless it is already an int8 graph.
			if base, ok := variant.DerivedFrom(); ok && !strings.HasSuffix(dir, variant.Suffix()+".onnx") {
				l.From = base
			}
			return l, nil
		}
		return Layout{}, fmt.Errorf("model path %s is neither a folder nor an .onnx file", dir)
	}
	if _, err := modelfiles.ParseVariant(string(variant)); err != nil {
		return Layout{}, err
	}
	have := func(rel string) bool { return isFile(filepath.Join(dir, filepath.FromSlash(rel))) }
	g, err := modelfiles.FindGraphs(have, variant)
	if err != nil {
		return Layout{}, &LayoutError{Dir: dir, Err: err}
	}
	abs := func(rel string) string {
		if rel == "" {
			return ""
		}
		return filepath.Join(dir, filepath.FromSlash(rel))
	}
	l := Layout{Kind: g.Kind, Combined: abs(g.Combined), Text: abs(g.Text), Vision: abs(g.Vision), From: g.From}
	for _, d := range g.SearchDirs() {
		l.Dirs = append(l.Dirs, filepath.Join(dir, filepath.FromSlash(d)))
	}
	if g.Dir == "" {
		// The folder may itself be a repo's onnx/ folder, named directly.
		l.Dirs = append(l.Dirs, filepath.Dir(filepath.Clean(dir)))
	}
	return l, nil
}

// LayoutError is a model folder without usable graphs; Err is a
// *modelfiles.NoGraphError or *modelfiles.HalfSplitError.
type LayoutError struct {
	Dir string
	Err error
}

func (e *LayoutError) Error() string { return fmt.Sprintf("model folder %s: %v", e.Dir, e.Err) }

func (e *LayoutError) Unwrap() error { return e.Err }

// Find returns the first of the layout's folders that holds name.
func (l Layout) Find(name string) (string, bool) {
	for _, d := range l.Dirs {
		p := filepath.Join(d, name)
		if isFile(p) {
			return p, true
		}
	}
	return "", false
}

// ErrNoTokenizer is returned when a model folder has no tokenizer files.
var ErrNoTokenizer = errors.New("no tokenizer (vocab.json + merges.txt, or tokenizer.json)")

// TokenizerDir is the first folder holding vocab.json+merges.txt or tokenizer.json.
func (l Layout) TokenizerDir() (string, error) {
	for _, d := range l.Dirs {
		if (isFile(filepath.Join(d, "vocab.json")) && isFile(filepath.Join(d, "merges.txt"))) || isFile(filepath.Join(d, "tokenizer.json")) {
			return d, nil
		}
	}
	return "", fmt.Errorf("%w in %s", ErrNoTokenizer, strings.Join(l.Dirs, " or "))
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// GraphIO is one declared input or output of a graph file.
type GraphIO struct {
	Name  string
	Shape []int64 // -1 for a dynamic dimension
	Type  string  // "float32", "int64", ...
}

// GraphSignature reads a graph file's declared inputs and outputs (a few
// small reads; no session is built).
func GraphSignature(path string) (inputs, outputs []GraphIO, err error) {
	in, out, err := ort.Describe(path)
	if err != nil {
		return nil, nil, err
	}
	conv := func(infos []ort.IOInfo) []GraphIO {
		res := make([]GraphIO, len(infos))
		for i, x := range infos {
			res[i] = GraphIO{Name: x.Name, Shape: x.Shape, Type: x.Type}
		}
		return res
	}
	return conv(in), conv(out), nil
}
