package source

import (
	"os"
	"path/filepath"
	"strings"
)

// Covers reports whether walking args with opts would have found path, had
// it still existed: the rule an index applies before dropping the row of a
// file that is gone, so that a run over another folder keeps what it did
// not look at. args are the walk's arguments with "-" replaced by the lines
// it read (a "-" itself covers nothing). The rules are the walk's own:
// extensions, hidden names, depth, globs ("**" included), links to folders
// (a folder below the argument that still exists as a link is covered only
// with Follow) and the shard.
func (o Options) Covers(args []string, path string) bool {
	for _, arg := range args {
		if arg != "-" && o.coveredBy(arg, path) {
			return true
		}
	}
	return false
}

func (o Options) coveredBy(arg, path string) bool {
	if filepath.Clean(arg) == filepath.Clean(path) {
		return o.Shard.Keeps(arg) // named: whatever its extension
	}
	if base, below, ok := splitPattern(arg); ok {
		segs, ok := segsBelow(base, path)
		if !ok {
			return false
		}
		// Inside a folder the pattern names (the shallowest one decides,
		// as in the walk)...
		for i := 0; i < len(segs); i++ {
			if match(below, segs[:i], o.Hidden) {
				return o.inFolder(base, segs, i)
			}
		}
		// ...or a file it names, whatever its extension.
		if match(below, segs, o.Hidden) {
			return o.depthOK(segs) && o.linksOK(base, segs) && o.Shard.Keeps(filepath.Join(segs...))
		}
		return false
	}
	if hasGlobMeta(arg) {
		if ok, _ := filepath.Match(arg, path); ok {
			return o.Shard.Keeps(path) // a file the glob named
		}
		// Inside a folder the glob matched: each such folder is its own
		// argument, so Rel starts there.
		dir := filepath.Dir(path)
		for prev := ""; dir != prev; prev, dir = dir, filepath.Dir(dir) {
			if ok, _ := filepath.Match(arg, dir); ok {
				segs, _ := segsBelow(dir, path)
				return o.inFolder(dir, segs, 0)
			}
		}
		return false
	}
	segs, ok := segsBelow(arg, path)
	return ok && o.inFolder(arg, segs, 0)
}

// inFolder applies a plain folder walk's rules to segs below root, the first
// from of them already matched by a pattern (so not checked for hidden names).
func (o Options) inFolder(root string, segs []string, from int) bool {
	if len(segs) == 0 || !IsImageName(segs[len(segs)-1]) || !o.depthOK(segs) || !o.linksOK(root, segs) {
		return false
	}
	if !o.Hidden {
		for _, s := range segs[from:] {
			if isHidden(s) {
				return false
			}
		}
	}
	return o.Shard.Keeps(filepath.Join(segs...))
}

func (o Options) depthOK(segs []string) bool {
	return o.MaxDepth < 0 || len(segs)-1 <= o.MaxDepth
}

// linksOK: without Follow, a walk does not enter a link to a folder, so a
// path through one (that still exists) was never found.
func (o Options) linksOK(root string, segs []string) bool {
	if o.Follow {
		return true
	}
	p := root
	for _, s := range segs[:len(segs)-1] {
		p = filepath.Join(p, s)
		st, err := os.Lstat(p)
		if err != nil {
			return true // gone from here down: the walk would have entered it
		}
		if st.Mode()&os.ModeSymlink != 0 {
			return false
		}
	}
	return true
}

// segsBelow splits path relative to root; ok is false when path is not
// below root.
func segsBelow(root, path string) ([]string, bool) {
	rel, err := filepath.Rel(root, path)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return nil, false
	}
	return strings.Split(rel, string(filepath.Separator)), true
}
