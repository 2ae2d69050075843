package synth

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/fashionclip/fashionclip/internal/onnxgraph"
	"github.com/fashionclip/fashionclip/internal/testutil"
)

// referenceNames maps the reference kit's tensor names (the PyTorch
// exporter's) to the Hugging Face names synth uses.
func referenceNames(ref *onnxgraph.Model) map[string]string {
	names := map[string]string{
		"m.cls":          "vision_model.embeddings.class_embedding",
		"m.vpos":         "vision_model.embeddings.position_embedding.weight",
		"m.tpos":         "text_model.embeddings.position_embedding.weight",
		"m.tok.weight":   "text_model.embeddings.token_embedding.weight",
		"m.patch.weight": "vision_model.embeddings.patch_embedding.weight",
		"m.logit_scale":  "logit_scale",
	}
	for _, p := range []string{"weight", "bias"} {
		names["m.pre."+p] = "vision_model.pre_layrnorm." + p
		names["m.post."+p] = "vision_model.post_layernorm." + p
		names["m.final."+p] = "text_model.final_layer_norm." + p
	}
	parts := map[string]string{
		"ln1": "layer_norm1", "ln2": "layer_norm2", "q": "self_attn.q_proj", "k": "self_attn.k_proj",
		"v": "self_attn.v_proj", "o": "self_attn.out_proj", "fc1": "mlp.fc1", "fc2": "mlp.fc2",
	}
	tower := map[string]string{"v": "vision_model", "t": "text_model"}
	layerParam := regexp.MustCompile(`^m\.([vt])layers\.(\d+)\.(\w+)\.(weight|bias)$`)
	for _, t := range ref.Graph.Initializers {
		if s := layerParam.FindStringSubmatch(t.Name); s != nil {
			names[t.Name] = fmt.Sprintf("%s.encoder.layers.%s.%s.%s", tower[s[1]], s[2], parts[s[3]], s[4])
		}
	}
	// Linear weights are anonymous (onnx::MatMul_N): name them by their node.
	matmul := regexp.MustCompile(`^/([vt])layers\.(\d+)/(\w+)/MatMul$`)
	for _, n := range ref.Graph.Nodes {
		if n.OpType != "MatMul" || len(n.Inputs) != 2 || ref.Graph.Initializer(n.Inputs[1]) == nil {
			continue
		}
		switch s := matmul.FindStringSubmatch(n.Name); {
		case s != nil:
			names[n.Inputs[1]] = fmt.Sprintf("%s.encoder.layers.%s.%s.weight", tower[s[1]], s[2], parts[s[3]])
		case n.Name == "/tproj/MatMul":
			names[n.Inputs[1]] = "text_projection.weight"
		case n.Name == "/vproj/MatMul":
			names[n.Inputs[1]] = "visual_projection.weight"
		}
	}
	return names
}

func readNpy(t *testing.T, path string) []float32 {
	t.Helper()
	b := readFile(t, path)
	if len(b) < 10 || string(b[1:6]) != "NUMPY" || b[6] != 1 {
		t.Fatalf("%s: not a version 1 .npy file", path)
	}
	off := 10 + int(binary.LittleEndian.Uint16(b[8:]))
	if !strings.Contains(string(b[10:off]), "'<f4'") {
		t.Fatalf("%s: not little-endian float32", path)
	}
	data := b[off:]
	out := make([]float32, len(data)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
	}
	return out
}

