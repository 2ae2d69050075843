package hub

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/fashionclip/fashionclip/internal/modelfiles"
)

// RootFiles are the tokenizer and config files pulled when present.
var RootFiles = modelfiles.RootFiles

// VariantSuffix is the graph-name suffix of a variant ("_fp16", ...).
func VariantSuffix(variant string) (string, error) {
	v, err := modelfiles.ParseVariant(variant)
	if err != nil {
		return "", err
	}
	return v.Suffix(), nil
}

// Selection is what a model needs from a repo for one variant.
type Selection struct {
	Kind   string   // "combined" or "split"
	Graphs []string // repo paths of the graph(s)
	Files  []string // every file to fetch, graphs included, sorted
}

// SelectFiles picks, from a repo's file list, the graphs of the variant
// (found by the loader's own rules, internal/modelfiles), the non-graph
// files beside them, external weights of the chosen graphs, and the
// tokenizer/config files at the root. Graphs of other variants are left out.
func SelectFiles(files []string, variant string) (Selection, error) {
	v, err := modelfiles.ParseVariant(variant)
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
	g, err := modelfiles.FindGraphs(func(p string) bool { return have[p] }, v)
	if err != nil {
		msg := err.Error()
		var ng *modelfiles.NoGraphError
		if errors.As(err, &ng) {
			msg = fmt.Sprintf("no ONNX graph for variant %q: looked for %s", ng.Variant, strings.Join(ng.Tried, ", "))
			if len(ng.Available) > 0 {
				msg += "; the repo offers: " + ng.AvailableNames()
			} else {
				msg += "; the repo has no ONNX export"
			}
		}
		return Selection{}, &Error{Kind: ErrNoGraph, Msg: msg, Cause: err, Variant: v.String()}
	}
	sel := Selection{Kind: string(g.Kind), Graphs: g.Files()}
	pick := map[string]bool{}
	for _, gr := range sel.Graphs {
		pick[gr] = true
	}
	for _, f := range RootFiles {
		if have[f] {
			pick[f] = true
		}
	}
	for _, f := range files {
		if g.Dir != "" && strings.HasPrefix(f, g.Dir) && !strings.Contains(path.Base(f), ".onnx") {
			pick[f] = true // configs shipped beside the graphs
			continue
		}
		for _, gr := range sel.Graphs {
			if modelfiles.IsWeightsOf(f, gr) {
				pick[f] = true
			}
		}
	}
	for f := range pick {
		sel.Files = append(sel.Files, f)
	}
	sort.Strings(sel.Files)
	return sel, nil
}

// hasTokenizer: the engine needs tokenizer.json, or vocab.json + merges.txt,
// at the root or beside the graphs.
func hasTokenizer(have map[string]bool, graphDir string) bool {
	_, ok := modelfiles.Graphs{Dir: graphDir}.TokenizerDir(func(p string) bool { return have[p] })
	return ok
}
