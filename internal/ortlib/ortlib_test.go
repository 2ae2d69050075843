package ortlib

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestCandidatesOrder(t *testing.T) {
	cache := t.TempDir()
	if err := os.MkdirAll(filepath.Join(cache, "runtime", "1.24.3"), 0o755); err != nil {
		t.Fatal(err)
	}
	l := Lookup{Path: "/flag/lib.so", Getenv: env(map[string]string{EnvCache: cache, EnvLibrary: "/env/lib.so"}),
		Executable: "/opt/fc/bin/fashionclip", GOOS: "linux"}
	got := l.Candidates()
	var sources []string
	for _, c := range got {
		if len(sources) == 0 || sources[len(sources)-1] != string(c.Source) {
			sources = append(sources, string(c.Source))
		}
	}
	if want := "flag,env,executable,cache,system"; strings.Join(sources, ",") != want {
		t.Fatalf("lookup order %v, want %s", sources, want)
	}
	if got[0].Path != "/flag/lib.so" || got[1].Path != "/env/lib.so" || got[2].Path != "/opt/fc/bin/libonnxruntime.so.1" {
		t.Fatalf("paths wrong: %v", got[:3])
	}
	if !strings.Contains(got[len(got)-3].Path, filepath.Join("runtime", "1.24.3")) {
		t.Fatalf("versioned cache folder not searched: %v", got)
	}
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	lib := filepath.Join(dir, LibraryName("linux"))
	if err := os.WriteFile(lib, []byte("not really"), 0o644); err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	cases := []struct {
		name, path, env string
		wantPath        string
		wantSource      Source
	}{
		{"explicit wins", lib, "/nope", lib, ""},
		{"env used", "", lib, lib, ""},
		{"missing explicit path is an error, not a fallback", filepath.Join(dir, "typo.so"), lib, "", FromExplicit},
		{"missing env path is an error", "", filepath.Join(dir, "typo.so"), "", FromEnv},
		{"nothing given falls to the system loader", "", "", LibraryName("linux"), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := Lookup{Path: c.path, Getenv: env(map[string]string{EnvCache: cache, EnvLibrary: c.env}),
				Executable: filepath.Join(t.TempDir(), "fashionclip"), GOOS: "linux"}
			got, err := l.Resolve()
			if c.wantSource != "" {
				var mp *MissingPathError
				if !errors.As(err, &mp) || mp.Source != c.wantSource {
					t.Fatalf("err = %v, want a MissingPathError from %s", err, c.wantSource)
				}
				return
			}
			if err != nil || got.Path != c.wantPath {
				t.Fatalf("got %v, %v; want %s", got, err, c.wantPath)
			}
		})
	}
}

func TestNamesAndVersions(t *testing.T) {
	if LibraryName("darwin") != "libonnxruntime.dylib" || LibraryName("windows") != "onnxruntime.dll" || LibraryName("linux") != "libonnxruntime.so.1" {
		t.Fatal("library names")
	}
	for _, c := range []struct {
		a, b string
		want int
	}{{"1.24.3", "1.24.0", 1}, {"1.9.0", "1.24.0", -1}, {"v1.24.0-rc1", "1.24.0", 0}} {
		if got := CompareVersions(c.a, c.b); got != c.want {
			t.Errorf("CompareVersions(%s, %s) = %d", c.a, c.b, got)
		}
	}
	root, err := CacheRoot(env(map[string]string{EnvCache: "/x"}))
	if err != nil || root != "/x" {
		t.Fatal(root, err)
	}
}
