package synth

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/fashionclip/fashionclip/internal/onnxgraph"
)

// Write generates a model folder in the given layout: "combined" (Optimum,
// model.onnx), "split" (transformers.js, onnx/*.onnx) or "both", which
// writes dir/combined and dir/split so each folder holds one layout.
func Write(dir, layout string, cfg Config) error {
	switch layout {
	case "combined":
		return WriteCombined(dir, cfg)
	case "split":
		return WriteSplit(dir, cfg)
	case "both":
		if err := WriteCombined(filepath.Join(dir, "combined"), cfg); err != nil {
			return err
		}
		return WriteSplit(filepath.Join(dir, "split"), cfg)
	}
	return fmt.Errorf("synth: unknown layout %q (want combined, split or both)", layout)
}

// WriteCombined writes dir/model.onnx with config.json,
// preprocessor_config.json and the tokenizer files (vocab.json, merges.txt,
// tokenizer.json, tokenizer_config.json, special_tokens_map.json).
func WriteCombined(dir string, cfg Config) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := writeSideFiles(dir, cfg, true); err != nil {
		return err
	}
	return writeModel(filepath.Join(dir, "model.onnx"), func() (*onnxgraph.Model, error) {
		return CombinedModel(cfg)
	})
}

// WriteSplit writes dir/onnx/text_model.onnx (input_ids → raw text_embeds),
// dir/onnx/vision_model.onnx (pixel_values → raw image_embeds), the configs
// and tokenizer.json, as transformers.js model folders have them.
func WriteSplit(dir string, cfg Config) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "onnx"), 0o755); err != nil {
		return err
	}
	if err := writeSideFiles(dir, cfg, false); err != nil {
		return err
	}
	// One tower at a time keeps only one set of weights in memory.
	if err := writeModel(filepath.Join(dir, "onnx", "text_model.onnx"), func() (*onnxgraph.Model, error) {
		return TextModel(cfg, false)
	}); err != nil {
		return err
	}
	return writeModel(filepath.Join(dir, "onnx", "vision_model.onnx"), func() (*onnxgraph.Model, error) {
		return VisionModel(cfg)
	})
}

func writeModel(path string, build func() (*onnxgraph.Model, error)) error {
	m, err := build()
	if err != nil {
		return err
	}
	return m.WriteFile(path)
}

