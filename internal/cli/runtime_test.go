package cli

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/fashionclip/fashionclip/internal/buildinfo"
	"github.com/fashionclip/fashionclip/internal/cmd/runtimecmd"
	"github.com/fashionclip/fashionclip/internal/hub"
	"github.com/fashionclip/fashionclip/internal/ortlib"
)

// fakeRuntimeArchive mimics Microsoft's release layout with a fake library.
func fakeRuntimeArchive(t *testing.T, v string, extra ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	root := "onnxruntime-" + v + "/"
	lib := map[string]string{"darwin": "lib/libonnxruntime." + v + ".dylib"}[runtime.GOOS]
	if lib == "" {
		lib = "lib/libonnxruntime.so." + v
	}
	tw.WriteHeader(&tar.Header{Name: root + lib, Mode: 0o755, Size: 3, Typeflag: tar.TypeReg})
	tw.Write([]byte("ELF"))
	for _, name := range extra {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: 1, Typeflag: tar.TypeReg})
		tw.Write([]byte("x"))
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestRuntimeInstall(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no official archive handling on windows")
	}
	v := buildinfo.ORTVersion
	good := fakeRuntimeArchive(t, v)
	evil := fakeRuntimeArchive(t, v, "onnxruntime-"+v+"/lib/../../../escape")
	dir := t.TempDir()
	goodPath, evilPath := filepath.Join(dir, "good.tgz"), filepath.Join(dir, "evil.tgz")
	os.WriteFile(goodPath, good, 0o644)
	os.WriteFile(evilPath, evil, 0o644)
	name, _ := hub.RuntimeArchiveName(runtime.GOOS, runtime.GOARCH, v)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v"+v+"/"+name {
			http.NotFound(w, r)
			return
		}
		w.Write(good)
	}))
	defer srv.Close()
	env := map[string]string{hub.EnvRuntimeBase: srv.URL}

	tests := []struct {
		name   string
		args   []string
		env    map[string]string
		code   int
		stderr string
		json   bool
	}{
		{name: "wrong checksum", args: []string{"--from", goodPath, "--sha256", strings.Repeat("ab", 32)}, code: 1, stderr: "refusing to install"},
		{name: "escaping member", args: []string{"--from", evilPath}, code: 1, stderr: "escapes the target folder"},
		{name: "right checksum", args: []string{"--from", goodPath, "--sha256", hexSum(good), "--format", "json"}, json: true},
		{name: "download", args: []string{"--format", "json"}, env: env, json: true},
		{name: "offline download refused", args: nil, env: map[string]string{hub.EnvRuntimeBase: srv.URL, "HF_HUB_OFFLINE": "1"}, code: 1, stderr: "offline"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "download" && name == "" {
				t.Skip("no official archive for this platform")
			}
			cacheRoot := t.TempDir()
			env := map[string]string{"FASHIONCLIP_CACHE": cacheRoot}
			for k, v := range tt.env {
				env[k] = v
			}
			res := runCLI(t, false, "", env, append([]string{"runtime", "install"}, tt.args...)...)
			if res.code != tt.code || !strings.Contains(res.stderr, tt.stderr) {
				t.Fatalf("exit %d, stderr %q; want %d with %q", res.code, res.stderr, tt.code, tt.stderr)
			}
			installed := filepath.Join(cacheRoot, "runtime", v, ortlib.LibraryName(runtime.GOOS))
			if tt.code != 0 {
				if _, err := os.Stat(filepath.Join(cacheRoot, "runtime", v)); err == nil {
					t.Error("installed despite the failure")
				}
				return
			}
			var got hub.RuntimeInstall
			if err := json.Unmarshal([]byte(res.stdout), &got); err != nil {
				t.Fatalf("%v in %q", err, res.stdout)
			}
			if got.Library != installed || got.SHA256 != hexSum(good) {
				t.Errorf("install = %+v, want library %s", got, installed)
			}
			// The lookup finds what was installed.
			found := false
			for _, c := range (ortlib.Lookup{Getenv: func(k string) string { return env[k] }}).Candidates() {
				if c.Path == installed && c.Source == "cache" {
					found = true
				}
			}
			if !found {
				t.Errorf("the library lookup does not list %s", installed)
			}
		})
	}
}

func TestRuntimeInfoJSON(t *testing.T) {
	env := map[string]string{"FASHIONCLIP_CACHE": t.TempDir()}
	if p := os.Getenv("FASHIONCLIP_ORT_LIB"); p != "" {
		env["FASHIONCLIP_ORT_LIB"] = p
	}
	res := runCLI(t, false, "", env, "runtime", "info", "--format", "json")
	var info runtimecmd.RuntimeInfo
	if err := json.Unmarshal([]byte(res.stdout), &info); err != nil {
		t.Fatalf("%v in %q (stderr %s)", err, res.stdout, res.stderr)
	}
	if info.MinVersion != ortlib.MinVersion || info.BuildVersion != buildinfo.ORTVersion || len(info.Candidates) == 0 {
		t.Errorf("info = %+v", info)
	}
	if (info.Error == "") != (res.code == 0) || (info.Error == "" && (info.Version == "" || info.Library == "")) {
		t.Errorf("exit %d with info %+v", res.code, info)
	}
	if info.Candidates[len(info.Candidates)-1].Source != "system" {
		t.Errorf("last candidate %+v, want the system lookup", info.Candidates[len(info.Candidates)-1])
	}
}
