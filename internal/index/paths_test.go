package index

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestPathRule(t *testing.T) {
	cwd := t.TempDir()
	t.Chdir(cwd)
	root := pathRule{root: "/data/shop"}
	legacy := pathRule{}
	tests := []struct {
		name string
		rule pathRule
		fn   func(pathRule, string) string
		in   string
		want string
	}{
		{"inside the root", root, pathRule.itemPath, "/data/shop/cat/a.jpg", "cat/a.jpg"},
		{"outside the root", root, pathRule.itemPath, "/data/other/a.jpg", "/data/other/a.jpg"},
		{"the root's sibling with a common prefix", root, pathRule.itemPath, "/data/shopping/a.jpg", "/data/shopping/a.jpg"},
		{"cleaned", root, pathRule.itemPath, "/data/x/../shop//cat/./a.jpg", "cat/a.jpg"},
		{"relative to the working folder", pathRule{root: cwd}, pathRule.itemPath, "cat/../a.jpg", "a.jpg"},
		{"relative, outside the root", root, pathRule.itemPath, "a.jpg", filepath.Join(cwd, "a.jpg")},
		{"version 1 keeps what it is given", legacy, pathRule.itemPath, "./cat/../a.jpg", "./cat/../a.jpg"},
		{"file of a relative item", root, pathRule.filePath, "cat/a.jpg", "/data/shop/cat/a.jpg"},
		{"file of an absolute item", root, pathRule.filePath, "/data/other//a.jpg", "/data/other/a.jpg"},
		{"file of a version 1 item", legacy, pathRule.filePath, "cat/a.jpg", "cat/a.jpg"},
		{"canonical: absolute inside", root, pathRule.canonical, "/data/shop/a.jpg", "a.jpg"},
		{"canonical: climbing out", root, pathRule.canonical, "../other/a.jpg", "/data/other/a.jpg"},
		{"canonical: uncleaned", root, pathRule.canonical, "cat/./x/../a.jpg", "cat/a.jpg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.fn(tt.rule, tt.in); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// itemPaths lists the live image paths of an index.
func itemPaths(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, e := range contents(t, dir) {
		if !e.it.IsText {
			out = append(out, e.it.Path)
		}
	}
	slices.Sort(out)
	return out
}

// A version 1 index (paths as given, no root) reads and updates as it did.
func TestVersion1Index(t *testing.T) {
	work := t.TempDir()
	t.Chdir(work)
	dir := filepath.Join(work, "old.idx")
	smallIndex(t, dir, "")
	asVersion1(t, dir)
	if r, err := Verify(context.Background(), dir, false); err != nil || !r.Healthy() || r.Version != 1 {
		t.Fatalf("%+v %v", r, err)
	}
	ix, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	hits, err := ix.Search(vecFor(PathKey("shop/c.jpg"), 1, 8), SearchOptions{K: 1})
	if err != nil || len(hits) != 1 || hits[0].Item.Path != "shop/c.jpg" || ix.Root() != "" || ix.FilePath("shop/c.jpg") != "shop/c.jpg" {
		t.Errorf("search in a version 1 index: %v %v (root %q)", hits, err, ix.Root())
	}
	ix.Close()

	w := openW(t, dir, Options{})
	if got := w.ItemPath("./shop/d.jpg"); got != "./shop/d.jpg" {
		t.Errorf("a version 1 writer made %q of ./shop/d.jpg", got)
	}
	w.Add(img("./shop/d.jpg", 1), vecFor("d", 1, 8))
	mustClose(t, w)
	m, _ := ReadManifest(dir)
	if m.Version != 1 || m.Root != "" {
		t.Errorf("the writer changed the format: version %d, root %q", m.Version, m.Root)
	}
	if got, want := itemPaths(t, dir), []string{"./shop/d.jpg", "shop/a.jpg", "shop/b.jpg", "shop/c.jpg"}; !slices.Equal(got, want) {
		t.Errorf("items %q, want %q", got, want)
	}
	// The new chunk is hashed, the old ones are not: deep checks both ways.
	if r, _ := Verify(context.Background(), dir, true); !r.Healthy() || r.Hashed != 2 || r.Scanned != 2 {
		t.Errorf("deep: %+v", r)
	}

	// Merging it into a new index is the way to version 2: its relative
	// paths are taken relative to the working folder, as they were written.
	out := filepath.Join(work, "new.idx")
	if _, err := Merge(out, []string{dir}, MergeOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, want := itemPaths(t, out), []string{"shop/a.jpg", "shop/b.jpg", "shop/c.jpg", "shop/d.jpg"}; !slices.Equal(got, want) {
		t.Errorf("merged items %q, want %q", got, want)
	}
	if m, _ := ReadManifest(out); m.Version != FormatVersion || m.Root != DefaultRoot {
		t.Errorf("merged into version %d, root %q", m.Version, m.Root)
	}
}

func TestMergeRebasesPaths(t *testing.T) {
	base := t.TempDir()
	t.Chdir(base)
	shared := filepath.Join(base, "shared", "s.jpg")
	// Shard a lives in a/, b in b/: each stores its own files relative to
	// its root and the shared file absolutely.
	mk := func(dir string, files ...string) {
		w := openW(t, dir, Options{})
		for _, f := range files {
			it := img(w.ItemPath(f), 1)
			if err := w.Add(it, vecFor(filepath.Base(f), 1, 8)); err != nil {
				t.Fatal(err)
			}
		}
		mustClose(t, w)
	}
	a, b := filepath.Join(base, "a", "idx"), filepath.Join(base, "b", "idx")
	mk(a, "a/p.jpg", shared)
	mk(b, "b/q.jpg", shared)
	if got := itemPaths(t, a); !slices.Equal(got, []string{shared, "p.jpg"}) {
		t.Fatalf("shard a holds %q", got)
	}
	tests := []struct {
		name string
		out  string
		want []string
	}{
		{"into a third root: absolute paths", filepath.Join(base, "out", "idx"),
			[]string{filepath.Join(base, "a/p.jpg"), filepath.Join(base, "b/q.jpg"), shared}},
		{"into a's root: a's files stay relative", filepath.Join(base, "a", "merged"),
			[]string{filepath.Join(base, "b/q.jpg"), shared, "p.jpg"}},
		{"into the common root: all relative", filepath.Join(base, "merged"),
			[]string{"a/p.jpg", "b/q.jpg", "shared/s.jpg"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := Merge(tt.out, []string{a, b}, MergeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if st.Items != 3 || st.Duplicates != 1 {
				t.Errorf("stats %+v: the shared file must be one item", st)
			}
			if got := itemPaths(t, tt.out); !slices.Equal(got, tt.want) {
				t.Errorf("items %q, want %q", got, tt.want)
			}
			ix, err := Open(tt.out)
			if err != nil {
				t.Fatal(err)
			}
			defer ix.Close()
			ix.Each(func(it Item, _ []float32) error {
				if f := ix.FilePath(it.Path); !filepath.IsAbs(f) || filepath.Base(f) != filepath.Base(it.Path) {
					t.Errorf("%s resolves to %s", it.Path, f)
				}
				return nil
			})
		})
	}
	t.Run("a chosen root", func(t *testing.T) {
		out := filepath.Join(base, "elsewhere", "idx")
		w := openW(t, out, Options{Root: "b"})
		if w.Root() != filepath.Join(base, "b") || w.ItemPath("b/q.jpg") != "q.jpg" {
			t.Errorf("root %s, b/q.jpg → %s", w.Root(), w.ItemPath("b/q.jpg"))
		}
		mustClose(t, w)
		if m, _ := ReadManifest(out); m.Root != "../../b" {
			t.Errorf("recorded root %q", m.Root)
		}
	})
	if _, err := os.Stat(filepath.Join(base, "out", "idx", manifestName)); err != nil {
		t.Error(err)
	}
}
