package modelfiles

import (
	"errors"
	"strings"
	"testing"
)

func set(files ...string) func(string) bool {
	m := map[string]bool{}
	for _, f := range files {
		m[f] = true
	}
	return func(p string) bool { return m[p] }
}

func TestFindGraphs(t *testing.T) {
	cases := []struct {
		name    string
		files   []string
		variant Variant
		want    Graphs
		errLike string
	}{
		{"optimum folder", []string{"model.onnx"}, "", Graphs{Kind: Combined, Combined: "model.onnx"}, ""},
		{"repo root", []string{"onnx/model.onnx"}, FP32, Graphs{Kind: Combined, Dir: "onnx/", Combined: "onnx/model.onnx"}, ""},
		{"root wins", []string{"model.onnx", "onnx/model.onnx"}, FP32, Graphs{Kind: Combined, Combined: "model.onnx"}, ""},
		{"combined before split", []string{"onnx/model.onnx", "onnx/text_model.onnx", "onnx/vision_model.onnx"}, FP32,
			Graphs{Kind: Combined, Dir: "onnx/", Combined: "onnx/model.onnx"}, ""},
		{"split", []string{"onnx/text_model.onnx", "onnx/vision_model.onnx"}, FP32,
			Graphs{Kind: Split, Dir: "onnx/", Text: "onnx/text_model.onnx", Vision: "onnx/vision_model.onnx"}, ""},
		{"split quantized", []string{"onnx/text_model.onnx", "onnx/vision_model.onnx", "onnx/text_model_quantized.onnx", "onnx/vision_model_quantized.onnx"}, Quantized,
			Graphs{Kind: Split, Dir: "onnx/", Text: "onnx/text_model_quantized.onnx", Vision: "onnx/vision_model_quantized.onnx"}, ""},
		{"variant missing", []string{"onnx/model.onnx"}, FP16, Graphs{}, "there are graphs for: fp32"},
		{"quantized is never derived", []string{"onnx/model.onnx"}, Quantized, Graphs{}, "there are graphs for: fp32"},
		{"int8 shipped", []string{"onnx/model.onnx", "onnx/text_model_int8.onnx", "onnx/vision_model_int8.onnx"}, Int8,
			Graphs{Kind: Split, Dir: "onnx/", Text: "onnx/text_model_int8.onnx", Vision: "onnx/vision_model_int8.onnx"}, ""},
		{"int8 derived from combined", []string{"onnx/model.onnx", "onnx/model_quantized.onnx"}, Int8,
			Graphs{Kind: Combined, Dir: "onnx/", Combined: "onnx/model.onnx", From: FP32}, ""},
		{"int8 derived from split", []string{"text_model.onnx", "vision_model.onnx"}, Int8,
			Graphs{Kind: Split, Text: "text_model.onnx", Vision: "vision_model.onnx", From: FP32}, ""},
		{"half an int8 split is refused", []string{"onnx/model.onnx", "onnx/text_model_int8.onnx"}, Int8, Graphs{}, "only one of onnx/text_model_int8.onnx"},
		{"int8 without fp32", []string{"onnx/model_fp16.onnx"}, Int8, Graphs{}, "looked for model_int8.onnx, text_model_int8.onnx + vision_model_int8.onnx, onnx/model_int8.onnx, onnx/text_model_int8.onnx + vision_model_int8.onnx, model.onnx"},
		{"half a split", []string{"onnx/text_model.onnx"}, FP32, Graphs{}, "only one of onnx/text_model.onnx and onnx/vision_model.onnx"},
		{"empty", nil, FP32, Graphs{}, "no ONNX graph for variant fp32"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := FindGraphs(set(c.files...), c.variant)
			if c.errLike != "" {
				if err == nil || !strings.Contains(err.Error(), c.errLike) {
					t.Fatalf("err = %v, want %q", err, c.errLike)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
		})
	}
	var ng *NoGraphError
	if _, err := FindGraphs(set("model.onnx"), Q4); !errors.As(err, &ng) || ng.Variant != Q4 {
		t.Fatalf("want a NoGraphError for q4, got %v", err)
	}
}

func TestParseVariant(t *testing.T) {
	for in, want := range map[string]Variant{"": FP32, "FP16": FP16, "int8": Int8, "quantized": Quantized} {
		got, err := ParseVariant(in)
		if err != nil || got != want {
			t.Errorf("ParseVariant(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	var uv *UnknownVariantError
	if _, err := ParseVariant("fp8"); !errors.As(err, &uv) {
		t.Fatalf("fp8: %v", err)
	}
	if Variant("").Suffix() != "" || Int8.Suffix() != "_int8" || Variant("").String() != "fp32" {
		t.Fatal("suffixes")
	}
}

func TestTokenizerDir(t *testing.T) {
	g := Graphs{Kind: Combined, Dir: "onnx/", Combined: "onnx/model.onnx"}
	if d, ok := g.TokenizerDir(set("onnx/model.onnx", "tokenizer.json")); !ok || d != "" {
		t.Fatalf("root tokenizer: %q %v", d, ok)
	}
	if d, ok := g.TokenizerDir(set("onnx/vocab.json", "onnx/merges.txt", "tokenizer.json")); !ok || d != "onnx/" {
		t.Fatalf("beside the graph first: %q %v", d, ok)
	}
	if _, ok := g.TokenizerDir(set("vocab.json")); ok {
		t.Fatal("vocab.json alone is no tokenizer")
	}
	if !IsWeightsOf("onnx/model.onnx_data", "onnx/model.onnx") || IsWeightsOf("onnx/model_fp16.onnx", "onnx/model.onnx") {
		t.Fatal("IsWeightsOf")
	}
}