func writeSideFiles(dir string, cfg Config, bpeFiles bool) error {
	v := buildVocabulary()
	files := map[string][]byte{
		"config.json":              indentJSON(modelConfig(cfg)),
		"preprocessor_config.json": indentJSON(preprocessorConfig(cfg)),
		"tokenizer.json":           v.tokenizerJSON(),
		"tokenizer_config.json": compactJSON(map[string]any{
			"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>",
			"pad_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
			"model_max_length": cfg.MaxPositions, "do_lower_case": true,
			"tokenizer_class": "CLIPTokenizer",
		}),
		"special_tokens_map.json": compactJSON(map[string]any{
			"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>",
			"pad_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
		}),
	}
	if bpeFiles {
		files["vocab.json"] = v.vocabJSON()
		files["merges.txt"] = v.mergesTxt()
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func indentJSON(v any) []byte {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic(err) // only the fixed structs below reach here
	}
	return append(b, '\n')
}

type towerConfig struct {
	ModelType         string  `json:"model_type"`
	HiddenSize        int     `json:"hidden_size"`
	NumAttentionHeads int     `json:"num_attention_heads"`
	NumHiddenLayers   int     `json:"num_hidden_layers"`
	IntermediateSize  int     `json:"intermediate_size"`
	HiddenAct         string  `json:"hidden_act"`
	LayerNormEps      float64 `json:"layer_norm_eps"`
	ProjectionDim     int     `json:"projection_dim"`
	// text only
	VocabSize             int `json:"vocab_size,omitempty"`
	MaxPositionEmbeddings int `json:"max_position_embeddings,omitempty"`
	BosTokenID            int `json:"bos_token_id,omitempty"`
	EosTokenID            int `json:"eos_token_id,omitempty"`
	PadTokenID            int `json:"pad_token_id,omitempty"`
	// vision only
	ImageSize   int `json:"image_size,omitempty"`
	PatchSize   int `json:"patch_size,omitempty"`
	NumChannels int `json:"num_channels,omitempty"`
}

type clipConfig struct {
	NameOrPath           string      `json:"_name_or_path"`
	Synthetic            bool        `json:"fashionclip_synthetic"`
	Note                 string      `json:"fashionclip_note"`
	Seed                 int64       `json:"fashionclip_seed"`
	Architectures        []string    `json:"architectures"`
	ModelType            string      `json:"model_type"`
	ProjectionDim        int         `json:"projection_dim"`
	LogitScaleInitValue  float64     `json:"logit_scale_init_value"`
	TorchDtype           string      `json:"torch_dtype"`
	TextConfig           towerConfig `json:"text_config"`
	VisionConfig         towerConfig `json:"vision_config"`
	InitializerFactor    float64     `json:"initializer_factor"`
	FashionclipGenerator string      `json:"fashionclip_generator"`
}

func modelConfig(cfg Config) clipConfig {
	return clipConfig{
		NameOrPath:           cfg.name(),
		Synthetic:            true,
		Note:                 "random weights for tests and benchmarks; embeddings carry no meaning",
		Seed:                 cfg.Seed,
		Architectures:        []string{"CLIPModel"},
		ModelType:            "clip",
		ProjectionDim:        cfg.ProjectionDim,
		LogitScaleInitValue:  math.Log(100),
		TorchDtype:           "float32",
		InitializerFactor:    1,
		FashionclipGenerator: "internal/synth",
		TextConfig: towerConfig{
			ModelType: "clip_text_model", HiddenSize: cfg.TextWidth, NumAttentionHeads: cfg.TextHeads,
			NumHiddenLayers: cfg.TextLayers, IntermediateSize: 4 * cfg.TextWidth, HiddenAct: cfg.act(),
			LayerNormEps: layerNormEps, ProjectionDim: cfg.ProjectionDim, VocabSize: cfg.VocabSize,
			MaxPositionEmbeddings: cfg.MaxPositions, BosTokenID: StartToken, EosTokenID: EndToken, PadTokenID: 1,
		},
		VisionConfig: towerConfig{
			ModelType: "clip_vision_model", HiddenSize: cfg.VisionWidth, NumAttentionHeads: cfg.VisionHeads,
			NumHiddenLayers: cfg.VisionLayers, IntermediateSize: 4 * cfg.VisionWidth, HiddenAct: cfg.act(),
			LayerNormEps: layerNormEps, ProjectionDim: cfg.ProjectionDim,
			ImageSize: cfg.ImageSize, PatchSize: cfg.PatchSize, NumChannels: 3,
		},
	}
}

type size2 struct {
	Height int `json:"height"`
	Width  int `json:"width"`
}

type preprocessor struct {
	CropSize             size2          `json:"crop_size"`
	DoCenterCrop         bool           `json:"do_center_crop"`
	DoConvertRGB         bool           `json:"do_convert_rgb"`
	DoNormalize          bool           `json:"do_normalize"`
	DoRescale            bool           `json:"do_rescale"`
	DoResize             bool           `json:"do_resize"`
	FeatureExtractorType string         `json:"feature_extractor_type"`
	ImageMean            []float64      `json:"image_mean"`
	ImageProcessorType   string         `json:"image_processor_type"`
	ImageStd             []float64      `json:"image_std"`
	Resample             int            `json:"resample"`
	RescaleFactor        float64        `json:"rescale_factor"`
	Size                 map[string]int `json:"size"`
	ProcessorClass       string         `json:"processor_class"`
}

// preprocessorConfig holds CLIP's published image preprocessing: bicubic
// resize of the short side, centre crop, OpenAI's mean and std.
func preprocessorConfig(cfg Config) preprocessor {
	return preprocessor{
		CropSize:     size2{cfg.ImageSize, cfg.ImageSize},
		DoCenterCrop: true, DoConvertRGB: true, DoNormalize: true, DoRescale: true, DoResize: true,
		FeatureExtractorType: "CLIPFeatureExtractor",
		ImageMean:            []float64{0.48145466, 0.4578275, 0.40821073},
		ImageProcessorType:   "CLIPImageProcessor",
		ImageStd:             []float64{0.26862954, 0.26130258, 0.27577711},
		Resample:             3,
		RescaleFactor:        1.0 / 255,
		Size:                 map[string]int{"shortest_edge": cfg.ImageSize},
		ProcessorClass:       "CLIPProcessor",
	}
}

// Ensure writes the model once under root/NAME-LAYOUT-seedN and reuses it on
// later calls (benchmarks generate the 605 MB ViT-B/32 only once per machine).
// A marker file written last tells a complete folder from an interrupted one.
func Ensure(root, layout string, cfg Config) (string, error) {
	dir := filepath.Join(root, fmt.Sprintf("%s-%s-seed%d", cfg.name(), layout, cfg.Seed))
	marker := filepath.Join(dir, ".complete")
	if _, err := os.Stat(marker); err == nil {
		return dir, nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	if err := Write(dir, layout, cfg); err != nil {
		return "", err
	}
	return dir, os.WriteFile(marker, nil, 0o644)
}
