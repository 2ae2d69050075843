package synth

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fashionclip/fashionclip/internal/onnxgraph"
	"github.com/fashionclip/fashionclip/internal/testutil"
)

// tinyDir generates the tiny model in both layouts once per test binary.
var tinyDirs = map[int64]string{}

func tinyDir(t *testing.T) string {
	t.Helper()
	cfg := Tiny()
	if d, ok := tinyDirs[cfg.Seed]; ok {
		return d
	}
	dir, err := os.MkdirTemp("", "synth-tiny-")
	if err != nil {
		t.Fatal(err)
	}
	if err := Write(dir, "both", cfg); err != nil {
		t.Fatal(err)
	}
	tinyDirs[cfg.Seed] = dir
	return dir
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range tinyDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// padBatch right-pads rows with the end token and masks the padding, the
// way CLIP tokenizers pad a batch.
func padBatch(rows [][]int64, seq int) (ids, mask []int64) {
	for _, r := range rows {
		for i := range seq {
			if i < len(r) {
				ids, mask = append(ids, r[i]), append(mask, 1)
			} else {
				ids, mask = append(ids, EndToken), append(mask, 0)
			}
		}
	}
	return ids, mask
}

func randomPixels(seed uint64, n, size int) []float32 {
	rng := rand.New(rand.NewPCG(seed, 1))
	px := make([]float32, n*3*size*size)
	for i := range px {
		px[i] = float32(rng.NormFloat64())
	}
	return px
}

func row(o testutil.ORTOutput, i int) []float32 {
	w := int(o.Shape[len(o.Shape)-1])
	return o.Data[i*w : (i+1)*w]
}

func dot(a, b []float32) float64 {
	s := 0.0
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

var sampleTexts = []string{
	"a photo of a red dress",
	"black leather ankle boots",
	"sneaker",
	"a photo of a blue denim jacket with pockets",
}

func tokenizeAll(texts []string) (rows [][]int64, longest int) {
	v := buildVocabulary()
	for _, s := range texts {
		r := v.tokenize(s)
		rows = append(rows, r)
		longest = max(longest, len(r))
	}
	return rows, longest
}

func TestCombinedMatchesSplit(t *testing.T) {
	testutil.InitORT(t)
	dir := tinyDir(t)
	cfg := Tiny()
	combined := readFile(t, filepath.Join(dir, "combined", "model.onnx"))
	textModel := readFile(t, filepath.Join(dir, "split", "onnx", "text_model.onnx"))
	visionModel := readFile(t, filepath.Join(dir, "split", "onnx", "vision_model.onnx"))

	rows, seq := tokenizeAll(sampleTexts)
	ids, mask := padBatch(rows, seq)
	const images = 2
	px := randomPixels(3, images, cfg.ImageSize)
	pxShape := []int64{images, 3, int64(cfg.ImageSize), int64(cfg.ImageSize)}
	got := testutil.RunONNX(t, combined, []testutil.ORTInput{
		{Name: "input_ids", Shape: []int64{int64(len(rows)), int64(seq)}, I64: ids},
		{Name: "pixel_values", Shape: pxShape, F32: px},
		{Name: "attention_mask", Shape: []int64{int64(len(rows)), int64(seq)}, I64: mask},
	}, "logits_per_image", "logits_per_text", "text_embeds", "image_embeds")

	textEmb, imageEmb := got["text_embeds"], got["image_embeds"]
	if want := []int64{int64(len(rows)), int64(cfg.ProjectionDim)}; !slices.Equal(textEmb.Shape, want) {
		t.Fatalf("text_embeds shape %v, want %v", textEmb.Shape, want)
	}
	for i, r := range rows {
		split := testutil.RunONNX(t, textModel, []testutil.ORTInput{{Name: "input_ids", Shape: []int64{1, int64(len(r))}, I64: r}}, "text_embeds")
		raw := row(split["text_embeds"], 0)
		if n := math.Sqrt(dot(raw, raw)); math.Abs(n-1) < 1e-3 {
			t.Errorf("split text_embeds row %d has norm %v: should be the raw projection, not normalised", i, n)
		}
		if c := testutil.Cosine(raw, row(textEmb, i)); c < 0.99999 {
			t.Errorf("text %q: testutil.Cosine(split, combined) = %.7f, want >= 0.99999", sampleTexts[i], c)
		}
		if n := math.Sqrt(dot(row(textEmb, i), row(textEmb, i))); math.Abs(n-1) > 1e-5 {
			t.Errorf("combined text_embeds row %d has norm %v, want 1", i, n)
		}
	}
	split := testutil.RunONNX(t, visionModel, []testutil.ORTInput{{Name: "pixel_values", Shape: pxShape, F32: px}}, "image_embeds")
	for i := range images {
		if c := testutil.Cosine(row(split["image_embeds"], i), row(imageEmb, i)); c < 0.99999 {
			t.Errorf("image %d: testutil.Cosine(split, combined) = %.7f, want >= 0.99999", i, c)
		}
	}

	lpi, lpt := got["logits_per_image"], got["logits_per_text"]
	if want := []int64{images, int64(len(rows))}; !slices.Equal(lpi.Shape, want) {
		t.Fatalf("logits_per_image shape %v, want %v", lpi.Shape, want)
	}
	for i := range images {
		for j := range rows {
			want := 100 * testutil.Cosine(row(imageEmb, i), row(textEmb, j))
			if d := math.Abs(float64(row(lpi, i)[j]) - want); d > 1e-3 {
				t.Errorf("logits_per_image[%d][%d] = %v, want 100·cos = %v", i, j, row(lpi, i)[j], want)
			}
			if row(lpi, i)[j] != row(lpt, j)[i] {
				t.Errorf("logits_per_text[%d][%d] = %v is not logits_per_image transposed (%v)", j, i, row(lpt, j)[i], row(lpi, i)[j])
			}
		}
	}
}

// Hugging Face pools at the end token and the causal mask hides later
// positions, so padding after the end token must not change a row.
func TestPaddingDoesNotChangeEmbedding(t *testing.T) {
	testutil.InitORT(t)
	cfg := Tiny()
	dir := tinyDir(t)
	masked, err := TextModel(cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	maskedBytes, err := masked.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	models := []struct {
		name     string
		model    []byte
		mask     bool
		output   string
		combined bool
	}{
		{"combined", readFile(t, filepath.Join(dir, "combined", "model.onnx")), true, "text_embeds", true},
		{"split", readFile(t, filepath.Join(dir, "split", "onnx", "text_model.onnx")), false, "text_embeds", false},
		{"split with attention_mask", maskedBytes, true, "text_embeds", false},
	}
	rows, longest := tokenizeAll(sampleTexts)
	px := randomPixels(5, 1, cfg.ImageSize)
	embed := func(model []byte, withMask, combined bool, batch [][]int64, seq int) testutil.ORTOutput {
		ids, mask := padBatch(batch, seq)
		shape := []int64{int64(len(batch)), int64(seq)}
		ins := []testutil.ORTInput{{Name: "input_ids", Shape: shape, I64: ids}}
		if combined {
			ins = append(ins, testutil.ORTInput{Name: "pixel_values", Shape: []int64{1, 3, int64(cfg.ImageSize), int64(cfg.ImageSize)}, F32: px})
		}
		if withMask {
			ins = append(ins, testutil.ORTInput{Name: "attention_mask", Shape: shape, I64: mask})
		}
		return testutil.RunONNX(t, model, ins, "text_embeds")["text_embeds"]
	}
	for _, m := range models {
		for _, seq := range []int{longest, longest + 5, cfg.MaxPositions} {
			batch := embed(m.model, m.mask, m.combined, rows, seq)
			for i, r := range rows {
				alone := row(embed(m.model, m.mask, m.combined, [][]int64{r}, len(r)), 0)
				padded := row(batch, i)
				for k := range alone {
					if d := math.Abs(float64(alone[k] - padded[k])); d > 1e-5 {
						t.Errorf("%s, padded to %d: text %q element %d differs by %g from the unpadded run", m.name, seq, sampleTexts[i], k, d)
						break
					}
				}
			}
			// Different texts must still differ, or the check above proves nothing.
			if c := testutil.Cosine(row(batch, 0), row(batch, 1)); c > 0.9999 {
				t.Errorf("%s: texts 0 and 1 embed almost identically (cosine %v)", m.name, c)
			}
		}
	}
}

func TestDeterministic(t *testing.T) {
	cfg := Tiny()
	a, b, c := t.TempDir(), t.TempDir(), t.TempDir()
	if err := WriteCombined(a, cfg); err != nil {
		t.Fatal(err)
	}
	if err := WriteCombined(b, cfg); err != nil {
		t.Fatal(err)
	}
	other := cfg
	other.Seed++
	if err := WriteCombined(c, other); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(a)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !bytes.Equal(readFile(t, filepath.Join(a, e.Name())), readFile(t, filepath.Join(b, e.Name()))) {
			t.Errorf("%s differs between two runs with the same seed", e.Name())
		}
	}
	if bytes.Equal(readFile(t, filepath.Join(a, "model.onnx")), readFile(t, filepath.Join(c, "model.onnx"))) {
		t.Error("model.onnx is the same for seeds 7 and 8")
	}
}

func TestWriteLayouts(t *testing.T) {
	side := []string{"config.json", "preprocessor_config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"}
	combined := append([]string{"model.onnx", "vocab.json", "merges.txt"}, side...)
	split := append([]string{"onnx/text_model.onnx", "onnx/vision_model.onnx"}, side...)
	prefix := func(p string, names []string) []string {
		out := make([]string, len(names))
		for i, n := range names {
			out[i] = p + "/" + n
		}
		return out
	}
	tests := []struct {
		layout  string
		want    []string
		wantErr bool
	}{
		{"combined", combined, false},
		{"split", split, false},
		{"both", append(prefix("combined", combined), prefix("split", split)...), false},
		{"optimum", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.layout, func(t *testing.T) {
			dir := t.TempDir()
			err := Write(dir, tc.layout, Tiny())
			if (err != nil) != tc.wantErr {
				t.Fatalf("Write(%q) error = %v, want error %v", tc.layout, err, tc.wantErr)
			}
			var got []string
			filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					rel, _ := filepath.Rel(dir, p)
					got = append(got, filepath.ToSlash(rel))
				}
				return err
			})
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tc.want))
			if !slices.Equal(got, want) {
				t.Errorf("files = %v\nwant %v", got, want)
			}
		})
	}
}

