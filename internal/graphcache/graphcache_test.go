package graphcache

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSourceKey(t *testing.T) {
	dir := t.TempDir()
	blob := filepath.Join(dir, strings.Repeat("ab", 32))
	if err := os.WriteFile(blob, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "model.onnx")
	if err := os.Symlink(blob, link); err != nil {
		t.Fatal(err)
	}
	if k, err := SourceKey(link); err != nil || k != BlobKey(strings.Repeat("ab", 32)) {
		t.Fatalf("a snapshot link to a blob is keyed by the blob: %q %v", k, err)
	}
	plain := filepath.Join(dir, "plain.onnx")
	os.WriteFile(plain, []byte("x"), 0o644)
	k1, _ := SourceKey(plain)
	os.WriteFile(plain, []byte("xy"), 0o644)
	k2, _ := SourceKey(plain)
	if !strings.HasPrefix(k1, "file-") || k1 == k2 {
		t.Fatalf("a changed file must get a new key: %q %q", k1, k2)
	}
}

func TestBuildReuseAndStale(t *testing.T) {
	c := Cache{Root: t.TempDir()}
	src := filepath.Join(t.TempDir(), "model.onnx")
	os.WriteFile(src, []byte("graph"), 0o644)
	key, _ := SourceKey(src)
	calls := 0
	build := func(dir string) error {
		calls++
		return os.WriteFile(filepath.Join(dir, "text.onnx"), []byte("t"), 0o644)
	}
	d1, built, err := c.Build(Key(key, ""), Meta{Source: src, Recipe: "split-v1"}, build)
	if err != nil || !built {
		t.Fatal(err, built)
	}
	d2, built, err := c.Build(Key(key, ""), Meta{Source: src}, build)
	if err != nil || built || d1 != d2 || calls != 1 {
		t.Fatalf("second build must reuse: %v %v %d", err, built, calls)
	}
	if _, _, err := c.Build(Key(key, "int8-r1"), Meta{Source: src}, func(string) error { return errors.New("boom") }); err == nil {
		t.Fatal("a failed build must fail")
	}
	entries, _ := c.Entries()
	if len(entries) != 1 || entries[0].Stale() {
		t.Fatalf("one fresh entry expected, got %+v", entries)
	}
	os.WriteFile(src, []byte("changed graph"), 0o644)
	entries, _ = c.Entries()
	if !entries[0].Stale() {
		t.Fatal("an entry whose source changed is stale")
	}
	os.MkdirAll(filepath.Join(c.Root, "file-0.tmp-123"), 0o755)
	entries, _ = c.Entries()
	if len(entries) != 2 || entries[0].Complete == entries[1].Complete {
		t.Fatalf("a leftover is listed as incomplete: %+v", entries)
	}
}

func TestRemoveSources(t *testing.T) {
	c := Cache{Root: t.TempDir()}
	// Per-tower derived entries carry a second dot: "source.recipe.tower".
	for _, k := range []string{"blob-aa", "blob-aa.int8-r1", Key("blob-aa", "int8-v1-standard.text"), "blob-aab", "blob-bb"} {
		if _, _, err := c.Build(k, Meta{}, func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "g.onnx"), []byte("12345"), 0o644)
		}); err != nil {
			t.Fatal(err)
		}
	}
	if e, _ := c.Entries(); e[2].SourceKey() != "blob-aa" {
		t.Fatalf("source of %s is %q", e[2].Key, e[2].SourceKey())
	}
	freed, err := c.RemoveSources("blob-aa")
	if err != nil || freed < 15 {
		t.Fatalf("freed %d, %v", freed, err)
	}
	entries, _ := c.Entries()
	if len(entries) != 2 || entries[0].Key != "blob-aab" || entries[1].Key != "blob-bb" {
		t.Fatalf("left %+v", entries)
	}
}
