package fashionclip

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Layout says which graph files a model folder holds.
type Layout struct {
	// Kind is "combined" (one Optimum-style model.onnx computing both towers)
	// or "split" (transformers.js: text_model.onnx + vision_model.onnx).
	Kind     string
	Combined string // path of the combined graph
	Text     string // path of the text graph (split layout)
	Vision   string // path of the vision graph (split layout)
	// Dirs are searched, in order, for tokenizer and config files: the graph's
	// own folder, then its parent.
	Dirs []string
}

// Variant names the weight variants a layout may offer.
var variantSuffix = map[string]string{"": "", "fp32": "", "fp16": "_fp16", "quantized": "_quantized", "int8": "_int8", "uint8": "_uint8", "q4": "_q4"}

// Variants lists the accepted --variant values.
func Variants() []string { return []string{"fp32", "fp16", "quantized", "int8", "uint8", "q4"} }

// DetectLayout finds the graphs in dir. It accepts (a) a folder holding
// model.onnx, (b) a repository root holding onnx/model.onnx, and (c) the
// transformers.js split layout onnx/{text,vision}_model.onnx.
func DetectLayout(dir, variant string) (Layout, error) {
	suffix, ok := variantSuffix[strings.ToLower(variant)]
	if !ok {
		return Layout{}, fmt.Errorf("unknown variant %q (want one of %s)", variant, strings.Join(Variants(), ", "))
	}
	st, err := os.Stat(dir)
	if err != nil {
		return Layout{}, fmt.Errorf("model folder %s: %w", dir, err)
	}
	if !st.IsDir() {
		// A path to a graph file is accepted too: its folder is the model.
		if strings.HasSuffix(dir, ".onnx") {
			d := filepath.Dir(dir)
			return Layout{Kind: "combined", Combined: dir, Dirs: []string{d, filepath.Dir(d)}}, nil
		}
		return Layout{}, fmt.Errorf("model path %s is neither a folder nor an .onnx file", dir)
	}
	var tried []string
	for _, sub := range []string{".", "onnx"} {
		d := filepath.Join(dir, sub)
		dirs := []string{d}
		if sub != "." {
			dirs = append(dirs, dir)
		} else {
			dirs = append(dirs, filepath.Dir(d))
		}
		combined := filepath.Join(d, "model"+suffix+".onnx")
		if exists(combined) {
			return Layout{Kind: "combined", Combined: combined, Dirs: dirs}, nil
		}
		text := filepath.Join(d, "text_model"+suffix+".onnx")
		vision := filepath.Join(d, "vision_model"+suffix+".onnx")
		if exists(text) && exists(vision) {
			return Layout{Kind: "split", Text: text, Vision: vision, Dirs: dirs}, nil
		}
		if exists(text) != exists(vision) {
			return Layout{}, fmt.Errorf("model folder %s has only one of %s and %s", d, filepath.Base(text), filepath.Base(vision))
		}
		tried = append(tried, combined, text+" + "+filepath.Base(vision))
	}
	hint := ""
	if suffix != "" {
		hint = fmt.Sprintf(" (variant %q; try without --variant)", variant)
	}
	return Layout{}, fmt.Errorf("no ONNX graph found in %s%s: looked for %s", dir, hint, strings.Join(tried, ", "))
}

// Find returns the first of the layout's folders that holds name.
func (l Layout) Find(name string) (string, bool) {
	for _, d := range l.Dirs {
		p := filepath.Join(d, name)
		if exists(p) {
			return p, true
		}
	}
	return "", false
}

// TokenizerDir is the first folder holding vocab.json+merges.txt or tokenizer.json.
func (l Layout) TokenizerDir() (string, error) {
	for _, d := range l.Dirs {
		if (exists(filepath.Join(d, "vocab.json")) && exists(filepath.Join(d, "merges.txt"))) || exists(filepath.Join(d, "tokenizer.json")) {
			return d, nil
		}
	}
	return "", errors.New("no tokenizer (vocab.json + merges.txt, or tokenizer.json) in " + strings.Join(l.Dirs, " or "))
}

func exists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
