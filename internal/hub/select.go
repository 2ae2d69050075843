package hub

import (
	"fmt"
	"path"
	"sort"
	"strings"
)

// RootFiles are the tokenizer and config files pulled from the repo root
// when present.
var RootFiles = []string{
	"config.json", "preprocessor_config.json", "tokenizer.json", "tokenizer_config.json",
	"special_tokens_map.json", "vocab.json", "merges.txt",
}

// variantSuffixes mirrors pkg/fashionclip's graph naming (kept here so the
// download client does not pull in the inference engine).
var variantSuffixes = map[string]string{
	"": "", "fp32": "", "fp16": "_fp16", "quantized": "_quantized", "int8": "_int8", "uint8": "_uint8", "q4": "_q4",
}

// VariantSuffix is the graph-name suffix of a variant ("_fp16", ...).
func VariantSuffix(variant string) (string, error) {
	s, ok := variantSuffixes[strings.ToLower(variant)]
	if !ok {
		return "", fmt.Errorf("unknown variant %q (want fp32, fp16, quantized, int8, uint8 or q4)", variant)
	}
	return s, nil
}

// Selection is what a model needs from a repo for one variant.
type Selection struct {
	Kind   string   // "combined" or "split"
	Graphs []string // repo paths of the graph(s)
	Files  []string // every file to fetch, graphs included, sorted
}

// SelectFiles picks, from a repo's file list, the graphs of the variant
// (looking where pkg/fashionclip.DetectLayout looks, in the same order: the
// root, then onnx/; a combined model*.onnx before a text/vision pair), the
// non-graph files beside them, external weights of the chosen graphs, and
// the root tokenizer/config files. Graphs of other variants are left out.
func SelectFiles(files []string, variant string) (Selection, error) {
	suffix, err := VariantSuffix(variant)
	if err != nil {
		return Selection{}, err
	}
	have := make(map[string]bool, len(files))
	for _, f := range files {
		if err := CheckRepoPath(f); err != nil {
			return Selection{}, err
		}
		have[f] = true
	}
	var sel Selection
	var graphDir string
	var tried []string
	for _, dir := range []string{"", "onnx/"} {
		combined := dir + "model" + suffix + ".onnx"
		text, vision := dir+"text_model"+suffix+".onnx", dir+"vision_model"+suffix+".onnx"
		switch {
		case have[combined]:
			sel.Kind, sel.Graphs = "combined", []string{combined}
		case have[text] && have[vision]:
			sel.Kind, sel.Graphs = "split", []string{text, vision}
		default:
			tried = append(tried, combined, text+" + "+vision)
			continue
		}
		graphDir = dir
		break
	}
	if sel.Graphs == nil {
		msg := fmt.Sprintf("no ONNX graph for variant %q: looked for %s", variantName(variant), strings.Join(tried, ", "))
		if vs := AvailableVariants(files); len(vs) > 0 {
			msg += "; the repo offers: " + strings.Join(vs, ", ")
		} else {
			msg += "; the repo has no ONNX export"
		}
		return Selection{}, newError(ErrNoGraph, "%s", msg)
	}
	pick := map[string]bool{}
	for _, g := range sel.Graphs {
		pick[g] = true
	}
	for _, f := range RootFiles {
		if have[f] {
			pick[f] = true
		}
	}
	for _, f := range files {
		if graphDir == "" || !strings.HasPrefix(f, graphDir) {
			continue
		}
		if !strings.Contains(path.Base(f), ".onnx") {
			pick[f] = true // configs shipped beside the graphs
			continue
		}
		// External weights: model.onnx_data, model.onnx.data, ...
		for _, g := range sel.Graphs {
			if strings.HasPrefix(f, g+"_") || strings.HasPrefix(f, g+".") {
				pick[f] = true
			}
		}
	}
	if graphDir == "" {
		for _, f := range files {
			for _, g := range sel.Graphs {
				if strings.HasPrefix(f, g+"_") || strings.HasPrefix(f, g+".") {
					pick[f] = true
				}
			}
		}
	}
	for f := range pick {
		sel.Files = append(sel.Files, f)
	}
	sort.Strings(sel.Files)
	return sel, nil
}

func variantName(v string) string {
	if v == "" {
		return "fp32"
	}
	return v
}

// AvailableVariants lists the variants whose graphs a file list holds.
func AvailableVariants(files []string) []string {
	have := map[string]bool{}
	for _, f := range files {
		have[f] = true
	}
	var out []string
	for _, v := range []string{"fp32", "fp16", "quantized", "int8", "uint8", "q4"} {
		s := variantSuffixes[v]
		for _, dir := range []string{"", "onnx/"} {
			if have[dir+"model"+s+".onnx"] || (have[dir+"text_model"+s+".onnx"] && have[dir+"vision_model"+s+".onnx"]) {
				out = append(out, v)
				break
			}
		}
	}
	return out
}

// hasTokenizer: the engine needs tokenizer.json, or vocab.json + merges.txt,
// at the root or beside the graphs.
func hasTokenizer(have map[string]bool, graphDir string) bool {
	for _, d := range []string{graphDir, ""} {
		if have[d+"tokenizer.json"] || (have[d+"vocab.json"] && have[d+"merges.txt"]) {
			return true
		}
	}
	return false
}
