package hub

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNewConfig(t *testing.T) {
	tokenHome := t.TempDir()
	os.WriteFile(filepath.Join(tokenHome, "token"), []byte("hf_from_file\n"), 0o600)
	tests := []struct {
		name    string
		env     map[string]string
		offline bool // the command-line switch
		want    Config
	}{
		{"defaults", map[string]string{"HOME": "/h"}, false,
			Config{Endpoint: DefaultEndpoint, CacheDir: "/h/.cache/huggingface/hub"}},
		{"xdg", map[string]string{"HOME": "/h", "XDG_CACHE_HOME": "/x"}, false,
			Config{Endpoint: DefaultEndpoint, CacheDir: "/x/huggingface/hub"}},
		{"hf home beats xdg", map[string]string{"HOME": "/h", "XDG_CACHE_HOME": "/x", "HF_HOME": "/hf"}, false,
			Config{Endpoint: DefaultEndpoint, CacheDir: "/hf/hub"}},
		{"legacy cache var", map[string]string{"HF_HOME": "/hf", "HUGGINGFACE_HUB_CACHE": "/legacy"}, false,
			Config{Endpoint: DefaultEndpoint, CacheDir: "/legacy"}},
		{"hub cache beats all", map[string]string{"HF_HOME": "/hf", "HUGGINGFACE_HUB_CACHE": "/legacy", "HF_HUB_CACHE": "/c"}, false,
			Config{Endpoint: DefaultEndpoint, CacheDir: "/c"}},
		{"tilde and vars", map[string]string{"HOME": "/h", "DISK": "/d", "HF_HUB_CACHE": "~/x", "HF_HOME": "$DISK/hf"}, false,
			Config{Endpoint: DefaultEndpoint, CacheDir: "/h/x"}},
		{"vars in HF_HOME", map[string]string{"HOME": "/h", "DISK": "/d", "HF_HOME": "${DISK}/hf"}, false,
			Config{Endpoint: DefaultEndpoint, CacheDir: "/d/hf/hub"}},
		{"endpoint, token, offline", map[string]string{"HF_HOME": "/hf", "HF_ENDPOINT": "https://mirror.example/", "HF_TOKEN": " hf_a ", "HUGGING_FACE_HUB_TOKEN": "hf_b", "HF_HUB_OFFLINE": "1"}, false,
			Config{Endpoint: "https://mirror.example", Token: "hf_a", CacheDir: "/hf/hub", Offline: true}},
		{"old token var, offline yes", map[string]string{"HF_HOME": "/hf", "HUGGING_FACE_HUB_TOKEN": "hf_b", "HF_HUB_OFFLINE": "yes"}, false,
			Config{Endpoint: DefaultEndpoint, Token: "hf_b", CacheDir: "/hf/hub", Offline: true}},
		{"offline 0 is online", map[string]string{"HF_HOME": "/hf", "HF_HUB_OFFLINE": "0"}, false,
			Config{Endpoint: DefaultEndpoint, CacheDir: "/hf/hub"}},
		{"token file of huggingface-cli login", map[string]string{"HF_HOME": tokenHome}, false,
			Config{Endpoint: DefaultEndpoint, Token: "hf_from_file", CacheDir: filepath.Join(tokenHome, "hub")}},
		{"the offline switch", map[string]string{"HF_HOME": "/hf"}, true,
			Config{Endpoint: DefaultEndpoint, CacheDir: "/hf/hub", Offline: true}},
		{"the switch cannot turn HF_HUB_OFFLINE off", map[string]string{"HF_HOME": "/hf", "HF_HUB_OFFLINE": "1"}, false,
			Config{Endpoint: DefaultEndpoint, CacheDir: "/hf/hub", Offline: true}},
		{"TRANSFORMERS_OFFLINE counts", map[string]string{"HF_HOME": "/hf", "TRANSFORMERS_OFFLINE": "true"}, false,
			Config{Endpoint: DefaultEndpoint, CacheDir: "/hf/hub", Offline: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NewConfig(envFunc(tt.env), tt.offline); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseRef(t *testing.T) {
	tests := []struct {
		in      string
		want    Ref
		wantErr bool
	}{
		{"patrickjohncyh/fashion-clip", Ref{"patrickjohncyh/fashion-clip", "main", false}, false},
		{"a/b@v1.0", Ref{"a/b", "v1.0", true}, false},
		{"a/b@refs/pr/3", Ref{"a/b", "refs/pr/3", true}, false},
		{"a/b@" + commitA, Ref{"a/b", commitA, true}, false},
		{"a/b@", Ref{}, true},
		{"a/b@../../x", Ref{}, true},
		{"a/b@refs//x", Ref{}, true},
		{"a/b@/abs", Ref{}, true},
		{"fashion-clip", Ref{}, true},
		{"a/b/c", Ref{}, true},
		{"a--b/c", Ref{}, true},
		{"../x", Ref{}, true},
		{"a/..", Ref{}, true},
		{"0-/0", Ref{}, true}, // fuzzing: models--0---0 read back as 0/-0
		{"a/-b", Ref{}, true},
		{".a/b", Ref{}, true},
		{"a/b.", Ref{}, true},
		{"_a/b_", Ref{"_a/b_", "main", false}, false},
		{"a/" + strings.Repeat("n", 96), Ref{"a/" + strings.Repeat("n", 96), "main", false}, false},
		{"a/" + strings.Repeat("n", 97), Ref{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRef(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ParseRef(%q) = %+v, %v; want %+v, err %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

const commitA = "0123456789abcdef0123456789abcdef01234567"

func TestCheckRepoPath(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"config.json", true}, {"onnx/model.onnx", true}, {"a/b/c.txt", true}, {"..data", true},
		{"../evil", false}, {"onnx/../../evil", false}, {"/etc/passwd", false}, {`onnx\model.onnx`, false},
		{"C:/x", false}, {"a//b", false}, {"./a", false}, {"a/", false}, {"", false}, {"a/./b", false},
	}
	for _, tt := range tests {
		if err := CheckRepoPath(tt.name); (err == nil) != tt.ok {
			t.Errorf("CheckRepoPath(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestSelectFiles(t *testing.T) {
	tok := []string{"config.json", "tokenizer.json", "vocab.json", "merges.txt", "README.md", "pytorch_model.bin"}
	tests := []struct {
		name    string
		files   []string
		variant string
		want    []string
		kind    string
		wantErr bool
	}{
		{"combined preferred over split", append([]string{"onnx/model.onnx", "onnx/text_model.onnx", "onnx/vision_model.onnx"}, tok...), "",
			[]string{"config.json", "merges.txt", "onnx/model.onnx", "tokenizer.json", "vocab.json"}, "combined", false},
		{"external data of the chosen graph only", append([]string{"onnx/model.onnx", "onnx/model.onnx_data", "onnx/model_fp16.onnx", "onnx/model_fp16.onnx_data", "onnx/config.json"}, tok...), "fp16",
			[]string{"config.json", "merges.txt", "onnx/config.json", "onnx/model_fp16.onnx", "onnx/model_fp16.onnx_data", "tokenizer.json", "vocab.json"}, "combined", false},
		{"root graphs win, as in DetectLayout", append([]string{"model.onnx", "onnx/model.onnx"}, tok...), "fp32",
			[]string{"config.json", "merges.txt", "model.onnx", "tokenizer.json", "vocab.json"}, "combined", false},
		{"split quantized", append([]string{"onnx/text_model.onnx", "onnx/vision_model.onnx", "onnx/text_model_quantized.onnx", "onnx/vision_model_quantized.onnx"}, tok...), "quantized",
			[]string{"config.json", "merges.txt", "onnx/text_model_quantized.onnx", "onnx/vision_model_quantized.onnx", "tokenizer.json", "vocab.json"}, "split", false},
		{"half a pair is no graph", append([]string{"onnx/text_model.onnx"}, tok...), "", nil, "", true},
		{"unknown variant", []string{"onnx/model.onnx"}, "int3", nil, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SelectFiles(tt.files, tt.variant)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if tt.wantErr {
				return
			}
			if got.Kind != tt.kind || len(got.Files) != len(tt.want) {
				t.Fatalf("got %+v, want %s %v", got, tt.kind, tt.want)
			}
			for i := range tt.want {
				if got.Files[i] != tt.want[i] {
					t.Fatalf("got %v, want %v", got.Files, tt.want)
				}
			}
		})
	}
}
