// Package synth generates CLIP-architecture ONNX models with seeded random
// weights, in the two layouts fashionclip loads: the Optimum combined graph
// (model.onnx) and the transformers.js split graphs (onnx/text_model.onnx,
// onnx/vision_model.onnx), with a synthetic tokenizer beside them. The
// graphs follow Hugging Face's CLIPModel forward pass, so tests and
// benchmarks exercise realistic math without shipping real weights.
package synth

import (
	"errors"
	"fmt"
)

// Config sizes a synthetic model.
type Config struct {
	VisionWidth, VisionLayers, VisionHeads int
	PatchSize, ImageSize                   int
	TextWidth, TextLayers, TextHeads       int
	VocabSize, MaxPositions                int
	ProjectionDim                          int
	Seed                                   int64
	// HiddenAct is the MLP activation: "quick_gelu" (OpenAI CLIP, the
	// default when empty) or "gelu".
	HiddenAct string
	// Name goes into config.json as _name_or_path; empty derives one.
	Name string
}

// Tiny matches the reference kit's tiny models: 64 wide, 2 layers, 4 heads.
func Tiny() Config {
	return Config{
		VisionWidth: 64, VisionLayers: 2, VisionHeads: 4, PatchSize: 32, ImageSize: 224,
		TextWidth: 64, TextLayers: 2, TextHeads: 4, VocabSize: VocabSize, MaxPositions: 77,
		ProjectionDim: 32, Seed: 7, HiddenAct: "gelu", Name: "fashionclip-synthetic-tiny",
	}
}

// ViTB32 has the shapes of CLIP ViT-B/32 (FashionCLIP's backbone), about
// 151 M parameters or 605 MB of float32.
func ViTB32() Config {
	return Config{
		VisionWidth: 768, VisionLayers: 12, VisionHeads: 12, PatchSize: 32, ImageSize: 224,
		TextWidth: 512, TextLayers: 12, TextHeads: 8, VocabSize: VocabSize, MaxPositions: 77,
		ProjectionDim: 512, Seed: 7, HiddenAct: "quick_gelu", Name: "fashionclip-synthetic-vit-b-32",
	}
}

func (c Config) act() string {
	if c.HiddenAct == "" {
		return "quick_gelu"
	}
	return c.HiddenAct
}

func (c Config) name() string {
	if c.Name != "" {
		return c.Name
	}
	return fmt.Sprintf("fashionclip-synthetic-v%dx%d-t%dx%d", c.VisionWidth, c.VisionLayers, c.TextWidth, c.TextLayers)
}

func (c Config) gridSize() int { return c.ImageSize / c.PatchSize }

// validate rejects shapes the graphs cannot be built for.
func (c Config) validate() error {
	pos := map[string]int{
		"VisionWidth": c.VisionWidth, "VisionLayers": c.VisionLayers, "VisionHeads": c.VisionHeads,
		"PatchSize": c.PatchSize, "ImageSize": c.ImageSize, "TextWidth": c.TextWidth,
		"TextLayers": c.TextLayers, "TextHeads": c.TextHeads, "VocabSize": c.VocabSize,
		"MaxPositions": c.MaxPositions, "ProjectionDim": c.ProjectionDim,
	}
	for _, k := range []string{"VisionWidth", "VisionLayers", "VisionHeads", "PatchSize", "ImageSize",
		"TextWidth", "TextLayers", "TextHeads", "VocabSize", "MaxPositions", "ProjectionDim"} {
		if pos[k] <= 0 {
			return fmt.Errorf("synth: %s must be positive, got %d", k, pos[k])
		}
	}
	switch {
	case c.VisionWidth%c.VisionHeads != 0:
		return fmt.Errorf("synth: vision width %d is not a multiple of %d heads", c.VisionWidth, c.VisionHeads)
	case c.TextWidth%c.TextHeads != 0:
		return fmt.Errorf("synth: text width %d is not a multiple of %d heads", c.TextWidth, c.TextHeads)
	case c.ImageSize%c.PatchSize != 0:
		return fmt.Errorf("synth: image size %d is not a multiple of patch size %d", c.ImageSize, c.PatchSize)
	case c.VocabSize != VocabSize:
		// The tokenizer files are generated for CLIP's id layout.
		return fmt.Errorf("synth: vocabulary size must be %d (CLIP's, with end token %d), got %d", VocabSize, EndToken, c.VocabSize)
	}
	switch c.act() {
	case "quick_gelu", "gelu":
	default:
		return errors.New("synth: HiddenAct must be quick_gelu or gelu, got " + c.HiddenAct)
	}
	return nil
}

// ConfigByName returns a preset by its command-line name: "tiny" or
// "vit-b-32".
func ConfigByName(name string) (Config, error) {
	switch name {
	case "tiny":
		return Tiny(), nil
	case "vit-b-32", "vitb32", "ViT-B/32":
		return ViTB32(), nil
	}
	return Config{}, fmt.Errorf("synth: unknown model size %q (want tiny or vit-b-32)", name)
}
