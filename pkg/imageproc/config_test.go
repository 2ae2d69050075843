package imageproc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fashionclip/fashionclip/internal/testutil"
)

func TestLoadConfig(t *testing.T) {
	def := DefaultConfig()
	tests := []struct {
		name    string
		json    string
		want    func(*Config) // edits applied to DefaultConfig
		wantErr string
	}{
		{"old form", `{"crop_size": 224, "do_center_crop": true, "do_normalize": true, "do_resize": true,
			"feature_extractor_type": "CLIPFeatureExtractor", "image_mean": [0.48145466, 0.4578275, 0.40821073],
			"image_std": [0.26862954, 0.26130258, 0.27577711], "resample": 3, "size": 224}`, nil, ""},
		{"new form", `{"crop_size": {"height": 224, "width": 224}, "size": {"shortest_edge": 224},
			"do_rescale": true, "rescale_factor": 0.00392156862745098, "do_convert_rgb": true, "resample": 3}`, nil, ""},
		{"empty object keeps defaults", `{}`, nil, ""},
		{"other sizes", `{"size": {"shortest_edge": 336}, "crop_size": {"height": 320, "width": 300}}`,
			func(c *Config) { c.ShortestEdge, c.CropHeight, c.CropWidth = 336, 320, 300 }, ""},
		{"flags off", `{"do_resize": false, "do_center_crop": false, "do_rescale": false, "do_normalize": false, "do_convert_rgb": false}`,
			func(c *Config) {
				c.DoResize, c.DoCenterCrop, c.DoRescale, c.DoNormalize, c.DoConvertRGB = false, false, false, false, false
			}, ""},
		{"scalar mean", `{"image_mean": 0.5, "image_std": [1, 2, 4]}`,
			func(c *Config) { c.Mean, c.Std = [3]float32{0.5, 0.5, 0.5}, [3]float32{1, 2, 4} }, ""},
		{"rescale factor", `{"rescale_factor": 0.5}`, func(c *Config) { c.RescaleFactor = 0.5 }, ""},
		{"bilinear", `{"resample": 2}`, nil, "only bicubic"},
		{"square size", `{"size": {"height": 224, "width": 224}}`, nil, "shortest_edge"},
		{"bad crop", `{"crop_size": {"height": 224}}`, nil, "crop_size"},
		{"two means", `{"image_mean": [0.5, 0.5]}`, nil, "image_mean"},
		{"zero std", `{"image_std": [0.2, 0, 0.2]}`, nil, "zero"},
		{"negative edge", `{"size": -1}`, nil, "size: shortest edge -1 is outside 1..2048"},
		// Issue 13: hostile values are refused naming the file and the field.
		{"zero edge", `{"size": 0}`, nil, "size: shortest edge 0 is outside"},
		{"huge crop", `{"crop_size": 100000}`, nil, "crop_size: 100000x100000 is outside 1..2048"},
		{"negative crop", `{"crop_size": {"height": -3, "width": 224}}`, nil, "crop_size: 224x-3"},
		{"NaN mean", `{"image_mean": [NaN, 0.5, 0.5]}`, nil, "invalid character 'N'"},
		{"overflowing mean", `{"image_mean": [1e39, 0.5, 0.5]}`, nil, "image_mean[0]: +Inf is not a finite number"},
		{"beyond float64", `{"image_std": [1e400, 1, 1]}`, nil, "image_std: want 3 numbers"},
		{"infinite std", `{"image_std": [1, 1e39, 1]}`, nil, "image_std[1]: +Inf"},
		{"denormal std", `{"image_std": [0.26, 0.26, 1e-40]}`, nil, "image_std: channel 2 maps pixel value 0 to"},
		{"huge rescale factor", `{"rescale_factor": 1e30}`, nil, "rescale_factor: channel 0 maps pixel value 1 to"},
		{"infinite rescale factor", `{"rescale_factor": 1e300}`, nil, "rescale_factor: channel 0 maps pixel value 0 to NaN"},
		{"not json", `{"size": `, nil, "unexpected"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "preprocessor_config.json")
			if err := os.WriteFile(path, []byte(tc.json), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := LoadConfig(path)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), path) {
					t.Fatalf("error %v, want one naming the file and containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := def
			if tc.want != nil {
				tc.want(&want)
			}
			if got != want {
				t.Errorf("got %+v\nwant %+v", got, want)
			}
		})
	}
	if _, err := LoadConfig(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("missing file accepted")
	}
}

// The reference kit's config holds float32-rounded means written as
// doubles; they must land on the same float32 values as DefaultConfig.
func TestReferenceConfig(t *testing.T) {
	ref := testutil.ReferenceDir(t)
	for _, dir := range []string{"tiny-optimum", "tiny-split"} {
		got, err := LoadConfig(filepath.Join(ref, "models", dir, "preprocessor_config.json"))
		if err != nil {
			t.Fatal(err)
		}
		if got != DefaultConfig() {
			t.Errorf("%s: got %+v, want the defaults", dir, got)
		}
	}
}

func TestInvalidConfigFailsCalls(t *testing.T) {
	cfg := DefaultConfig()
	cfg.CropWidth = 0
	p := New(cfg, Options{})
	if _, err := p.Bytes(smallJPEG(t)); err == nil || !strings.Contains(err.Error(), "crop") {
		t.Fatalf("got %v", err)
	}
}
