package source

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestCoversAgreesWithTheWalk: for every file in a tree and every way of
// walking it, Covers says yes exactly for what the walk found. One rule.
func TestCoversAgreesWithTheWalk(t *testing.T) {
	root := makeTree(t, "a.jpg", "b.txt", ".h.jpg", "x/c.jpg", "x/y/d.PNG", "x/y/e.txt", "x/.hid/f.jpg",
		"z/deep/g.jpg", "real/r.jpg", "real/s/t.jpg")
	link(t, root, "../real", "x/linked")
	at := func(p string) string { return filepath.Join(root, filepath.FromSlash(p)) }
	var files []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if st, serr := os.Stat(p); err == nil && serr == nil && !st.IsDir() { // links to folders are folders
			files = append(files, p)
		}
		return nil
	})
	// Paths only a followed link reaches.
	files = append(files, at("x/linked/r.jpg"), at("x/linked/s/t.jpg"))

	argSets := [][]string{
		{root}, {at("x")}, {at("a.jpg"), at("b.txt")}, {at("x/*")}, {at("*/y")}, {at("*.txt")},
		{at("**/*.jpg")}, {at("x/**")}, {at("**/y")}, {at("**/*.txt")}, {at("x/**/*.jpg"), at("z")},
	}
	optSets := []Options{
		{MaxDepth: -1}, {MaxDepth: 0}, {MaxDepth: 1}, {MaxDepth: -1, Hidden: true}, {MaxDepth: -1, Follow: true},
		{MaxDepth: -1, Shard: Shard{Index: 1, Of: 3}}, {MaxDepth: -1, Follow: true, Hidden: true, Shard: Shard{Index: 0, Of: 2}},
	}
	for _, args := range argSets {
		for _, opts := range optSets {
			var found []string
			got := walkTree(t, root, args, opts)
			for _, r := range got.found {
				found = append(found, at(r))
			}
			for _, f := range files {
				want := slices.Contains(found, f)
				if opts.Covers(args, f) != want {
					t.Errorf("args %v opts %+v: Covers(%s) = %v, but the walk found it: %v",
						rels(root, args), opts, relTo(root, f), !want, want)
				}
			}
		}
	}
}

func rels(root string, ps []string) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = relTo(root, p)
	}
	return out
}

// TestCoversFilesThatAreGone: the rows an index may drop.
func TestCoversFilesThatAreGone(t *testing.T) {
	root := makeTree(t, "keep.jpg", "x/keep.jpg")
	link(t, root, "../elsewhere", "x/link") // a dangling link to a folder
	at := func(p string) string { return filepath.Join(root, filepath.FromSlash(p)) }
	if err := os.MkdirAll(at("elsewhere"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		opts Options
		path string
		want bool
	}{
		{"deep below a ** pattern", []string{at("**/*.jpg")}, Options{MaxDepth: -1}, at("x/gone/deeper/p.jpg"), true},
		{"not matching the pattern", []string{at("**/*.jpg")}, Options{MaxDepth: -1}, at("x/gone.png"), false},
		{"below a deleted subfolder", []string{root}, Options{MaxDepth: -1}, at("x/gone/p.jpg"), true},
		{"outside the argument", []string{at("x")}, Options{MaxDepth: -1}, at("other/p.jpg"), false},
		{"a sibling with a common prefix", []string{at("x")}, Options{MaxDepth: -1}, at("xy/p.jpg"), false},
		{"too deep", []string{root}, Options{MaxDepth: 1}, at("x/gone/p.jpg"), false},
		{"hidden", []string{root}, Options{MaxDepth: -1}, at(".cache/p.jpg"), false},
		{"not an image name", []string{root}, Options{MaxDepth: -1}, at("x/notes.txt"), false},
		{"named on the command line, any extension", []string{at("x/notes.txt")}, Options{MaxDepth: -1}, at("x/notes.txt"), true},
		{"through a link to a folder, without follow", []string{root}, Options{MaxDepth: -1}, at("x/link/p.jpg"), false},
		{"through a link to a folder, with follow", []string{root}, Options{MaxDepth: -1, Follow: true}, at("x/link/p.jpg"), true},
		{"a stdin marker covers nothing", []string{"-"}, Options{MaxDepth: -1}, at("x/p.jpg"), false},
	}
	for _, c := range cases {
		if got := c.opts.Covers(c.args, c.path); got != c.want {
			t.Errorf("%s: Covers = %v, want %v", c.name, got, c.want)
		}
	}
}
