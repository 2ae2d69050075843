// Package modelfiles holds the rules for which files make a model: the
// weight variants and their graph-name suffixes, where graphs are looked
// for, and which tokenizer and config files go with them. Both the loader
// (over a folder) and the Hub client (over a repo's file list) decide
// through it, so a repo is pulled exactly as it will be loaded. Pure Go.
package modelfiles

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// Variant names a set of graph files of one numeric precision.
type Variant string

// The variants a model folder may offer.
const (
	FP32      Variant = "fp32"
	FP16      Variant = "fp16"
	Quantized Variant = "quantized"
	Int8      Variant = "int8"
	UInt8     Variant = "uint8"
	Q4        Variant = "q4"
)

var suffixes = map[Variant]string{FP32: "", FP16: "_fp16", Quantized: "_quantized", Int8: "_int8", UInt8: "_uint8", Q4: "_q4"}

// Variants lists every variant, in the order help and completion show them.
func Variants() []Variant { return []Variant{FP32, FP16, Quantized, Int8, UInt8, Q4} }

// VariantNames is Variants as strings.
func VariantNames() []string {
	out := make([]string, 0, len(suffixes))
	for _, v := range Variants() {
		out = append(out, string(v))
	}
	return out
}

// UnknownVariantError is a variant name no rule knows.
type UnknownVariantError struct{ Name string }

func (e *UnknownVariantError) Error() string {
	return fmt.Sprintf("unknown variant %q (want one of %s)", e.Name, strings.Join(VariantNames(), ", "))
}

// ParseVariant reads a variant name, any case; "" is fp32.
func ParseVariant(s string) (Variant, error) {
	if s == "" {
		return FP32, nil
	}
	v := Variant(strings.ToLower(s))
	if _, ok := suffixes[v]; !ok {
		return "", &UnknownVariantError{Name: s}
	}
	return v, nil
}

// Suffix is what the variant adds to a graph's base name ("_fp16", ...).
func (v Variant) Suffix() string { return suffixes[v.orFP32()] }

func (v Variant) orFP32() Variant {
	if v == "" {
		return FP32
	}
	return v
}

// String is the variant's name ("fp32" for the zero value).
func (v Variant) String() string { return string(v.orFP32()) }

// DerivedFrom names the variant whose graphs fashionclip turns into v when
// a model does not ship v's own: int8 is quantized from fp32. ok is false
// for variants that are only ever used as shipped (quantized, fp16, ...).
func (v Variant) DerivedFrom() (base Variant, ok bool) {
	if v == Int8 {
		return FP32, true
	}
	return "", false
}

// Kind is how a model's graphs are cut.
type Kind string

const (
	// Combined is one Optimum-style model.onnx computing both towers.
	Combined Kind = "combined"
	// Split is transformers.js' text_model.onnx + vision_model.onnx.
	Split Kind = "split"
)

// GraphDirs are the folders searched for graphs, in order: the root, then onnx/.
var GraphDirs = []string{"", "onnx/"}

// Graphs is where a variant's graphs are, as slash paths relative to the
// model's root.
type Graphs struct {
	Kind     Kind
	Dir      string // "" or "onnx/": the folder holding the graphs
	Combined string
	Text     string
	Vision   string
	// From is set when the graphs are another variant's (fp32) and the
	// requested variant is to be derived from them (see DerivedFrom); it is
	// empty when they are the requested variant's own files.
	From Variant
}

// Files lists the graph paths.
func (g Graphs) Files() []string {
	if g.Kind == Combined {
		return []string{g.Combined}
	}
	return []string{g.Text, g.Vision}
}

// NoGraphError says that no graph of the variant was found.
type NoGraphError struct {
	Variant Variant
	Tried   []string
	// Available lists the variants the files do offer.
	Available []Variant
}

func (e *NoGraphError) Error() string {
	msg := fmt.Sprintf("no ONNX graph for variant %s: looked for %s", e.Variant, strings.Join(e.Tried, ", "))
	if len(e.Available) > 0 {
		msg += "; there are graphs for: " + e.AvailableNames()
	}
	return msg
}