func dyn(p string) onnxgraph.Dim { return onnxgraph.Dim{Value: -1, Param: p} }
func fix(v int64) onnxgraph.Dim  { return onnxgraph.Dim{Value: v} }

func TestModelInterface(t *testing.T) {
	dir := tinyDir(t)
	tests := []struct {
		file    string
		inputs  []onnxgraph.ValueInfo
		outputs []string
	}{
		{"combined/model.onnx", []onnxgraph.ValueInfo{
			{Name: "input_ids", ElemType: onnxgraph.TypeInt64, Dims: []onnxgraph.Dim{dyn("text_batch_size"), dyn("sequence_length")}},
			{Name: "pixel_values", ElemType: onnxgraph.TypeFloat, Dims: []onnxgraph.Dim{dyn("image_batch_size"), fix(3), fix(224), fix(224)}},
			{Name: "attention_mask", ElemType: onnxgraph.TypeInt64, Dims: []onnxgraph.Dim{dyn("text_batch_size"), dyn("sequence_length")}},
		}, []string{"logits_per_image", "logits_per_text", "text_embeds", "image_embeds"}},
		{"split/onnx/text_model.onnx", []onnxgraph.ValueInfo{
			{Name: "input_ids", ElemType: onnxgraph.TypeInt64, Dims: []onnxgraph.Dim{dyn("batch_size"), dyn("sequence_length")}},
		}, []string{"text_embeds"}},
		{"split/onnx/vision_model.onnx", []onnxgraph.ValueInfo{
			{Name: "pixel_values", ElemType: onnxgraph.TypeFloat, Dims: []onnxgraph.Dim{dyn("batch_size"), fix(3), fix(224), fix(224)}},
		}, []string{"image_embeds"}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			m, err := onnxgraph.ReadFile(filepath.Join(dir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Inputs(); !jsonEqual(got, tc.inputs) {
				t.Errorf("inputs = %+v\nwant %+v", got, tc.inputs)
			}
			var outs []string
			for _, o := range m.Outputs() {
				outs = append(outs, o.Name)
			}
			if !slices.Equal(outs, tc.outputs) {
				t.Errorf("outputs = %v, want %v", outs, tc.outputs)
			}
		})
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func TestConfigFiles(t *testing.T) {
	dir := filepath.Join(tinyDir(t), "combined")
	var cfg map[string]any
	if err := json.Unmarshal(readFile(t, filepath.Join(dir, "config.json")), &cfg); err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		key  string
		want any
	}{
		{"_name_or_path", "fashionclip-synthetic-tiny"},
		{"fashionclip_synthetic", true},
		{"projection_dim", 32.0},
		{"model_type", "clip"},
	}
	for _, c := range checks {
		if cfg[c.key] != c.want {
			t.Errorf("config.json %s = %v, want %v", c.key, cfg[c.key], c.want)
		}
	}
	var pre struct {
		Size     map[string]int `json:"size"`
		CropSize map[string]int `json:"crop_size"`
		Mean     []float64      `json:"image_mean"`
	}
	if err := json.Unmarshal(readFile(t, filepath.Join(dir, "preprocessor_config.json")), &pre); err != nil {
		t.Fatal(err)
	}
	if pre.Size["shortest_edge"] != 224 || pre.CropSize["height"] != 224 || len(pre.Mean) != 3 {
		t.Errorf("preprocessor_config.json = %+v", pre)
	}
}

func TestVocabulary(t *testing.T) {
	v := buildVocabulary()
	if len(v.tokens) != VocabSize {
		t.Fatalf("%d tokens, want %d", len(v.tokens), VocabSize)
	}
	ids := map[string]int{}
	for i, tok := range v.tokens {
		if j, dup := ids[tok]; dup {
			t.Fatalf("token %q has ids %d and %d", tok, j, i)
		}
		ids[tok] = i
	}
	fixed := []struct {
		token string
		id    int
	}{
		{"!", 0}, {"a", 64}, {"!</w>", 256}, {"a</w>", 320},
		{"<|startoftext|>", StartToken}, {"<|endoftext|>", EndToken},
	}
	for _, f := range fixed {
		if ids[f.token] != f.id {
			t.Errorf("id of %q = %d, want %d (CLIP's layout)", f.token, ids[f.token], f.id)
		}
	}
	for _, m := range v.merges {
		for _, part := range []string{m[0], m[1], m[0] + m[1]} {
			if _, ok := ids[part]; !ok {
				t.Errorf("merge %q %q: %q is not in the vocabulary", m[0], m[1], part)
			}
		}
	}
	if len(v.merges) < 300 {
		t.Errorf("only %d merges", len(v.merges))
	}
	// Every seed word is a single token; other words split into pieces.
	tests := []struct {
		text string
		want int // tokens between start and end
	}{
		{"a photo of a red dress", 6},
		{"Sneakers", 1},
		{"zzqx", 4},
	}
	for _, tc := range tests {
		got := v.tokenize(tc.text)
		if got[0] != StartToken || got[len(got)-1] != EndToken || len(got)-2 != tc.want {
			t.Errorf("tokenize(%q) = %v, want %d tokens between start and end", tc.text, got, tc.want)
		}
	}
}

func TestTokenizerFiles(t *testing.T) {
	dir := filepath.Join(tinyDir(t), "combined")
	var tok struct {
		AddedTokens []struct {
			ID      int    `json:"id"`
			Content string `json:"content"`
			Special bool   `json:"special"`
		} `json:"added_tokens"`
		Model struct {
			Type           string         `json:"type"`
			EndOfWordSufix string         `json:"end_of_word_suffix"`
			Vocab          map[string]int `json:"vocab"`
			Merges         []string       `json:"merges"`
		} `json:"model"`
		PostProcessor map[string]any `json:"post_processor"`
	}
	if err := json.Unmarshal(readFile(t, filepath.Join(dir, "tokenizer.json")), &tok); err != nil {
		t.Fatal(err)
	}
	var vocab map[string]int
	if err := json.Unmarshal(readFile(t, filepath.Join(dir, "vocab.json")), &vocab); err != nil {
		t.Fatal(err)
	}
	merges := strings.Split(strings.TrimSuffix(string(readFile(t, filepath.Join(dir, "merges.txt"))), "\n"), "\n")
	switch {
	case len(vocab) != VocabSize || len(tok.Model.Vocab) != VocabSize:
		t.Errorf("vocab sizes %d (vocab.json), %d (tokenizer.json), want %d", len(vocab), len(tok.Model.Vocab), VocabSize)
	case merges[0] != "#version: 0.2":
		t.Errorf("merges.txt starts with %q", merges[0])
	case !slices.Equal(merges[1:], tok.Model.Merges):
		t.Error("merges.txt and tokenizer.json disagree")
	case tok.Model.Type != "BPE" || tok.Model.EndOfWordSufix != "</w>":
		t.Errorf("model = %s / %q", tok.Model.Type, tok.Model.EndOfWordSufix)
	case len(tok.AddedTokens) != 2 || tok.AddedTokens[1].ID != EndToken || tok.AddedTokens[1].Content != "<|endoftext|>":
		t.Errorf("added tokens = %+v", tok.AddedTokens)
	case tok.PostProcessor["type"] != "RobertaProcessing":
		t.Errorf("post processor = %v", tok.PostProcessor)
	}
	for k, id := range vocab {
		if tok.Model.Vocab[k] != id {
			t.Fatalf("%q: id %d in vocab.json, %d in tokenizer.json", k, id, tok.Model.Vocab[k])
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		ok     bool
	}{
		{"tiny", func(*Config) {}, true},
		{"gelu", func(c *Config) { c.HiddenAct = "gelu" }, true},
		{"default act", func(c *Config) { c.HiddenAct = "" }, true},
		{"heads do not divide width", func(c *Config) { c.VisionHeads = 5 }, false},
		{"text heads do not divide width", func(c *Config) { c.TextHeads = 3 }, false},
		{"patch does not divide image", func(c *Config) { c.PatchSize = 30 }, false},
		{"zero layers", func(c *Config) { c.TextLayers = 0 }, false},
		{"other vocabulary", func(c *Config) { c.VocabSize = 1000 }, false},
		{"unknown activation", func(c *Config) { c.HiddenAct = "relu" }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Tiny()
			tc.change(&cfg)
			err := cfg.validate()
			if (err == nil) != tc.ok {
				t.Errorf("validate() = %v, want ok %v", err, tc.ok)
			}
			if _, err := CombinedModel(cfg); (err == nil) != tc.ok {
				t.Errorf("CombinedModel error = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

func TestConfigByName(t *testing.T) {
	tests := []struct {
		name    string
		width   int
		wantErr bool
	}{
		{"tiny", 64, false},
		{"vit-b-32", 768, false},
		{"ViT-B/32", 768, false},
		{"vit-l-14", 0, true},
		{"", 0, true},
	}
	for _, tc := range tests {
		cfg, err := ConfigByName(tc.name)
		if (err != nil) != tc.wantErr || cfg.VisionWidth != tc.width {
			t.Errorf("ConfigByName(%q) = width %d, %v; want width %d, error %v", tc.name, cfg.VisionWidth, err, tc.width, tc.wantErr)
		}
	}
}

// The presets must have the parameter counts of the models they stand for,
// counted without generating any weights.
func TestPresetParameterCounts(t *testing.T) {
	count := func(cfg Config) int64 {
		b := newBuilder(cfg, "count")
		b.textTower("input_ids", "attention_mask")
		b.visionTower("pixel_values")
		var n int64
		for _, w := range b.g.Initializers {
			if !strings.HasPrefix(w.Name, "const_") && w.Name != "text_model.causal_mask" {
				n += w.NumElements()
			}
		}
		return n + 1 // logit_scale
	}
	tests := []struct {
		name string
		cfg  Config
		want int64
	}{
		// CLIP ViT-B/32 as Hugging Face counts CLIPModel's parameters.
		{"vit-b-32", ViTB32(), 151277313},
	}
	for _, tc := range tests {
		if got := count(tc.cfg); got != tc.want {
			t.Errorf("%s: %d parameters, want %d", tc.name, got, tc.want)
		}
	}
}
