package ort

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/fashionclip/fashionclip/internal/onnxgraph"
)

// SplitGraphs are the text and vision towers cut out of a combined graph.
type SplitGraphs struct {
	Text, Vision string // paths of the pruned graphs
	LogitScale   float32
	HasScale     bool
}

type splitMeta struct {
	Source     string  `json:"source"`
	LogitScale float32 `json:"logit_scale"`
	HasScale   bool    `json:"has_scale"`
}

var sha256Name = regexp.MustCompile(`^[0-9a-f]{64}$`)

// SplitCacheKey names a combined graph cheaply: a Hugging Face blob is
// already named by its sha256; anything else is keyed by path, size and
// modification time, never by hashing hundreds of megabytes at every start.
func SplitCacheKey(path string) (string, error) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", err
	}
	if base := filepath.Base(real); sha256Name.MatchString(base) {
		return "blob-" + base, nil
	}
	abs, err := filepath.Abs(real)
	if err != nil {
		return "", err
	}
	st, err := os.Stat(abs)
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(fmt.Appendf(nil, "%s\x00%d\x00%d", abs, st.Size(), st.ModTime().UnixNano()))
	return "file-" + hex.EncodeToString(h[:12]), nil
}

// SplitCombined prunes a combined CLIP graph into a text graph (text_embeds)
// and a vision graph (image_embeds) under cacheDir, reusing an earlier split.
// ONNX Runtime would otherwise run both towers for every call.
func SplitCombined(path, cacheDir, textOutput, visionOutput string) (SplitGraphs, error) {
	key, err := SplitCacheKey(path)
	if err != nil {
		return SplitGraphs{}, fmt.Errorf("split %s: %w", path, err)
	}
	dir := filepath.Join(cacheDir, key)
	out := SplitGraphs{Text: filepath.Join(dir, "text.onnx"), Vision: filepath.Join(dir, "vision.onnx")}
	if b, err := os.ReadFile(filepath.Join(dir, "meta.json")); err == nil {
		var m splitMeta
		if json.Unmarshal(b, &m) == nil && fileExists(out.Text) && fileExists(out.Vision) {
			out.LogitScale, out.HasScale = m.LogitScale, m.HasScale
			return out, nil
		}
	}
	model, err := onnxgraph.ReadFile(path)
	if err != nil {
		return SplitGraphs{}, fmt.Errorf("read %s: %w", path, err)
	}
	text, err := model.Prune([]string{textOutput})
	if err != nil {
		return SplitGraphs{}, fmt.Errorf("cut text tower out of %s: %w", path, err)
	}
	vision, err := model.Prune([]string{visionOutput})
	if err != nil {
		return SplitGraphs{}, fmt.Errorf("cut vision tower out of %s: %w", path, err)
	}
	out.LogitScale, out.HasScale = model.LogitScale()
	// Build the whole folder beside its final place and rename it in, so a
	// crash or a concurrent process never sees half a split.
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return SplitGraphs{}, err
	}
	tmp, err := os.MkdirTemp(cacheDir, key+".tmp-")
	if err != nil {
		return SplitGraphs{}, err
	}
	defer os.RemoveAll(tmp)
	for name, g := range map[string]*onnxgraph.Model{"text.onnx": text, "vision.onnx": vision} {
		b, err := g.Marshal()
		if err != nil {
			return SplitGraphs{}, err
		}
		if err := os.WriteFile(filepath.Join(tmp, name), b, 0o644); err != nil {
			return SplitGraphs{}, err
		}
	}
	meta, _ := json.Marshal(splitMeta{Source: path, LogitScale: out.LogitScale, HasScale: out.HasScale})
	if err := os.WriteFile(filepath.Join(tmp, "meta.json"), meta, 0o644); err != nil {
		return SplitGraphs{}, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		// Another process won the race: use its split if it is complete.
		if fileExists(filepath.Join(dir, "meta.json")) {
			return out, nil
		}
		return SplitGraphs{}, err
	}
	return out, nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
