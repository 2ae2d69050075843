package imageproc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
)

// Config holds the fields of a Hugging Face preprocessor_config.json that
// CLIPImageProcessor uses.
type Config struct {
	ShortestEdge          int // resize so the short side has this length
	CropHeight, CropWidth int // centre crop size
	Mean, Std             [3]float32
	RescaleFactor         float64
	DoResize              bool
	DoCenterCrop          bool
	DoRescale             bool
	DoNormalize           bool
	// DoConvertRGB is kept for fidelity with the file; images are always
	// reduced to three channels because the model takes nothing else.
	DoConvertRGB bool
}

// CLIP's normalisation constants (OPENAI_CLIP_MEAN / OPENAI_CLIP_STD).
var (
	clipMean = [3]float32{0.48145466, 0.4578275, 0.40821073}
	clipStd  = [3]float32{0.26862954, 0.26130258, 0.27577711}
)

// bicubicResample is PIL.Image.BICUBIC, the only filter implemented.
const bicubicResample = 3

// DefaultConfig returns CLIPImageProcessor's defaults, which are also the
// values of FashionCLIP's preprocessor_config.json.
func DefaultConfig() Config {
	return Config{
		ShortestEdge:  224,
		CropHeight:    224,
		CropWidth:     224,
		Mean:          clipMean,
		Std:           clipStd,
		RescaleFactor: 1.0 / 255,
		DoResize:      true,
		DoCenterCrop:  true,
		DoRescale:     true,
		DoNormalize:   true,
		DoConvertRGB:  true,
	}
}

// rawConfig mirrors the JSON; pointers and raw messages tell "absent" from
// zero, and absent fields keep CLIPImageProcessor's defaults.
type rawConfig struct {
	Size          json.RawMessage `json:"size"`
	CropSize      json.RawMessage `json:"crop_size"`
	ImageMean     json.RawMessage `json:"image_mean"`
	ImageStd      json.RawMessage `json:"image_std"`
	RescaleFactor *float64        `json:"rescale_factor"`
	Resample      *int            `json:"resample"`
	DoResize      *bool           `json:"do_resize"`
	DoCenterCrop  *bool           `json:"do_center_crop"`
	DoRescale     *bool           `json:"do_rescale"`
	DoNormalize   *bool           `json:"do_normalize"`
	DoConvertRGB  *bool           `json:"do_convert_rgb"`
}

// LoadConfig reads a preprocessor_config.json. Both the old form ("size": 224,
// "crop_size": 224) and the current one ({"shortest_edge": 224},
// {"height": 224, "width": 224}) are accepted.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("imageproc: %w", err)
	}
	cfg, err := parseConfig(data)
	if err != nil {
		return Config{}, fmt.Errorf("imageproc: %s: %w", path, err)
	}
	return cfg, nil
}

func parseConfig(data []byte) (Config, error) {
	var raw rawConfig
	if err := json.Unmarshal(data, &raw); err != nil {
		return Config{}, err
	}
	cfg := DefaultConfig()
	if raw.Resample != nil && *raw.Resample != bicubicResample {
		return Config{}, fmt.Errorf("resample %d is not supported: only bicubic (3) is implemented", *raw.Resample)
	}
	if len(raw.Size) > 0 && !isNull(raw.Size) {
		edge, err := parseSize(raw.Size)
		if err != nil {
			return Config{}, fmt.Errorf("size: %w", err)
		}
		cfg.ShortestEdge = edge
	}
	if len(raw.CropSize) > 0 && !isNull(raw.CropSize) {
		h, w, err := parseCropSize(raw.CropSize)
		if err != nil {
			return Config{}, fmt.Errorf("crop_size: %w", err)
		}
		cfg.CropHeight, cfg.CropWidth = h, w
	}
	var err error
	if cfg.Mean, err = parseTriple(raw.ImageMean, cfg.Mean); err != nil {
		return Config{}, fmt.Errorf("image_mean: %w", err)
	}
	if cfg.Std, err = parseTriple(raw.ImageStd, cfg.Std); err != nil {
		return Config{}, fmt.Errorf("image_std: %w", err)
	}
	if raw.RescaleFactor != nil {
		cfg.RescaleFactor = *raw.RescaleFactor
	}
	setBool(&cfg.DoResize, raw.DoResize)
	setBool(&cfg.DoCenterCrop, raw.DoCenterCrop)
	setBool(&cfg.DoRescale, raw.DoRescale)
	setBool(&cfg.DoNormalize, raw.DoNormalize)
	setBool(&cfg.DoConvertRGB, raw.DoConvertRGB)
	if err := cfg.validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

func isNull(m json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(m), []byte("null")) }

func setBool(dst *bool, v *bool) {
	if v != nil {
		*dst = *v
	}
}

