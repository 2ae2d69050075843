package index

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/fashionclip/fashionclip/internal/modelfiles"
)

func TestCheckModel(t *testing.T) {
	hub := ModelInfo{Repo: "patrickjohncyh/fashion-clip", Revision: "abc", Graph: "sha256-sampled:11"}
	with := func(m ModelInfo, edit func(*ModelInfo)) ModelInfo { edit(&m); return m }
	int8 := with(hub, func(m *ModelInfo) { m.Variant, m.Recipe = modelfiles.Int8, "int8-v1-dq" })
	tests := []struct {
		name           string
		index, request ModelInfo
		want           string // "", "variant" or "model"
	}{
		{"same", hub, hub, ""},
		{"absent variant is fp32", hub, with(hub, func(m *ModelInfo) { m.Variant = modelfiles.FP32 }), ""},
		{"fp32 index, int8 request", hub, int8, "variant"},
		{"int8 index, fp32 request", int8, hub, "variant"},
		{"another recipe", int8, with(int8, func(m *ModelInfo) { m.Recipe = "int8-v2-dq" }), "variant"},
		{"shipped variant files hash differently", hub,
			with(hub, func(m *ModelInfo) { m.Variant, m.Graph = modelfiles.FP16, "sha256-sampled:22" }), "variant"},
		{"same folder, fp16 files", ModelInfo{Folder: "/m", Graph: "g1"}, ModelInfo{Folder: "/m", Graph: "g2", Variant: modelfiles.FP16}, "variant"},
		{"another model", hub, ModelInfo{Repo: "openai/clip-vit-base-patch32", Graph: "sha256-sampled:33"}, "model"},
		{"another model in another variant", hub, ModelInfo{Folder: "/other", Graph: "g3", Variant: modelfiles.Int8}, "model"},
		{"the same name with other weights", hub, with(hub, func(m *ModelInfo) { m.Graph = "sha256-sampled:44" }), "model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckModel("idx", tt.index, tt.request)
			var ve *VariantMismatchError
			var me *MismatchError
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.want == "variant" && !errors.As(err, &ve):
				t.Errorf("got %v, want a *VariantMismatchError", err)
			case tt.want == "model" && !errors.As(err, &me):
				t.Errorf("got %v, want a *MismatchError", err)
			}
			if err != nil && strings.Contains(err.Error(), "--") {
				t.Errorf("%q names a flag", err)
			}
			if tt.want == "variant" && (!strings.Contains(err.Error(), tt.index.Variant.String()) || !strings.Contains(err.Error(), tt.request.Variant.String())) {
				t.Errorf("%q does not name both variants", err)
			}
		})
	}
}

// The writer refuses an index of another variant; the manifest records
// the variant and recipe, and an old manifest without them reads as fp32.
func TestVariantRecorded(t *testing.T) {
	dir := t.TempDir()
	int8 := testModel
	int8.Variant, int8.Recipe = modelfiles.Int8, "int8-v1-dq"
	w := openW(t, dir, Options{Model: int8})
	w.Add(img("a", 1), vecFor("a", 1, 8))
	mustClose(t, w)
	m, err := ReadManifest(dir)
	if err != nil || m.Model != int8 {
		t.Fatalf("recorded %+v, %v", m.Model, err)
	}
	_, err = OpenWriter(dir, Options{Model: testModel})
	var ve *VariantMismatchError
	if !errors.As(err, &ve) {
		t.Errorf("an fp32 writer into an int8 index: %v", err)
	}
	info, _ := Stat(dir)
	if got := info.Manifest.Model.Variant.String(); got != "int8" {
		t.Errorf("Stat shows variant %q", got)
	}

	var old Manifest
	if err := json.Unmarshal([]byte(`{"model": {"repo": "r", "graph": "g"}}`), &old); err != nil {
		t.Fatal(err)
	}
	if old.Model.Variant.String() != "fp32" || !old.Model.Same(ModelInfo{Repo: "r", Graph: "g", Variant: modelfiles.FP32}) {
		t.Errorf("an old manifest's model reads as %+v", old.Model)
	}
}
