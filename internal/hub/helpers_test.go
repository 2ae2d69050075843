package hub

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fashionclip/fashionclip/internal/hub/hubtest"
)

// blob returns n deterministic pseudo-random bytes.
func blob(seed uint64, n int) []byte {
	r := rand.New(rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)}))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func tokenizerFiles() map[string][]byte {
	return map[string][]byte{
		"config.json":              []byte(`{"model_type":"clip","projection_dim":512}`),
		"preprocessor_config.json": []byte(`{"crop_size":224}`),
		"tokenizer.json":           []byte(`{"model":{"type":"BPE"}}`),
		"tokenizer_config.json":    []byte(`{}`),
		"special_tokens_map.json":  []byte(`{}`),
		"vocab.json":               []byte(`{"a":0}`),
		"merges.txt":               []byte("#version: 0.2\n"),
	}
}

// combinedRepo has one combined graph per variant plus files a model pull
// must not take.
func combinedRepo(id string) hubtest.Repo {
	f := tokenizerFiles()
	f["onnx/model.onnx"] = blob(1, 300_000)
	f["onnx/model_fp16.onnx"] = blob(2, 150_000)
	f["onnx/model_quantized.onnx"] = blob(3, 80_000)
	f["pytorch_model.bin"] = blob(4, 50_000)
	f["README.md"] = []byte("# model\n")
	return hubtest.Repo{ID: id, Files: f, LFS: []string{"onnx/model.onnx", "onnx/model_fp16.onnx", "onnx/model_quantized.onnx", "pytorch_model.bin"}}
}

// splitRepo has the transformers.js layout.
func splitRepo(id string) hubtest.Repo {
	f := tokenizerFiles()
	f["onnx/text_model.onnx"] = blob(11, 120_000)
	f["onnx/vision_model.onnx"] = blob(12, 200_000)
	f["onnx/text_model_fp16.onnx"] = blob(13, 60_000)
	f["onnx/vision_model_fp16.onnx"] = blob(14, 100_000)
	f["onnx/text_model_quantized.onnx"] = blob(15, 30_000)
	f["onnx/vision_model_quantized.onnx"] = blob(16, 50_000)
	return hubtest.Repo{ID: id, Files: f}
}

func envFunc(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// newTestClient is a client of srv with its cache in a temp folder.
func newTestClient(t *testing.T, srv *hubtest.Server, cache string, extra map[string]string) *Client {
	t.Helper()
	env := map[string]string{"HF_HOME": filepath.Join(t.TempDir(), "home")}
	if srv != nil {
		env = srv.Env(cache)
	} else {
		env["HF_HUB_CACHE"] = cache
		env["HF_ENDPOINT"] = "http://127.0.0.1:1" // nothing listens: any request fails
	}
	for k, v := range extra {
		env[k] = v
	}
	c := NewClient(NewConfig(envFunc(env), false))
	c.RetryWait = time.Millisecond
	return c
}

func mustRef(t *testing.T, s string) Ref {
	t.Helper()
	r, err := ParseRef(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// leftovers lists temporary files a finished pull must not leave.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && (strings.HasSuffix(p, ".incomplete") || strings.Contains(filepath.Base(p), ".tmp-")) {
			out = append(out, p)
		}
		return nil
	})
	return out
}

var adviceRE = regexp.MustCompile("fashionclip |(^|[\\s(`])--[a-z]|set HF_|HF_TOKEN|HTTPS_PROXY|run `|fix:")

// noAdvice fails when an error tells the user what to type: remedies are
// the CLI's (flags, commands, environment settings).
func noAdvice(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if m := adviceRE.FindString(err.Error()); m != "" {
		t.Errorf("error %q gives advice (%q): remedies belong to the caller", err, m)
	}
}