func parseSize(m json.RawMessage) (int, error) {
	var n int
	if err := json.Unmarshal(m, &n); err == nil {
		return n, nil
	}
	var d map[string]int
	if err := json.Unmarshal(m, &d); err != nil {
		return 0, fmt.Errorf("want an integer or an object: %s", m)
	}
	if e, ok := d["shortest_edge"]; ok {
		return e, nil
	}
	// {"height", "width"} means a square resize (default_to_square), which
	// CLIP never uses.
	return 0, fmt.Errorf("only {\"shortest_edge\": N} is supported, got %s", m)
}

func parseCropSize(m json.RawMessage) (h, w int, err error) {
	var n int
	if err := json.Unmarshal(m, &n); err == nil {
		return n, n, nil
	}
	var d struct {
		Height *int `json:"height"`
		Width  *int `json:"width"`
	}
	if err := json.Unmarshal(m, &d); err != nil || d.Height == nil || d.Width == nil {
		return 0, 0, fmt.Errorf("want an integer or {\"height\", \"width\"}: %s", m)
	}
	return *d.Height, *d.Width, nil
}

// parseTriple reads a 3-list or a single number applied to every channel,
// as HF accepts both. Values become float32 as HF's normalize casts them to
// the image's dtype.
func parseTriple(m json.RawMessage, def [3]float32) ([3]float32, error) {
	if len(m) == 0 || isNull(m) {
		return def, nil
	}
	var one float64
	if err := json.Unmarshal(m, &one); err == nil {
		f := float32(one)
		return [3]float32{f, f, f}, nil
	}
	var list []float64
	if err := json.Unmarshal(m, &list); err != nil || len(list) != 3 {
		return def, fmt.Errorf("want 3 numbers: %s", m)
	}
	return [3]float32{float32(list[0]), float32(list[1]), float32(list[2])}, nil
}

// MaxConfigSize bounds shortest_edge and crop_size: CLIP models use 224 to
// 448, and a tensor of 2048×2048 is already 48 MiB per image.
const MaxConfigSize = 2048

// validate refuses what CLIPImageProcessor would choke on or turn into
// garbage: sizes that are not positive or absurdly large, non-finite
// constants, and any combination whose normalisation of some 8-bit value
// is not a finite float32 of reasonable size (a denormal std, a huge
// rescale factor). Messages
// name the JSON field.
func (c Config) validate() error {
	if c.DoResize && (c.ShortestEdge <= 0 || c.ShortestEdge > MaxConfigSize) {
		return fmt.Errorf("size: shortest edge %d is outside 1..%d", c.ShortestEdge, MaxConfigSize)
	}
	if c.DoCenterCrop && (c.CropHeight <= 0 || c.CropWidth <= 0 || c.CropHeight > MaxConfigSize || c.CropWidth > MaxConfigSize) {
		return fmt.Errorf("crop_size: %dx%d is outside 1..%d", c.CropWidth, c.CropHeight, MaxConfigSize)
	}
	if c.DoRescale && !finite(c.RescaleFactor) {
		return fmt.Errorf("rescale_factor: %v is not a finite number", c.RescaleFactor)
	}
	if c.DoNormalize {
		for i := range 3 {
			if !finite(float64(c.Mean[i])) {
				return fmt.Errorf("image_mean[%d]: %v is not a finite number", i, c.Mean[i])
			}
			if s := c.Std[i]; s == 0 || !finite(float64(s)) {
				return fmt.Errorf("image_std[%d]: %v is not a finite non-zero number", i, s)
			}
		}
	}
	lut := c.lut()
	for ch := range lut {
		for v, x := range lut[ch] {
			if !finite(float64(x)) || math.Abs(float64(x)) > maxPixelValue {
				field := "image_std"
				if r := float64(float32(float32(v) * float32(c.RescaleFactor))); c.DoRescale && (!finite(r) || math.Abs(r) > maxPixelValue) {
					field = "rescale_factor"
				}
				return fmt.Errorf("%s: channel %d maps pixel value %d to %v, outside ±%g", field, ch, v, x, maxPixelValue)
			}
		}
	}
	return nil
}

// maxPixelValue bounds a normalised value: CLIP's lie within ±3, and inputs
// of this size only overflow the encoder into NaN embeddings.
const maxPixelValue = 1e6

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// lut is HF's rescale-then-normalize in float32 as a table per channel:
// v*factor, then (x-mean)/std, each rounded to float32 (the explicit
// conversions forbid FMA fusion).
func (c Config) lut() (t [3][256]float32) {
	scale := float32(c.RescaleFactor)
	for ch := range 3 {
		for v := range 256 {
			x := float32(v)
			if c.DoRescale {
				x = float32(x * scale)
			}
			if c.DoNormalize {
				x = float32(x-c.Mean[ch]) / c.Std[ch]
			}
			t[ch][v] = x
		}
	}
	return t
}
