package bench

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

func md5hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestPull(t *testing.T) {
	content := map[string]string{"a.gz": "alpha bytes", "b.gz": "beta bytes"}
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		body, ok := content[strings.TrimPrefix(r.URL.Path, "/data/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(body))
	}))
	defer srv.Close()
	dead := httptest.NewServer(http.NotFoundHandler())
	defer dead.Close()

	good := []RemoteFile{{"a.gz", md5hex("alpha bytes")}, {"b.gz", md5hex("beta bytes")}}
	tests := []struct {
		name     string
		files    []RemoteFile
		bases    []string
		existing map[string]string // files already in dir
		err      string
		kept     map[string]string // what dir must hold afterwards
		cached   int
	}{
		{name: "fresh", files: good, bases: []string{srv.URL + "/data/"},
			kept: map[string]string{"a.gz": "alpha bytes", "b.gz": "beta bytes"}},
		{name: "second mirror", files: good, bases: []string{dead.URL, srv.URL + "/data"},
			kept: map[string]string{"a.gz": "alpha bytes", "b.gz": "beta bytes"}},
		{name: "already there", files: good, bases: []string{srv.URL + "/data"},
			existing: map[string]string{"a.gz": "alpha bytes"},
			kept:     map[string]string{"a.gz": "alpha bytes", "b.gz": "beta bytes"}, cached: 1},
		{name: "stale file replaced", files: good, bases: []string{srv.URL + "/data"},
			existing: map[string]string{"a.gz": "corrupt"},
			kept:     map[string]string{"a.gz": "alpha bytes", "b.gz": "beta bytes"}},
		{name: "md5 mismatch discards", files: []RemoteFile{{"a.gz", md5hex("something else")}},
			bases: []string{srv.URL + "/data"}, err: "MD5", kept: map[string]string{}},
		{name: "md5 mismatch removes stale", files: []RemoteFile{{"a.gz", md5hex("something else")}},
			bases: []string{srv.URL + "/data"}, existing: map[string]string{"a.gz": "old"}, err: "removed", kept: map[string]string{}},
		{name: "not found", files: []RemoteFile{{"zzz.gz", md5hex("")}}, bases: []string{srv.URL + "/data"},
			err: "404", kept: map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "fmnist")
			os.MkdirAll(dir, 0o755)
			for n, c := range tt.existing {
				os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644)
			}
			var heard int
			res, err := Pull(context.Background(), dir, PullOptions{BaseURLs: tt.bases, Files: tt.files,
				Progress: func(PullResult) { heard++ }})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			cached := 0
			for _, r := range res {
				if r.Cached {
					cached++
				}
			}
			if cached != tt.cached || (err == nil && heard != len(tt.files)) {
				t.Errorf("cached %d (want %d), progress heard %d", cached, tt.cached, heard)
			}
			entries, _ := os.ReadDir(dir)
			got := map[string]string{}
			for _, e := range entries {
				b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
				got[e.Name()] = string(b)
			}
			if len(got) != len(tt.kept) {
				t.Errorf("dir holds %v, want %v", got, tt.kept)
			}
			for n, c := range tt.kept {
				if got[n] != c {
					t.Errorf("%s = %q, want %q", n, got[n], c)
				}
			}
		})
	}
}

func TestFMNISTFilesArePublished(t *testing.T) {
	// The published MD5s: a typo here would reject the real files forever.
	want := map[string]string{
		"t10k-images-idx3-ubyte.gz":  "bef4ecab320f06d8554ea6380940ec79",
		"t10k-labels-idx1-ubyte.gz":  "bb300cfdad3c16e7a12a480ee83cd310",
		"train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
		"train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
	}
	if len(FMNISTFiles) != len(want) {
		t.Fatalf("%d files", len(FMNISTFiles))
	}
	for _, f := range FMNISTFiles {
		if want[f.Name] != f.MD5 {
			t.Errorf("%s: %s, want %s", f.Name, f.MD5, want[f.Name])
		}
	}
}
