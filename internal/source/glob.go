package source

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func hasGlobMeta(s string) bool { return strings.ContainsAny(s, "*?[") }

// splitPattern cuts a "**" pattern into its base folder (the segments before
// the first one with a wildcard) and the segments below it, with runs of
// "**" collapsed. ok is false when the pattern has no "**" segment.
func splitPattern(pattern string) (base string, below []string, ok bool) {
	segs := strings.Split(filepath.ToSlash(pattern), "/")
	first := -1
	for i, s := range segs {
		if s == "**" {
			ok = true
		}
		if first < 0 && hasGlobMeta(s) {
			first = i
		}
	}
	if !ok {
		return "", nil, false
	}
	switch {
	case first == 0:
		base = "."
	case first == 1 && segs[0] == "":
		base = string(filepath.Separator) // an absolute pattern: /**/x.jpg
	default:
		base = filepath.Clean(filepath.FromSlash(strings.Join(segs[:first], "/")))
	}
	for _, s := range segs[first:] {
		if s == "" {
			continue // "a//b" and a trailing slash
		}
		if s == "**" && len(below) > 0 && below[len(below)-1] == "**" {
			continue
		}
		below = append(below, s)
	}
	return base, below, true
}

// checkPattern reports a malformed segment (an unclosed '[', say).
func checkPattern(below []string) error {
	for _, s := range below {
		if _, err := filepath.Match(s, ""); err != nil {
			return err
		}
	}
	return nil
}

// match reports whether the path segments segs match the pattern segments:
// each as filepath.Match, "**" as any number of segments (none included)
// that are not hidden unless hidden is set.
func match(pat, segs []string, hidden bool) bool {
	if len(pat) == 0 {
		return len(segs) == 0
	}
	if pat[0] == "**" {
		if match(pat[1:], segs, hidden) {
			return true
		}
		if len(segs) == 0 || (!hidden && isHidden(segs[0])) {
			return false
		}
		return match(pat, segs[1:], hidden)
	}
	if len(segs) == 0 {
		return false
	}
	if ok, _ := filepath.Match(pat[0], segs[0]); !ok {
		return false
	}
	return match(pat[1:], segs[1:], hidden)
}

// matchPrefix reports whether something below the folder segs could match:
// the walk prunes every folder for which it is false.
func matchPrefix(pat, segs []string, hidden bool) bool {
	if len(segs) == 0 {
		return len(pat) > 0
	}
	if len(pat) == 0 {
		return false
	}
	if pat[0] == "**" {
		if matchPrefix(pat[1:], segs, hidden) {
			return true
		}
		if !hidden && isHidden(segs[0]) {
			return false
		}
		return matchPrefix(pat, segs[1:], hidden)
	}
	if ok, _ := filepath.Match(pat[0], segs[0]); !ok {
		return false
	}
	return matchPrefix(pat[1:], segs[1:], hidden)
}

// glob expands a pattern argument.
func (w *walker) glob(arg string) error {
	if base, below, ok := splitPattern(arg); ok {
		return w.doubleStar(arg, base, below)
	}
	matches, err := filepath.Glob(arg)
	if err != nil {
		return w.send(Item{Path: arg, Arg: arg, Rel: arg, Err: fmt.Errorf("bad glob pattern: %w", err)})
	}
	if len(matches) == 0 {
		return w.send(Item{Path: arg, Arg: arg, Rel: arg, Err: fmt.Errorf("no file matches %q", arg)})
	}
	for _, m := range matches {
		if err := w.arg(m); err != nil {
			return err
		}
	}
	return nil
}

func (w *walker) doubleStar(arg, base string, below []string) error {
	if err := checkPattern(below); err != nil {
		return w.send(Item{Path: arg, Arg: arg, Rel: arg, Err: fmt.Errorf("bad glob pattern: %w", err)})
	}
	st, err := os.Stat(base)
	if err != nil || !st.IsDir() {
		return w.send(Item{Path: arg, Arg: arg, Rel: arg, Err: fmt.Errorf("no file matches %q", arg)})
	}
	before := w.found
	t := tree{w: w, root: base, arg: arg, pattern: below}
	// "dir/**" matches dir itself: the folder is walked as if named.
	if err := t.visit(base, nil, st, match(below, nil, w.opts.Hidden)); err != nil {
		return err
	}
	if w.found == before {
		return w.send(Item{Path: arg, Arg: arg, Rel: arg, Err: fmt.Errorf("no file matches %q", arg)})
	}
	return nil
}
