package source

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func makeTree(t *testing.T, files ...string) string {
	t.Helper()
	root := t.TempDir()
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func collect(t *testing.T, args []string, opts Options) (paths []string, errs []string) {
	t.Helper()
	err := Walk(context.Background(), args, opts, func(it Item) error {
		if it.Err != nil {
			errs = append(errs, it.Path)
		} else {
			paths = append(paths, it.Path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return paths, errs
}

func rel(root string, paths []string) []string {
	out := []string{}
	for _, p := range paths {
		r, _ := filepath.Rel(root, p)
		out = append(out, filepath.ToSlash(r))
	}
	return out
}

func TestWalkFolders(t *testing.T) {
	root := makeTree(t, "b.JPG", "a.png", "notes.txt", "sub/c.webp", "sub/deeper/d.tiff", ".hidden/e.jpg", ".f.jpg", "sub/g.Jpeg")
	cases := []struct {
		name string
		opts Options
		want []string
	}{
		{"default", Options{MaxDepth: -1}, []string{"a.png", "b.JPG", "sub/c.webp", "sub/deeper/d.tiff", "sub/g.Jpeg"}},
		{"depth0", Options{MaxDepth: 0}, []string{"a.png", "b.JPG"}},
		{"depth1", Options{MaxDepth: 1}, []string{"a.png", "b.JPG", "sub/c.webp", "sub/g.Jpeg"}},
		{"hidden", Options{MaxDepth: -1, Hidden: true}, []string{".f.jpg", ".hidden/e.jpg", "a.png", "b.JPG", "sub/c.webp", "sub/deeper/d.tiff", "sub/g.Jpeg"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, errs := collect(t, []string{root}, c.opts)
			if len(errs) > 0 {
				t.Fatalf("unexpected input errors %v", errs)
			}
			if g := rel(root, got); !reflect.DeepEqual(g, c.want) {
				t.Fatalf("got %v, want %v", g, c.want)
			}
		})
	}
}

func TestExplicitFilesGlobsAndMissing(t *testing.T) {
	root := makeTree(t, "x/notes.txt", "x/a.jpg", "x/b.jpg", "y/c.png")
	args := []string{filepath.Join(root, "x/notes.txt"), filepath.Join(root, "x/*.jpg"), filepath.Join(root, "missing.jpg"), filepath.Join(root, "nomatch*.png")}
	got, errs := collect(t, args, Options{MaxDepth: -1})
	if want := []string{"x/notes.txt", "x/a.jpg", "x/b.jpg"}; !reflect.DeepEqual(rel(root, got), want) {
		t.Fatalf("got %v, want %v (an explicit file is kept whatever its extension)", rel(root, got), want)
	}
	if want := []string{"missing.jpg", "nomatch*.png"}; !reflect.DeepEqual(rel(root, errs), want) {
		t.Fatalf("errors %v, want %v", rel(root, errs), want)
	}
}

func TestStdinLists(t *testing.T) {
	root := makeTree(t, "a b.jpg", "c\nd.jpg", "e.png")
	a, cd, e := filepath.Join(root, "a b.jpg"), filepath.Join(root, "c\nd.jpg"), filepath.Join(root, "e.png")
	cases := []struct {
		name  string
		input string
		null  bool
		want  []string
	}{
		{"lines", a + "\n\n" + e + "\r\n", false, []string{a, e}},
		{"nul", a + "\x00" + cd + "\x00" + e, true, []string{a, cd, e}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, errs := collect(t, []string{"-"}, Options{MaxDepth: -1, Stdin: strings.NewReader(c.input), NullSeparated: c.null})
			if len(errs) > 0 || !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %q errs %q, want %q", got, errs, c.want)
			}
		})
	}
}

func TestShardsPartitionInputs(t *testing.T) {
	var files []string
	for i := 0; i < 60; i++ {
		files = append(files, filepath.Join("d", string(rune('a'+i%26))+strings.Repeat("x", i/26)+".jpg"))
	}
	root := makeTree(t, files...)
	all, _ := collect(t, []string{root}, Options{MaxDepth: -1})
	seen := map[string]int{}
	for k := 0; k < 3; k++ {
		part, _ := collect(t, []string{root}, Options{MaxDepth: -1, Shard: Shard{Index: k, Of: 3}})
		if len(part) == 0 || len(part) == len(all) {
			t.Fatalf("shard %d/3 holds %d of %d items: not a real split", k, len(part), len(all))
		}
		for _, p := range part {
			seen[p]++
		}
	}
	if len(seen) != len(all) {
		t.Fatalf("shards cover %d of %d items", len(seen), len(all))
	}
	for p, n := range seen {
		if n != 1 {
			t.Fatalf("%s in %d shards", p, n)
		}
	}
	// The hash is of the path relative to the argument, so it does not depend on where the folder lives.
	if (Shard{Index: 0, Of: 2}).Keeps("d/a.jpg") == (Shard{Index: 1, Of: 2}).Keeps("d/a.jpg") {
		t.Fatal("an item must belong to exactly one shard")
	}
}

func TestStreamStopsOnCancel(t *testing.T) {
	root := makeTree(t, "a.jpg", "b.jpg", "c.jpg")
	ctx, cancel := context.WithCancel(context.Background())
	items, errc := Stream(ctx, []string{root}, Options{MaxDepth: -1})
	<-items
	cancel()
	for range items {
	}
	if err := <-errc; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}
