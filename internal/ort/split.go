package ort

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/fashionclip/fashionclip/internal/graphcache"
	"github.com/fashionclip/fashionclip/internal/onnxgraph"
)

// SplitGraphs are the text and vision towers cut out of a combined graph.
type SplitGraphs struct {
	Text, Vision string // paths of the pruned graphs
	LogitScale   float32
	HasScale     bool
	// Built is true when this call cut the graph (not found in the cache).
	Built bool
}

// SplitRecipe names the tower cut in cache entries.
const SplitRecipe = "split-v1"

type splitFacts struct {
	LogitScale float32 `json:"logit_scale"`
	HasScale   bool    `json:"has_scale"`
}

// SplitCached reports whether the cut of the combined graph at path is
// already in the cache (so SplitCombined will not read the graph).
func SplitCached(path string, cache graphcache.Cache) bool {
	src, err := graphcache.SourceKey(path)
	if err != nil {
		return false
	}
	_, _, ok := cache.Lookup(graphcache.Key(src, ""))
	return ok
}

// SplitCombined prunes a combined CLIP graph into a text graph (textOutput)
// and a vision graph (visionOutput) in the cache, reusing an earlier cut.
// ONNX Runtime would otherwise run both towers for every call.
func SplitCombined(path string, cache graphcache.Cache, textOutput, visionOutput string) (SplitGraphs, error) {
	src, err := graphcache.SourceKey(path)
	if err != nil {
		return SplitGraphs{}, fmt.Errorf("split %s: %w", path, err)
	}
	var facts splitFacts
	dir, built, err := cache.Build(graphcache.Key(src, ""), graphcache.Meta{Source: path, Recipe: SplitRecipe}, func(tmp string) error {
		model, err := onnxgraph.ReadFile(path)
		if err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
		text, err := model.Prune([]string{textOutput})
		if err != nil {
			return fmt.Errorf("cut text tower out of %s: %w", path, err)
		}
		vision, err := model.Prune([]string{visionOutput})
		if err != nil {
			return fmt.Errorf("cut vision tower out of %s: %w", path, err)
		}
		facts.LogitScale, facts.HasScale = model.LogitScale()
		for name, g := range map[string]*onnxgraph.Model{"text.onnx": text, "vision.onnx": vision} {
			b, err := g.Marshal()
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(tmp, name), b, 0o644); err != nil {
				return err
			}
		}
		b, _ := json.Marshal(facts)
		return os.WriteFile(filepath.Join(tmp, "facts.json"), b, 0o644)
	})
	if err != nil {
		return SplitGraphs{}, err
	}
	if !built {
		b, err := os.ReadFile(filepath.Join(dir, "facts.json"))
		if err == nil {
			err = json.Unmarshal(b, &facts)
		}
		if err != nil {
			return SplitGraphs{}, fmt.Errorf("graph cache entry %s: %w", dir, err)
		}
	}
	return SplitGraphs{Text: filepath.Join(dir, "text.onnx"), Vision: filepath.Join(dir, "vision.onnx"),
		LogitScale: facts.LogitScale, HasScale: facts.HasScale, Built: built}, nil
}
