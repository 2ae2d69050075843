package ort

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCandidatesOrder(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("FASHIONCLIP_CACHE", cache)
	t.Setenv(EnvLibrary, "/env/lib.so")
	if err := os.MkdirAll(filepath.Join(cache, "runtime", "1.24.3"), 0o755); err != nil {
		t.Fatal(err)
	}
	got := Candidates("/flag/lib.so")
	var sources []string
	for _, c := range got {
		if len(sources) == 0 || sources[len(sources)-1] != c.Source {
			sources = append(sources, c.Source)
		}
	}
	want := []string{"flag", "env", "executable", "cache", "system"}
	if strings.Join(sources, ",") != strings.Join(want, ",") {
		t.Fatalf("lookup order %v, want %v", sources, want)
	}
	if got[0].Path != "/flag/lib.so" || got[1].Path != "/env/lib.so" {
		t.Fatalf("flag/env paths wrong: %v", got[:2])
	}
	if !strings.Contains(got[len(got)-3].Path, filepath.Join("runtime", "1.24.3")) {
		t.Fatalf("versioned cache folder not searched: %v", got)
	}
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	lib := filepath.Join(dir, LibraryName())
	if err := os.WriteFile(lib, []byte("not really"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FASHIONCLIP_CACHE", t.TempDir())
	cases := []struct {
		name, flag, env string
		wantPath        string
		wantErr         string
	}{
		{"flag wins", lib, "/nope", lib, ""},
		{"env used", "", lib, lib, ""},
		{"missing flag is an error, not a fallback", filepath.Join(dir, "typo.so"), lib, "", "--ort-lib"},
		{"missing env is an error", "", filepath.Join(dir, "typo.so"), "", EnvLibrary},
		{"nothing given falls to the system loader", "", "", LibraryName(), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(EnvLibrary, c.env)
			got, err := Resolve(c.flag)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want mention of %s", err, c.wantErr)
				}
				return
			}
			if err != nil || got.Path != c.wantPath {
				t.Fatalf("Resolve = %v, %v; want %s", got, err, c.wantPath)
			}
		})
	}
}

func TestNotFoundErrorSaysHowToFix(t *testing.T) {
	err := error(&NotFoundError{Tried: []string{"/a", "/b"}})
	var nf *NotFoundError
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), "fashionclip runtime install") || !strings.Contains(err.Error(), "/a, /b") {
		t.Fatalf("unhelpful message: %v", err)
	}
}

func TestCompareVersions(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"1.24.3", "1.24.0", 1}, {"1.9.0", "1.24.0", -1}, {"1.24.0", "1.24.0", 0},
		{"v1.30.0", "1.24.0", 1}, {"1.28.0-dev.20260624", "1.28.0", 0}, {"2.0", "1.99.9", 1},
	}
	for _, c := range cases {
		if got := CompareVersions(c.a, c.b); got != c.want {
			t.Errorf("CompareVersions(%s, %s) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}
