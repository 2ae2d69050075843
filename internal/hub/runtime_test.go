package hub

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

type member struct {
	name, link string // link != "": a symlink to link
	body       string
	hard       bool // link is a hard link to an archive path
}

func makeTgz(t *testing.T, members ...member) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, m := range members {
		hdr := &tar.Header{Name: m.name, Mode: 0o755, Size: int64(len(m.body)), Typeflag: tar.TypeReg}
		if m.link != "" {
			hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeSymlink, m.link, 0
			if m.hard {
				hdr.Typeflag = tar.TypeLink
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if m.link == "" {
			tw.Write([]byte(m.body))
		}
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

// officialMembers mimics Microsoft's linux archive.
func officialMembers(v string) []member {
	root := "onnxruntime-linux-x64-" + v + "/"
	return []member{
		{name: root + "include/onnxruntime_c_api.h", body: "/* api */"},
		{name: root + "lib/libonnxruntime.so." + v, body: "ELF-ort"},
		{name: root + "lib/libonnxruntime.so.1", link: "libonnxruntime.so." + v},
		{name: root + "lib/libonnxruntime.so", link: "libonnxruntime.so.1"},
		{name: root + "lib/libonnxruntime_providers_shared.so", body: "ELF-prov"},
		{name: root + "lib/pkgconfig/libonnxruntime.pc", body: "pc"},
		{name: root + "LICENSE", body: "MIT"},
	}
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestInstallRuntimeFromFile(t *testing.T) {
	const v = "1.24.3"
	good := makeTgz(t, officialMembers(v)...)
	tests := []struct {
		name      string
		archive   []byte
		sha       string
		wantErr   error  // nil = success
		wantMsg   string // substring of the error
		wantFiles []string
	}{
		{name: "official layout, right checksum", archive: good, sha: sum(good),
			wantFiles: []string{"libonnxruntime.so", "libonnxruntime.so.1", "libonnxruntime.so." + v, "libonnxruntime_providers_shared.so"}},
		{name: "no checksum given", archive: good,
			wantFiles: []string{"libonnxruntime.so", "libonnxruntime.so.1", "libonnxruntime.so." + v, "libonnxruntime_providers_shared.so"}},
		{name: "wrong checksum", archive: good, sha: strings.Repeat("0", 64), wantErr: ErrChecksum, wantMsg: "refusing to install"},
		{name: "so.1 created from the versioned file",
			archive:   makeTgz(t, member{name: "ort/lib/libonnxruntime.so." + v, body: "ELF"}),
			wantFiles: []string{"libonnxruntime.so.1", "libonnxruntime.so." + v}},
		{name: "member escaping with ..",
			archive: makeTgz(t, append(officialMembers(v), member{name: "ort/lib/../../../evil", body: "x"})...),
			wantErr: ErrUnsafePath, wantMsg: "escapes"},
		{name: "absolute member",
			archive: makeTgz(t, member{name: "/tmp/libonnxruntime.so.1", body: "x"}), wantErr: ErrUnsafePath},
		{name: "symlink to an absolute path",
			archive: makeTgz(t, member{name: "ort/lib/libonnxruntime.so.1", link: "/etc/passwd"}), wantErr: ErrUnsafePath},
		{name: "symlink out of the archive",
			archive: makeTgz(t, member{name: "ort/lib/libonnxruntime.so." + v, body: "ELF"}, member{name: "ort/lib/libonnxruntime.so.1", link: "../../../../etc/passwd"}),
			wantErr: ErrUnsafePath},
		{name: "symlink out of lib",
			archive: makeTgz(t, member{name: "ort/include/x.h", body: "x"}, member{name: "ort/lib/libonnxruntime.so.1", link: "../include/x.h"}),
			wantErr: ErrUnsafePath},
		{name: "not a runtime archive", archive: makeTgz(t, member{name: "README", body: "hi"}), wantMsg: "holds no lib/libonnxruntime"},
		{name: "not a tgz", archive: []byte("PK\x03\x04 zip"), wantMsg: "not a .tgz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			archive := filepath.Join(dir, "ort.tgz")
			os.WriteFile(archive, tt.archive, 0o644)
			dest := filepath.Join(dir, "runtime")
			got, err := InstallRuntime(context.Background(), RuntimeOptions{Version: v, From: archive, SHA256: tt.sha, DestRoot: dest, GOOS: "linux"})
			if tt.wantErr != nil || tt.wantMsg != "" {
				if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) || !strings.Contains(err.Error(), tt.wantMsg) {
					t.Fatalf("err = %v, want %v containing %q", err, tt.wantErr, tt.wantMsg)
				}
				// Nothing installed, nothing left behind.
				if entries, _ := os.ReadDir(dest); len(entries) != 0 {
					t.Errorf("left in %s: %v", dest, entries)
				}
				if _, err := os.Stat(filepath.Join(dir, "evil")); err == nil {
					t.Error("escaping member written")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.SHA256 != sum(tt.archive) || got.Dir != filepath.Join(dest, v) || got.Library != filepath.Join(dest, v, "libonnxruntime.so.1") {
				t.Errorf("result %+v", got)
			}
			if !slices.Equal(got.Files, tt.wantFiles) {
				t.Errorf("files %v, want %v", got.Files, tt.wantFiles)
			}
			if b, err := os.ReadFile(got.Library); err != nil || !strings.HasPrefix(string(b), "ELF") {
				t.Errorf("library unreadable: %q %v", b, err)
			}
			if entries, _ := os.ReadDir(dest); len(entries) != 1 {
				t.Errorf("staging left behind: %v", entries)
			}
		})
	}
}

func TestInstallRuntimeDownload(t *testing.T) {
	const v = "1.24.3"
	archive := makeTgz(t, officialMembers(v)...)
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.Path)
		switch r.URL.Path {
		case "/v" + v + "/onnxruntime-linux-x64-" + v + ".tgz":
			w.Write(archive)
		case "/v9.9.9/onnxruntime-linux-x64-9.9.9.tgz": // no length, no end
			for {
				if _, err := w.Write(archive); err != nil {
					return
				}
			}
		case "/v9.9.8/onnxruntime-linux-x64-9.9.8.tgz": // announced too large
			w.Header().Set("Content-Length", "99999999999")
			w.WriteHeader(http.StatusOK)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	env := envFunc(map[string]string{EnvRuntimeBase: srv.URL + "/"})
	dest := filepath.Join(t.TempDir(), "runtime")
	linux := func(version string) RuntimeOptions {
		return RuntimeOptions{Version: version, GOOS: "linux", GOARCH: "amd64"}
	}
	withSHA := linux(v)
	withSHA.SHA256 = sum(archive)
	badSHA := linux(v)
	badSHA.SHA256 = "abc"
	offline := linux(v)
	offline.Offline = true
	endless := linux("9.9.9")
	endless.MaxBytes = 1 << 20
	tests := []struct {
		name     string
		opts     RuntimeOptions
		wantErr  string
		wantKind error
	}{
		{"official name for the platform", linux(v), "", nil},
		{"reinstall over an existing one", withSHA, "", nil},
		{"release missing", linux("1.99.0"), "HTTP 404", nil},
		{"unknown platform", RuntimeOptions{Version: v, GOOS: "plan9", GOARCH: "386"}, "no official ONNX Runtime archive is known for plan9/386", ErrUnsupportedPlatform},
		{"offline", offline, "offline", ErrOfflineMode},
		{"bad version", linux("../1"), "invalid ONNX Runtime version", nil},
		{"checksum not hex", badSHA, `expected archive sha256 "abc"`, ErrInvalidChecksum},
		{"endless archive is bounded", endless, "larger than the bound of 1.0 MB", ErrTooLarge},
		{"announced too large", linux("9.9.8"), "larger than the bound", ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			opts.DestRoot, opts.Getenv = dest, env
			var progressed int64
			opts.Progress = func(done, total int64) { progressed = done }
			got, err := InstallRuntime(context.Background(), opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || (tt.wantKind != nil && !errors.Is(err, tt.wantKind)) {
					t.Fatalf("err = %v, want %v containing %q", err, tt.wantKind, tt.wantErr)
				}
				noAdvice(t, err)
				if progressed > 2<<20 {
					t.Errorf("read %d bytes of a refused archive", progressed)
				}
				if entries, _ := os.ReadDir(dest); len(entries) > 1 {
					t.Errorf("a refused download left %v in %s", entries, dest)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.SHA256 != sum(archive) || progressed != int64(len(archive)) || !strings.HasPrefix(got.Source, srv.URL+"/v"+v+"/") {
				t.Errorf("result %+v, progress %d", got, progressed)
			}
			if _, err := os.Stat(got.Library); err != nil {
				t.Error(err)
			}
			entries, _ := os.ReadDir(dest)
			if len(entries) != 1 || entries[0].Name() != v {
				t.Errorf("dest holds %v, want only %s/", entries, v)
			}
		})
	}
}

func TestRuntimeArchiveName(t *testing.T) {
	tests := []struct{ goos, goarch, want string }{
		{"linux", "amd64", "onnxruntime-linux-x64-1.24.3.tgz"},
		{"linux", "arm64", "onnxruntime-linux-aarch64-1.24.3.tgz"},
		{"darwin", "arm64", "onnxruntime-osx-arm64-1.24.3.tgz"},
		{"darwin", "amd64", "onnxruntime-osx-x86_64-1.24.3.tgz"},
		{"windows", "amd64", ""},
	}
	for _, tt := range tests {
		got, err := RuntimeArchiveName(tt.goos, tt.goarch, "1.24.3")
		if got != tt.want || (err != nil) != (tt.want == "") {
			t.Errorf("%s/%s: %q, %v; want %q", tt.goos, tt.goarch, got, err, tt.want)
		}
	}
}