// AvailableNames is Available as one comma-separated string.
func (e *NoGraphError) AvailableNames() string {
	names := make([]string, len(e.Available))
	for i, v := range e.Available {
		names[i] = string(v)
	}
	return strings.Join(names, ", ")
}

// HalfSplitError is a split layout with only one of its two graphs.
type HalfSplitError struct{ Have, Missing string }

func (e *HalfSplitError) Error() string {
	return fmt.Sprintf("only one of %s and %s is present", e.Have, e.Missing)
}

// FindGraphs looks for the variant's graphs among the files have reports
// (slash paths relative to the root): in the root, then in onnx/; a
// combined model*.onnx before a text/vision pair. A variant that can be
// derived (int8) and is not shipped falls back to its base's graphs, with
// Graphs.From saying so; shipped files always win.
func FindGraphs(have func(string) bool, v Variant) (Graphs, error) {
	v = v.orFP32()
	g, err := findShipped(have, v)
	var ng *NoGraphError
	base, derivable := v.DerivedFrom()
	if !derivable || !errors.As(err, &ng) {
		return g, err
	}
	g, berr := findShipped(have, base)
	var bng *NoGraphError
	if errors.As(berr, &bng) {
		ng.Tried = append(ng.Tried, bng.Tried...)
		return Graphs{}, ng
	}
	if berr != nil {
		return Graphs{}, berr
	}
	g.From = base
	return g, nil
}

func findShipped(have func(string) bool, v Variant) (Graphs, error) {
	s := v.Suffix()
	var tried []string
	for _, dir := range GraphDirs {
		combined := dir + "model" + s + ".onnx"
		sp := SplitAt(dir, v)
		text, vision := sp.Text, sp.Vision
		switch {
		case have(combined):
			return Graphs{Kind: Combined, Dir: dir, Combined: combined}, nil
		case have(text) && have(vision):
			return sp, nil
		case have(text):
			return Graphs{}, &HalfSplitError{Have: text, Missing: vision}
		case have(vision):
			return Graphs{}, &HalfSplitError{Have: vision, Missing: text}
		}
		tried = append(tried, combined, text+" + "+path.Base(vision))
	}
	return Graphs{}, &NoGraphError{Variant: v, Tried: tried, Available: AvailableVariants(have)}
}

// SplitAt is the split layout of variant v in dir ("" or "onnx/"): the
// names a folder written for that variant gives its graphs.
func SplitAt(dir string, v Variant) Graphs {
	s := v.Suffix()
	return Graphs{Kind: Split, Dir: dir, Text: dir + "text_model" + s + ".onnx", Vision: dir + "vision_model" + s + ".onnx"}
}

// AvailableVariants lists the variants whose graphs have reports.
func AvailableVariants(have func(string) bool) []Variant {
	var out []Variant
	for _, v := range Variants() {
		s := v.Suffix()
		for _, dir := range GraphDirs {
			if have(dir+"model"+s+".onnx") || (have(dir+"text_model"+s+".onnx") && have(dir+"vision_model"+s+".onnx")) {
				out = append(out, v)
				break
			}
		}
	}
	return out
}

// RootFiles are the tokenizer and config files a model may carry, at its
// root or beside its graphs.
var RootFiles = []string{
	"config.json", "preprocessor_config.json", "tokenizer.json", "tokenizer_config.json",
	"special_tokens_map.json", "vocab.json", "merges.txt",
}

// SearchDirs are the folders searched for tokenizer and config files: the
// graphs' own folder first, then the root.
func (g Graphs) SearchDirs() []string {
	if g.Dir == "" {
		return []string{""}
	}
	return []string{g.Dir, ""}
}

// TokenizerDir is the first search folder holding tokenizer.json, or
// vocab.json + merges.txt; ok is false when there is none.
func (g Graphs) TokenizerDir(have func(string) bool) (dir string, ok bool) {
	for _, d := range g.SearchDirs() {
		if have(d+"tokenizer.json") || (have(d+"vocab.json") && have(d+"merges.txt")) {
			return d, true
		}
	}
	return "", false
}

// IsWeightsOf reports whether file holds external weights of graph
// (model.onnx_data, model.onnx.data, ...).
func IsWeightsOf(file, graph string) bool {
	return strings.HasPrefix(file, graph+"_") || strings.HasPrefix(file, graph+".")
}
