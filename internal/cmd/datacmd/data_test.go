package datacmd

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fashionclip/fashionclip/internal/bench"
	"github.com/fashionclip/fashionclip/internal/bench/benchtest"
	"github.com/fashionclip/fashionclip/internal/cmdutil"
	"github.com/fashionclip/fashionclip/internal/iostreams"
)

// fmnistServer serves a tiny generated Fashion-MNIST under /fm/; remote
// holds those files' MD5s (the real ones cannot be made).
func fmnistServer(t *testing.T) (url string, files map[string][]byte, remote []bench.RemoteFile) {
	t.Helper()
	src := t.TempDir()
	benchtest.FMNIST(t, src, "test", 12, true)
	benchtest.FMNIST(t, src, "train", 20, true)
	files = map[string][]byte{}
	for _, f := range bench.FMNISTFiles {
		b, err := os.ReadFile(filepath.Join(src, f.Name))
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name] = b
		sum := md5.Sum(b)
		remote = append(remote, bench.RemoteFile{Name: f.Name, MD5: hex.EncodeToString(sum[:])})
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := files[strings.TrimPrefix(r.URL.Path, "/fm/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/fm", files, remote
}

// pull runs `data pull` with remote as the expected files.
func pull(t *testing.T, env map[string]string, remote []bench.RemoteFile, args ...string) (stdout string, err error) {
	t.Helper()
	io, _, out, _ := iostreams.Test()
	f := cmdutil.NewFactory(io, func(k string) string { return env[k] })
	cmd := NewCmdDataPull(f, func(o *DataPullOptions) error {
		o.Files = remote
		return dataPullRun(context.Background(), o)
	})
	cmd.SetArgs(args)
	cmd.SetOut(out)
	cmd.SetErr(out)
	err = cmd.Execute()
	return out.String(), err
}

func TestDataPullFMNIST(t *testing.T) {
	url, files, remote := fmnistServer(t)
	to := filepath.Join(t.TempDir(), "fmnist")
	out, err := pull(t, map[string]string{EnvFMNISTURL: url}, remote, "fmnist", "--to", to)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(to, name))
		if err != nil || string(got) != string(want) {
			t.Errorf("%s: %v", name, err)
		}
		if !strings.Contains(out, name+": ") || !strings.Contains(out, "MD5 ok") {
			t.Errorf("stdout does not report %s:\n%s", name, out)
		}
	}
	// A second pull finds everything in place and fetches nothing.
	out, err = pull(t, map[string]string{EnvFMNISTURL: "http://127.0.0.1:1/nowhere"}, remote, "fmnist", "--to", to)
	if err != nil || strings.Count(out, "already there") != 4 {
		t.Errorf("second pull: %v\n%s", err, out)
	}
	// What was pulled is a dataset bench accuracy reads.
	ds, err := bench.Load("fmnist", to, bench.LoadOptions{Split: "train"})
	if err != nil || len(ds.Items) != 20 {
		t.Errorf("bench.Load of the pulled data: %v", err)
	}
}

func TestDataPullRejectsWrongMD5(t *testing.T) {
	url, _, remote := fmnistServer(t)
	remote[2].MD5 = strings.Repeat("0", 32) // t10k images: the served bytes will not match
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
			_, err := pull(t, tt.env, remote, append([]string{"fmnist", "--to", to}, tt.args...)...)
			if cmdutil.ExitCode(err) != cmdutil.ExitFatal || !strings.Contains(err.Error(), "MD5") || !strings.Contains(err.Error(), "t10k-images-idx3-ubyte.gz") {
				t.Fatalf("got %v", err)
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