// TestReferenceParity loads the reference kit's weights into synth's graph
// and checks that it computes what the reference export (and the
// independent PyTorch implementation behind expected/) computes: the graph
// is Hugging Face's CLIPModel forward pass.
func TestReferenceParity(t *testing.T) {
	refDir := testutil.ReferenceDir(t)
	testutil.InitORT(t)
	refPath := filepath.Join(refDir, "models", "tiny-optimum", "model.onnx")
	refBytes := readFile(t, refPath)
	ref, err := onnxgraph.Parse(refBytes)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Tiny() // the reference's shapes, with GELU
	mine, err := CombinedModel(cfg)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*onnxgraph.Tensor{}
	for _, w := range mine.Graph.Initializers {
		byName[w.Name] = w
	}
	swapped := 0
	for refName, name := range referenceNames(ref) {
		src, dst := ref.Graph.Initializer(refName), byName[name]
		if src == nil || dst == nil {
			t.Fatalf("weight %s (reference %s): missing on one side", name, refName)
		}
		if !slices.Equal(src.Dims, dst.Dims) {
			t.Fatalf("weight %s: shape %v, reference %s has %v", name, dst.Dims, refName, src.Dims)
		}
		dst.RawData = src.RawData
		swapped++
	}
	random := 0
	for _, w := range mine.Graph.Initializers {
		if !strings.HasPrefix(w.Name, "const_") && w.Name != "text_model.causal_mask" {
			random++
		}
	}
	if swapped != random {
		t.Fatalf("swapped %d weights, but synth's graph has %d", swapped, random)
	}
	mineBytes, err := mine.Marshal()
	if err != nil {
		t.Fatal(err)
	}

	// Inputs: the reference tokens, padded, and three reference images.
	f, err := os.Open(filepath.Join(refDir, "expected", "tokens.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var texts []string
	var rows [][]int64
	seq := 0
	for sc := bufio.NewScanner(f); sc.Scan() && len(rows) < 8; {
		var rec struct {
			Text string  `json:"text"`
			IDs  []int64 `json:"ids"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		texts, rows = append(texts, rec.Text), append(rows, rec.IDs)
		seq = max(seq, len(rec.IDs))
	}
	images := []string{"a_portrait_420.jpg", "d_gray.jpg", "i_rgb.png"}
	var px []float32
	for _, name := range images {
		px = append(px, readNpy(t, filepath.Join(refDir, "expected", "pixels", name+".npy"))...)
	}
	ids, mask := padBatch(rows, seq)
	// A second mask also hides real tokens (position 1 of each row), which
	// right padding alone never exercises: the causal mask already hides it.
	holes := slices.Clone(mask)
	for r := range rows {
		holes[r*seq+1] = 0
	}
	var got map[string]testutil.ORTOutput
	for _, m := range []struct {
		name string
		mask []int64
	}{{"holes", holes}, {"padding", mask}} {
		ins := []testutil.ORTInput{
			{Name: "input_ids", Shape: []int64{int64(len(rows)), int64(seq)}, I64: ids},
			{Name: "pixel_values", Shape: []int64{int64(len(images)), 3, 224, 224}, F32: px},
			{Name: "attention_mask", Shape: []int64{int64(len(rows)), int64(seq)}, I64: m.mask},
		}
		outs := []string{"logits_per_image", "logits_per_text", "text_embeds", "image_embeds"}
		want := testutil.RunONNX(t, refBytes, ins, outs...)
		got = testutil.RunONNX(t, mineBytes, ins, outs...)
		for _, name := range outs {
			if !slices.Equal(got[name].Shape, want[name].Shape) {
				t.Fatalf("%s mask, %s: shape %v, reference %v", m.name, name, got[name].Shape, want[name].Shape)
			}
			tol := 1e-5
			if strings.HasPrefix(name, "logits") {
				tol = 1e-3 // ×100
			}
			for i := range want[name].Data {
				if d := math.Abs(float64(got[name].Data[i] - want[name].Data[i])); d > tol {
					t.Errorf("%s mask, %s[%d] = %v, reference graph gives %v", m.name, name, i, got[name].Data[i], want[name].Data[i])
					break
				}
			}
		}
	}

	var expected struct {
		Texts  map[string][]float32 `json:"texts"`
		Images map[string][]float32 `json:"images"`
	}
	if err := json.Unmarshal(readFile(t, filepath.Join(refDir, "expected", "embeddings.json")), &expected); err != nil {
		t.Fatal(err)
	}
	check := func(kind, key string, got []float32, want []float32) {
		if want == nil {
			t.Errorf("expected/embeddings.json has no %s %q", kind, key)
			return
		}
		if c := testutil.Cosine(got, want); c < 0.99999 {
			t.Errorf("%s %q: cosine with the PyTorch answer %.7f, want >= 0.99999", kind, key, c)
		}
	}
	for i, text := range texts {
		check("text", text, row(got["text_embeds"], i), expected.Texts[text])
	}
	for i, name := range images {
		check("image", name, row(got["image_embeds"], i), expected.Images[name])
	}
}
