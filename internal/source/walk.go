package source

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/fashionclip/fashionclip/internal/fileread"
)

// ErrSymlinkedFolder is the OnSkip reason for a symbolic link to a folder
// met inside a walk that does not follow links.
var ErrSymlinkedFolder = errors.New("symbolic link to a folder, not followed")

// ErrBrokenLink is the error of a symbolic link whose target is missing.
var ErrBrokenLink = errors.New("broken symbolic link (its target does not exist)")

// LoopError is the OnSkip reason for a followed link that leads back to a
// folder already on the current path.
type LoopError struct {
	// Ancestor is the folder on the path that the link leads back to.
	Ancestor string
}

func (e *LoopError) Error() string {
	return fmt.Sprintf("symbolic link loop: leads back to %s", e.Ancestor)
}

// walker holds one Walk's state.
type walker struct {
	ctx  context.Context
	opts Options
	emit func(Item) error
	// found counts items found, before the shard keeps its part.
	found int
}

func (w *walker) send(it Item) error {
	w.found++
	if !w.opts.Shard.Keeps(it.Rel) {
		return nil
	}
	return w.emit(it)
}

func (w *walker) skip(path string, reason error) {
	if w.opts.OnSkip != nil {
		w.opts.OnSkip(path, reason)
	}
}

// arg walks one command-line argument (or one line of a stdin list).
func (w *walker) arg(arg string) error {
	// os.Stat follows links: a link named on the command line is used as
	// what it points to, folder or file.
	st, statErr := os.Stat(arg)
	if statErr != nil && hasGlobMeta(arg) {
		return w.glob(arg)
	}
	if statErr != nil {
		if _, lerr := os.Lstat(arg); lerr == nil && errors.Is(statErr, fs.ErrNotExist) {
			statErr = ErrBrokenLink
		}
		return w.send(Item{Path: arg, Arg: arg, Rel: arg, Err: withoutPath(statErr)})
	}
	if !st.IsDir() {
		// A file named explicitly is used whatever its extension (and the
		// reader refuses it if it is not a regular file).
		return w.send(Item{Path: arg, Arg: arg, Rel: arg})
	}
	t := tree{w: w, root: arg, arg: arg}
	return t.dir(arg, nil, st)
}

// tree walks one folder argument, or the base of one "**" pattern.
type tree struct {
	w         *walker
	root, arg string
	// pattern, for a "**" glob: the segments below root. A folder that
	// matches it whole is walked as a plain folder from there (folder set).
	pattern []string
	// ancestors are the folders on the current path, for loop detection.
	ancestors []fs.FileInfo
	paths     []string
}

// dir walks the folder at p, whose segments below the root are rel. folder
// is true once below a folder matched by the pattern (or always, for a
// plain folder walk).
func (t *tree) dir(p string, rel []string, info fs.FileInfo) error {
	return t.visit(p, rel, info, t.pattern == nil)
}

func (t *tree) visit(p string, rel []string, info fs.FileInfo, folder bool) error {
	entries, err := os.ReadDir(p)
	if err != nil {
		// An unreadable folder is an input error, not the end of the run.
		return t.w.send(Item{Path: p, Arg: t.arg, Rel: relString(rel), Err: withoutPath(err)})
	}
	t.ancestors = append(t.ancestors, info)
	t.paths = append(t.paths, p)
	defer func() {
		t.ancestors = t.ancestors[:len(t.ancestors)-1]
		t.paths = t.paths[:len(t.paths)-1]
	}()
	opts := t.w.opts
	for _, e := range entries {
		if err := t.w.ctx.Err(); err != nil {
			return err
		}
		name := e.Name()
		cp := filepath.Join(p, name)
		crel := append(rel[:len(rel):len(rel)], name)
		// In a plain folder the hidden rule applies to every name; under a
		// pattern the matcher applies it ("**" never spans hidden names, an
		// explicit segment may name one).
		if folder && !opts.Hidden && isHidden(name) {
			continue
		}
		typ := e.Type()
		var target fs.FileInfo
		if typ&fs.ModeSymlink != 0 {
			target, err = os.Stat(cp)
			if err != nil {
				if t.wantsFile(crel, folder, name) {
					if errors.Is(err, fs.ErrNotExist) {
						err = ErrBrokenLink
					}
					if err := t.w.send(Item{Path: cp, Arg: t.arg, Rel: relString(crel), Err: withoutPath(err)}); err != nil {
						return err
					}
				}
				continue
			}
			if target.IsDir() && !opts.Follow {
				if folder || matchPrefix(t.pattern, crel, opts.Hidden) || match(t.pattern, crel, opts.Hidden) {
					t.w.skip(cp, ErrSymlinkedFolder)
				}
				continue
			}
			typ = target.Mode().Type()
		}
		if typ.IsDir() {
			if err := t.subdir(cp, crel, e, target, folder); err != nil {
				return err
			}
			continue
		}
		if !t.wantsFile(crel, folder, name) {
			continue
		}
		it := Item{Path: cp, Arg: t.arg, Rel: relString(crel)}
		if !typ.IsRegular() {
			it.Err = notRegular(typ)
		}
		if err := t.w.send(it); err != nil {
			return err
		}
	}
	return nil
}

// subdir decides whether to enter a folder and enters it.
func (t *tree) subdir(cp string, crel []string, e fs.DirEntry, target fs.FileInfo, folder bool) error {
	opts := t.w.opts
	if opts.MaxDepth >= 0 && len(crel) > opts.MaxDepth {
		return nil
	}
	enter := folder
	if !folder {
		switch {
		case match(t.pattern, crel, opts.Hidden):
			folder = true // a folder the glob names is walked as if named
			enter = true
		case matchPrefix(t.pattern, crel, opts.Hidden):
			enter = true
		}
	}
	if !enter {
		return nil
	}
	info := target
	if info == nil {
		var err error
		if info, err = e.Info(); err != nil {
			return t.w.send(Item{Path: cp, Arg: t.arg, Rel: relString(crel), Err: withoutPath(err)})
		}
	}
	if opts.Follow {
		for i, a := range t.ancestors {
			if os.SameFile(a, info) {
				t.w.skip(cp, &LoopError{Ancestor: t.paths[i]})
				return nil
			}
		}
	}
	return t.visit(cp, crel, info, folder)
}

// wantsFile reports whether a file at crel is an input.
func (t *tree) wantsFile(crel []string, folder bool, name string) bool {
	if folder {
		return IsImageName(name)
	}
	return match(t.pattern, crel, t.w.opts.Hidden)
}

func relString(rel []string) string {
	if len(rel) == 0 {
		return "."
	}
	return filepath.Join(rel...)
}

// ErrNotRegular is the error of an input that is not a regular file (after
// following links): a FIFO, a device, a socket. Such inputs can block or
// never end, so they are refused.
var ErrNotRegular = fileread.ErrNotRegular

// notRegular describes what a non-regular file is (fileread's rule).
var notRegular = fileread.NotRegular
