package modelengine

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fashionclip/fashionclip/internal/server"
	"github.com/fashionclip/fashionclip/internal/testutil"
)

// openAIHarness returns the npm harness folder with the openai package
// installed (into its git-ignored node_modules, kept between runs), or
// skips when node, npm or the registry is not available.
func openAIHarness(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("openai npm client test skipped in -short mode")
	}
	dir := filepath.Join(testutil.ModuleRoot(t), "internal", "server", "testdata", "openai-client")
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found on PATH: the openai npm client test needs Node.js and npm", tool)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "openai", "package.json")); err == nil {
		return dir
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "install", "--no-audit", "--no-fund", "--no-package-lock")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("npm install openai failed (registry unreachable?), skipping the openai client test: %v\n%s", err, out)
	}
	return dir
}

// runPlan runs the harness's client.mjs on plan and returns its results by call name.
func runPlan(t *testing.T, dir, baseURL, key string, plan any) map[string]json.RawMessage {
	t.Helper()
	b, err := json.Marshal(plan)
	if err != nil {
		t.Fatal(err)
	}
	planFile := filepath.Join(t.TempDir(), "plan.json")
	if err := os.WriteFile(planFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "client.mjs", planFile)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BASE_URL="+baseURL+"/v1", "API_KEY="+key, "OPENAI_LOG=off")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node client.mjs: %v\n%s", err, stderr.String())
	}
	var res struct {
		Results map[string]json.RawMessage `json:"results"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("harness output is not JSON: %v\n%s", err, out)
	}
	return res.Results
}

type call map[string]any

type clientEmbeddings struct {
	Object string `json:"object"`
	Model  string `json:"model"`
	Data   []struct {
		Object    string    `json:"object"`
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	} `json:"data"`
	Usage struct {
		PromptTokens int `json:"prompt_tokens"`
		TotalTokens  int `json:"total_tokens"`
	} `json:"usage"`
}

type clientError struct {
	Error *struct {
		Status int    `json:"status"`
		Type   string `json:"type"`
		Code   string `json:"code"`
		Param  string `json:"param"`
	} `json:"error"`
}

// TestOpenAIClient drives the server with the official openai npm client
// and checks its embeddings equal the library's own.
func TestOpenAIClient(t *testing.T) {
	dir := openAIHarness(t)
	eng := tinyEngine(t)
	m := eng.Model()
	const key = "sk-test-fashionclip"
	url, _ := serve(t, eng, server.Config{APIKey: key, ModelIDs: []string{"fashionclip-synthetic-tiny", "tiny"}})

	ctx := context.Background()
	texts := []string{"a red dress", "black leather boots", "", "A STRIPED T-Shirt, cotton; 100% ✓"}
	imgs := testImages(t)
	if len(imgs) > 5 {
		imgs = imgs[:5]
	}
	urls := make([]string, len(imgs))
	paths := make([]string, len(imgs))
	for i, im := range imgs {
		urls[i], paths[i] = im.dataURL(), im.path
	}

	// The library's answers.
	wantText, err := m.EncodeTexts(ctx, texts)
	if err != nil {
		t.Fatal(err)
	}
	files, err := m.EncodeImageFiles(ctx, paths)
	if err != nil {
		t.Fatal(err)
	}
	wantImg := make([][]float32, len(files))
	for i, r := range files {
		if r.Err != nil {
			t.Fatalf("%s: %v", r.Item, r.Err)
		}
		wantImg[i] = r.Embedding
	}
	tok, err := m.Tokenizer()
	if err != nil {
		t.Fatal(err)
	}
	tokens := 0
	for _, s := range texts {
		tokens += len(tok.Encode(s))
	}
	dim := eng.Dim()

	parts := []any{texts[0], map[string]any{"type": "image_url", "image_url": map[string]string{"url": urls[1]}}, texts[1], urls[0]}
	tests := []struct {
		name       string
		call       call
		want       [][]float32
		wantModel  string
		wantTokens int
	}{
		// No encoding_format: the client asks for base64 and decodes it.
		{"texts (client default, base64)", call{"op": "embeddings", "params": call{"model": "fashion-clip", "input": texts}}, wantText, "fashion-clip", tokens},
		{"texts as floats", call{"op": "embeddings", "params": call{"model": "tiny", "input": texts, "encoding_format": "float"}}, wantText, "tiny", tokens},
		{"one text", call{"op": "embeddings", "params": call{"model": "fashionclip-synthetic-tiny", "input": texts[1]}}, wantText[1:2], "fashionclip-synthetic-tiny", len(tok.Encode(texts[1]))},
		{"images", call{"op": "embeddings", "params": call{"model": "fashion-clip", "input": urls}}, wantImg, "fashion-clip", 0},
		{"images as floats", call{"op": "embeddings", "params": call{"model": "fashion-clip", "input": urls, "encoding_format": "float"}}, wantImg, "fashion-clip", 0},
		{"mixed with content parts", call{"op": "embeddings", "params": call{"model": "fashion-clip", "input": parts}},
			[][]float32{wantText[0], wantImg[1], wantText[1], wantImg[0]}, "fashion-clip",
			len(tok.Encode(texts[0])) + len(tok.Encode(texts[1]))},
		{"dimensions", call{"op": "embeddings", "params": call{"model": "fashion-clip", "input": []string{texts[0], urls[0]}, "dimensions": dim / 2}},
			[][]float32{renorm(wantText[0][:dim/2]), renorm(wantImg[0][:dim/2])}, "fashion-clip", len(tok.Encode(texts[0]))},
	}
	plan := struct {
		Calls []call `json:"calls"`
	}{}
	for _, tc := range tests {
		c := call{"name": tc.name}
		for k, v := range tc.call {
			c[k] = v
		}
		plan.Calls = append(plan.Calls, c)
	}
	errorCalls := []struct {
		name       string
		call       call
		wantStatus int
		wantCode   string
	}{
		{"unknown model", call{"op": "embeddings", "params": call{"model": "text-embedding-3-small", "input": "x"}}, 404, "model_not_found"},
		{"not an image", call{"op": "embeddings", "params": call{"model": "fashion-clip", "input": "data:image/jpeg;base64,aGVsbG8gd29ybGQ="}}, 400, "invalid_image"},
		{"dimensions too large", call{"op": "embeddings", "params": call{"input": "x", "dimensions": dim + 1}}, 400, "invalid_value"},
		{"unknown model retrieved", call{"op": "models.retrieve", "id": "gpt-4o"}, 404, "model_not_found"},
	}
	for _, ec := range errorCalls {
		c := call{"name": ec.name}
		for k, v := range ec.call {
			c[k] = v
		}
		plan.Calls = append(plan.Calls, c)
	}
	plan.Calls = append(plan.Calls,
		call{"name": "models", "op": "models.list"},
		call{"name": "retrieve", "op": "models.retrieve", "id": "fashion-clip"},
		call{"name": "classify", "op": "post", "path": "/classify", "body": call{"model": "fashion-clip", "image": urls[0], "labels": []string{"dress", "boot", "bag"}, "top_k": 2}},
	)
	results := runPlan(t, dir, url, key, plan)

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got clientEmbeddings
			if err := json.Unmarshal(results[tc.name], &got); err != nil || got.Object != "list" {
				t.Fatalf("client result: %v %s", err, results[tc.name])
			}
			if got.Model != tc.wantModel || got.Usage.PromptTokens != tc.wantTokens || got.Usage.TotalTokens != tc.wantTokens {
				t.Errorf("model %q usage %+v, want %q and %d tokens", got.Model, got.Usage, tc.wantModel, tc.wantTokens)
			}
			if len(got.Data) != len(tc.want) {
				t.Fatalf("%d embeddings, want %d", len(got.Data), len(tc.want))
			}
			for i, d := range got.Data {
				if d.Index != i || d.Object != "embedding" {
					t.Errorf("data[%d]: index %d object %q", i, d.Index, d.Object)
				}
				if diff := maxDiff(d.Embedding, tc.want[i]); diff > 1e-6 {
					t.Errorf("embedding %d differs from the library's by %g (len %d vs %d)", i, diff, len(d.Embedding), len(tc.want[i]))
				}
			}
		})
	}
	for _, ec := range errorCalls {
		t.Run(ec.name, func(t *testing.T) {
			var got clientError
			if err := json.Unmarshal(results[ec.name], &got); err != nil || got.Error == nil {
				t.Fatalf("want an APIError from the client, got %s", results[ec.name])
			}
			if got.Error.Status != ec.wantStatus || got.Error.Code != ec.wantCode || got.Error.Type != "invalid_request_error" {
				t.Errorf("client saw %+v, want status %d code %q", *got.Error, ec.wantStatus, ec.wantCode)
			}
		})
	}
	t.Run("models", func(t *testing.T) {
		var list struct {
			Data []struct{ ID, Object string } `json:"data"`
		}
		json.Unmarshal(results["models"], &list)
		if len(list.Data) != 1 || list.Data[0].ID != "fashionclip-synthetic-tiny" || list.Data[0].Object != "model" {
			t.Errorf("models.list = %s", results["models"])
		}
		var one struct{ ID string }
		json.Unmarshal(results["retrieve"], &one)
		if one.ID != "fashionclip-synthetic-tiny" {
			t.Errorf("models.retrieve = %s", results["retrieve"])
		}
	})
	t.Run("classify", func(t *testing.T) {
		set, err := m.EmbedLabels(ctx, []string{"dress", "boot", "bag"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := labels{set}.Score(wantImg[0], m.LogitScale(), false, 2)
		var got struct {
			Labels []server.LabelScore `json:"labels"`
		}
		json.Unmarshal(results["classify"], &got)
		if len(got.Labels) != 2 {
			t.Fatalf("classify = %s", results["classify"])
		}
		for i := range want {
			if got.Labels[i].Label != want[i].Label || abs(got.Labels[i].Score-want[i].Score) > 1e-5 {
				t.Errorf("classify = %+v, want %+v", got.Labels, want)
			}
		}
	})

	// The client's key is checked.
	t.Run("wrong key", func(t *testing.T) {
		res := runPlan(t, dir, url, "sk-wrong", struct {
			Calls []call `json:"calls"`
		}{[]call{{"name": "x", "op": "embeddings", "params": call{"input": "x"}}}})
		var got clientError
		if json.Unmarshal(res["x"], &got); got.Error == nil || got.Error.Status != 401 || got.Error.Code != "invalid_api_key" {
			t.Errorf("with a wrong key the client saw %s, want 401 invalid_api_key", res["x"])
		}
	})
}

func renorm(v []float32) []float32 {
	out := append([]float32(nil), v...)
	var s float64
	for _, x := range out {
		s += float64(x) * float64(x)
	}
	for i := range out {
		out[i] = float32(float64(out[i]) / math.Sqrt(s))
	}
	return out
}
