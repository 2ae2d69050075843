package source

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// link makes a symbolic link at root/at pointing to target (as written).
func link(t *testing.T, root, target, at string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(at))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.FromSlash(target), p); err != nil {
		t.Skipf("symbolic links unavailable: %v", err)
	}
}

type walked struct {
	found, failed []string         // relative to the tree's root
	errs          map[string]error // failed path → its error
	skipped       map[string]error // OnSkip path → reason
}

func walkTree(t *testing.T, root string, args []string, opts Options) walked {
	t.Helper()
	w := walked{found: []string{}, failed: []string{}, errs: map[string]error{}, skipped: map[string]error{}}
	opts.OnSkip = func(p string, reason error) { w.skipped[relTo(root, p)] = reason }
	err := Walk(context.Background(), args, opts, func(it Item) error {
		r := relTo(root, it.Path)
		if it.Err != nil {
			w.failed = append(w.failed, r)
			w.errs[r] = it.Err
		} else {
			w.found = append(w.found, r)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func relTo(root, p string) string {
	r, err := filepath.Rel(root, p)
	if err != nil {
		return p
	}
	return filepath.ToSlash(r)
}

func TestSymlinks(t *testing.T) {
	root := makeTree(t, "real/a.jpg", "real/sub/b.jpg", "catalog/c.jpg")
	link(t, root, "real", "arglink")           // a folder named through a link
	link(t, root, "../real", "catalog/linked") // a linked subfolder
	link(t, root, "..", "catalog/up")          // back to catalog's parent: outside the path, not a loop
	link(t, root, ".", "catalog/self")         // catalog itself: a loop
	link(t, root, "..", "real/sub/back")       // real/sub → real: a loop once real is entered
	link(t, root, "missing.jpg", "catalog/gone.jpg")
	link(t, root, "../real/a.jpg", "catalog/file-link.jpg")
	at := func(p string) string { return filepath.Join(root, p) }

	cases := []struct {
		name    string
		args    []string
		opts    Options
		found   []string
		failed  []string
		skipped map[string]error // reasons compared with errors.Is, or by type for loops
	}{
		{name: "a linked folder named as an argument is walked",
			args: []string{at("arglink")}, opts: Options{MaxDepth: -1},
			found:   []string{"arglink/a.jpg", "arglink/sub/b.jpg"},
			skipped: map[string]error{"arglink/sub/back": ErrSymlinkedFolder}},
		{name: "linked subfolders are reported, not entered, without follow",
			args: []string{at("catalog")}, opts: Options{MaxDepth: -1},
			found:  []string{"catalog/c.jpg", "catalog/file-link.jpg"},
			failed: []string{"catalog/gone.jpg"},
			skipped: map[string]error{"catalog/linked": ErrSymlinkedFolder, "catalog/self": ErrSymlinkedFolder,
				"catalog/up": ErrSymlinkedFolder}},
		{name: "follow enters them and stops at loops",
			args: []string{at("catalog")}, opts: Options{MaxDepth: -1, Follow: true},
			found: []string{"catalog/c.jpg", "catalog/file-link.jpg", "catalog/linked/a.jpg", "catalog/linked/sub/b.jpg",
				"catalog/up/arglink/a.jpg", "catalog/up/arglink/sub/b.jpg",
				"catalog/up/real/a.jpg", "catalog/up/real/sub/b.jpg"},
			failed: []string{"catalog/gone.jpg"},
			skipped: map[string]error{"catalog/linked/sub/back": &LoopError{}, "catalog/self": &LoopError{},
				"catalog/up/arglink/sub/back": &LoopError{}, "catalog/up/catalog": &LoopError{}, "catalog/up/real/sub/back": &LoopError{}}},
		{name: "follow keeps the depth limit",
			args: []string{at("catalog")}, opts: Options{MaxDepth: 1, Follow: true},
			found:   []string{"catalog/c.jpg", "catalog/file-link.jpg", "catalog/linked/a.jpg"},
			failed:  []string{"catalog/gone.jpg"},
			skipped: map[string]error{"catalog/self": &LoopError{}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := walkTree(t, root, c.args, c.opts)
			if !reflect.DeepEqual(got.found, c.found) {
				t.Errorf("found %q\nwant  %q", got.found, c.found)
			}
			if c.failed == nil {
				c.failed = []string{}
			}
			if !reflect.DeepEqual(got.failed, c.failed) {
				t.Errorf("failed %q, want %q", got.failed, c.failed)
			}
			for _, p := range c.failed {
				if !errors.Is(got.errs[p], ErrBrokenLink) {
					t.Errorf("%s: error %v, want ErrBrokenLink", p, got.errs[p])
				}
			}
			if c.skipped == nil {
				c.skipped = map[string]error{}
			}
			if len(got.skipped) != len(c.skipped) {
				t.Errorf("skipped %v, want %v", got.skipped, c.skipped)
			}
			for p, want := range c.skipped {
				reason, ok := got.skipped[p]
				var loop *LoopError
				switch {
				case !ok:
					t.Errorf("%s not reported as skipped (got %v)", p, got.skipped)
				case errors.As(want, &loop):
					if !errors.As(reason, &loop) || loop.Ancestor == "" {
						t.Errorf("%s skipped for %v, want a loop", p, reason)
					}
				case !errors.Is(reason, want):
					t.Errorf("%s skipped for %v, want %v", p, reason, want)
				}
			}
		})
	}
}

func TestLoopNamesTheAncestor(t *testing.T) {
	root := makeTree(t, "real/sub/b.jpg")
	link(t, root, "..", "real/sub/back")
	got := walkTree(t, root, []string{filepath.Join(root, "real")}, Options{MaxDepth: -1, Follow: true})
	var loop *LoopError
	if !errors.As(got.skipped["real/sub/back"], &loop) || loop.Ancestor != filepath.Join(root, "real") {
		t.Fatalf("skipped %v, want a loop back to %s", got.skipped, filepath.Join(root, "real"))
	}
}

func TestDoubleStarGlobs(t *testing.T) {
	root := makeTree(t, "a.jpg", "x/b.jpg", "x/y/c.JPG", "x/y/d.jpg", "x/y/notes.txt", "x/.hid/e.jpg", ".top/f.jpg", "z/g.png", "z/deep/er/h.jpg")
	at := func(p string) string { return filepath.Join(root, filepath.FromSlash(p)) }
	cases := []struct {
		name    string
		pattern string
		opts    Options
		found   []string
		rels    []string // Item.Rel, when checked
		failed  []string
	}{
		{name: "any depth", pattern: "**/*.jpg", opts: Options{MaxDepth: -1},
			found: []string{"a.jpg", "x/b.jpg", "x/y/d.jpg", "z/deep/er/h.jpg"},
			rels:  []string{"a.jpg", "x/b.jpg", "x/y/d.jpg", "z/deep/er/h.jpg"}},
		{name: "hidden folders only when asked", pattern: "**/*.jpg", opts: Options{MaxDepth: -1, Hidden: true},
			found: []string{".top/f.jpg", "a.jpg", "x/.hid/e.jpg", "x/b.jpg", "x/y/d.jpg", "z/deep/er/h.jpg"}},
		{name: "below a fixed prefix, Rel from it", pattern: "x/**/*.jpg", opts: Options{MaxDepth: -1},
			found: []string{"x/b.jpg", "x/y/d.jpg"}, rels: []string{"b.jpg", "y/d.jpg"}},
		{name: "a trailing ** walks the folder", pattern: "x/**", opts: Options{MaxDepth: -1},
			found: []string{"x/b.jpg", "x/y/c.JPG", "x/y/d.jpg"}},
		{name: "a matched folder is walked as if named", pattern: "**/y", opts: Options{MaxDepth: -1},
			found: []string{"x/y/c.JPG", "x/y/d.jpg"}},
		{name: "a matched file is used whatever its extension", pattern: "**/*.txt", opts: Options{MaxDepth: -1},
			found: []string{"x/y/notes.txt"}},
		{name: "wildcards around **", pattern: "z/**/er/*.jpg", opts: Options{MaxDepth: -1},
			found: []string{"z/deep/er/h.jpg"}},
		{name: "the depth limit counts from the prefix", pattern: "**/*.jpg", opts: Options{MaxDepth: 1},
			found: []string{"a.jpg", "x/b.jpg"}},
		{name: "no match", pattern: "**/*.gif", opts: Options{MaxDepth: -1},
			found: []string{}, failed: []string{"**/*.gif"}},
		{name: "bad pattern", pattern: "**/[a.jpg", opts: Options{MaxDepth: -1},
			found: []string{}, failed: []string{"**/[a.jpg"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var found, rels, failed []string
			found, failed = []string{}, []string{}
			err := Walk(context.Background(), []string{at(c.pattern)}, c.opts, func(it Item) error {
				if it.Err != nil {
					failed = append(failed, relTo(root, it.Path))
					return nil
				}
				if it.Arg != at(c.pattern) {
					t.Errorf("%s: Arg %q, want the pattern", it.Path, it.Arg)
				}
				found = append(found, relTo(root, it.Path))
				rels = append(rels, filepath.ToSlash(it.Rel))
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(found, c.found) {
				t.Errorf("found %q, want %q", found, c.found)
			}
			if c.rels != nil && !reflect.DeepEqual(rels, c.rels) {
				t.Errorf("Rel %q, want %q", rels, c.rels)
			}
			if c.failed == nil {
				c.failed = []string{}
			}
			if !reflect.DeepEqual(failed, c.failed) {
				t.Errorf("failed %q, want %q", failed, c.failed)
			}
		})
	}
}

func TestDoubleStarRelativeBase(t *testing.T) {
	root := makeTree(t, "p/a.jpg", "p/q/b.jpg")
	t.Chdir(root)
	got := walkTree(t, root, []string{"**/*.jpg"}, Options{MaxDepth: -1})
	if want := []string{"p/a.jpg", "p/q/b.jpg"}; !reflect.DeepEqual(got.found, want) {
		t.Fatalf("found %q, want %q (paths as typed, no ./ prefix)", got.found, want)
	}
}

func TestSplitPattern(t *testing.T) {
	cases := []struct {
		pattern string
		base    string
		below   []string
		ok      bool
	}{
		{"dir/**/*.jpg", "dir", []string{"**", "*.jpg"}, true},
		{"**", ".", []string{"**"}, true},
		{"/**/x.jpg", "/", []string{"**", "x.jpg"}, true},
		{"a/b*/**/**/c", "a", []string{"b*", "**", "c"}, true},
		{"a//**/", "a", []string{"**"}, true},
		{"a/*.jpg", "", nil, false},
		{"a/x**y/b", "", nil, false}, // ** inside a segment is a plain *
	}
	for _, c := range cases {
		base, below, ok := splitPattern(c.pattern)
		if base != filepath.FromSlash(c.base) || !reflect.DeepEqual(below, c.below) || ok != c.ok {
			t.Errorf("splitPattern(%q) = %q %q %v, want %q %q %v", c.pattern, base, below, ok, c.base, c.below, c.ok)
		}
	}
}
