package cli

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fashionclip/fashionclip/internal/bench"
	"github.com/fashionclip/fashionclip/internal/bench/benchtest"
)

// fmnistServer serves a tiny generated Fashion-MNIST under /fm/ and makes
// `data pull` expect those files' MD5s (the real ones cannot be made).
func fmnistServer(t *testing.T) (url string, files map[string][]byte) {
	t.Helper()
	src := t.TempDir()
	benchtest.FMNIST(t, src, "test", 12, true)
	benchtest.FMNIST(t, src, "train", 20, true)
	files = map[string][]byte{}
	var remote []bench.RemoteFile
	for _, f := range bench.FMNISTFiles {
		b, err := os.ReadFile(filepath.Join(src, f.Name))
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name] = b
		sum := md5.Sum(b)
		remote = append(remote, bench.RemoteFile{Name: f.Name, MD5: hex.EncodeToString(sum[:])})
	}
	saved := fmnistFiles
	fmnistFiles = remote
	t.Cleanup(func() { fmnistFiles = saved })
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := files[strings.TrimPrefix(r.URL.Path, "/fm/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/fm", files
}

func TestDataPullFMNIST(t *testing.T) {
	url, files := fmnistServer(t)
	to := filepath.Join(t.TempDir(), "fmnist")
	env := map[string]string{EnvFMNISTURL: url}
	r := runCLI(t, false, "", env, "data", "pull", "fmnist", "--to", to)
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(to, name))
		if err != nil || string(got) != string(want) {
			t.Errorf("%s: %v", name, err)
		}
		if !strings.Contains(r.stdout, name+": ") || !strings.Contains(r.stdout, "MD5 ok") {
			t.Errorf("stdout does not report %s:\n%s", name, r.stdout)
		}
	}
	// A second pull finds everything in place and fetches nothing.
	r = runCLI(t, false, "", map[string]string{EnvFMNISTURL: "http://127.0.0.1:1/nowhere"}, "data", "pull", "fmnist", "--to", to)
	if r.code != ExitOK || strings.Count(r.stdout, "already there") != 4 {
		t.Errorf("second pull: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// What was pulled is a dataset bench accuracy reads.
	if !testing.Short() {
		model := tinyModel(t)
		r = runCLI(t, false, "", map[string]string{EnvModel: model}, "bench", "accuracy", "--dataset", "fmnist", "--data", to, "--split", "train", "-f", "json")
		var rep bench.Report
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || r.code != ExitOK || rep.N != 20 {
			t.Errorf("bench on pulled data: exit %d, n %d, %v\n%s", r.code, rep.N, err, r.stderr)
		}
	}
}

func TestDataPullRejectsWrongMD5(t *testing.T) {
	url, _ := fmnistServer(t)
	fmnistFiles = append([]bench.RemoteFile(nil), fmnistFiles...)
	fmnistFiles[2].MD5 = strings.Repeat("0", 32) // t10k images: the served bytes will not match
	to := t.TempDir()
	tests := []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"env", map[string]string{EnvFMNISTURL: url}, nil},
		{"flag beats env", map[string]string{EnvFMNISTURL: "http://127.0.0.1:1/nowhere"}, []string{"--base-url", url}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, false, "", tt.env, append([]string{"data", "pull", "fmnist", "--to", to}, tt.args...)...)
			if r.code != ExitFatal || !strings.Contains(r.stderr, "MD5") || !strings.Contains(r.stderr, "t10k-images-idx3-ubyte.gz") {
				t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
			}
			entries, _ := os.ReadDir(to)
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), "t10k-images") {
					t.Errorf("kept %s although its MD5 is wrong", e.Name())
				}
			}
		})
	}
}

func TestDataPullOthers(t *testing.T) {
	tests := []struct {
		args   []string
		env    map[string]string
		code   int
		stderr string
	}{
		{[]string{"kagl"}, nil, ExitFatal, "kaggle.com/datasets/paramaggarwal/fashion-product-images-small"},
		{[]string{"deepfashion"}, nil, ExitFatal, "AttributePrediction.html"},
		{[]string{"mnist"}, nil, ExitUsage, `unknown dataset "mnist"`},
		{nil, nil, ExitUsage, "accepts 1 arg"},
		{[]string{"fmnist", "--offline"}, nil, ExitFatal, "forbids downloading"},
		{[]string{"fmnist"}, map[string]string{"HF_HUB_OFFLINE": "1"}, ExitFatal, "forbids downloading"},
		{[]string{"fmnist", "--base-url", "ftp://x"}, nil, ExitUsage, "not http(s)"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := runCLI(t, false, "", tt.env, append([]string{"data", "pull", "--to", t.TempDir()}, tt.args...)...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, tt.code, tt.stderr)
			}
		})
	}
}
