// Package source turns command-line inputs (files, folders, globs, "-" for a
// list on stdin) into a stream of image paths. It never decodes.
package source

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ImageExtensions are the extensions chosen inside folders (any case).
var ImageExtensions = []string{".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff"}

// Item is one input.
type Item struct {
	// Path is the file as given, or as found under the argument.
	Path string
	// Arg is the command-line argument it came from.
	Arg string
	// Rel is Path relative to Arg when found inside a folder, else Path.
	Rel string
	// Err is set for an input that cannot be used at all (e.g. a named file
	// that does not exist); the run reports it and goes on.
	Err error
}

// Options control the walk.
type Options struct {
	// MaxDepth limits folder recursion: 0 = only the folder's own files,
	// negative = unlimited.
	MaxDepth int
	// Hidden includes files and folders whose names start with a dot.
	Hidden bool
	// Stdin is read for the "-" argument.
	Stdin io.Reader
	// NullSeparated reads NUL-separated paths from stdin (find -print0).
	NullSeparated bool
	// Shard, when Of > 1, keeps only items whose FNV-1a 64 hash of Rel mod Of equals Index.
	Shard Shard
}

// Shard selects a stable subset of the inputs.
type Shard struct{ Index, Of int }

// Keeps reports whether rel belongs to the shard.
func (s Shard) Keeps(rel string) bool {
	if s.Of <= 1 {
		return true
	}
	h := fnv.New64a()
	h.Write([]byte(filepath.ToSlash(rel)))
	return h.Sum64()%uint64(s.Of) == uint64(s.Index)
}

// IsImageName reports whether a file name has an image extension.
func IsImageName(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	for _, e := range ImageExtensions {
		if ext == e {
			return true
		}
	}
	return false
}

func isHidden(name string) bool { return strings.HasPrefix(name, ".") && name != "." && name != ".." }

func hasGlobMeta(s string) bool { return strings.ContainsAny(s, "*?[") }

// Walk emits every input in a stable order: arguments in order, folder
// contents in lexical order. It stops early when emit returns an error or
// ctx is cancelled.
func Walk(ctx context.Context, args []string, opts Options, emit func(Item) error) error {
	for _, arg := range args {
		if err := ctx.Err(); err != nil {
			return err
		}
		var err error
		switch {
		case arg == "-":
			err = walkStdin(ctx, opts, emit)
		default:
			err = walkArg(ctx, arg, opts, emit)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func walkArg(ctx context.Context, arg string, opts Options, emit func(Item) error) error {
	st, statErr := os.Stat(arg)
	if statErr != nil && hasGlobMeta(arg) {
		matches, err := filepath.Glob(arg)
		if err != nil {
			return emitKept(opts, emit, Item{Path: arg, Arg: arg, Rel: arg, Err: fmt.Errorf("bad glob pattern: %w", err)})
		}
		if len(matches) == 0 {
			return emitKept(opts, emit, Item{Path: arg, Arg: arg, Rel: arg, Err: fmt.Errorf("no file matches %q", arg)})
		}
		for _, m := range matches {
			if err := walkArg(ctx, m, opts, emit); err != nil {
				return err
			}
		}
		return nil
	}
	if statErr != nil {
		return emitKept(opts, emit, Item{Path: arg, Arg: arg, Rel: arg, Err: withoutPath(statErr)})
	}
	if !st.IsDir() {
		// A file named explicitly is used whatever its extension.
		return emitKept(opts, emit, Item{Path: arg, Arg: arg, Rel: arg})
	}
	return walkDir(ctx, arg, opts, emit)
}

func walkDir(ctx context.Context, root string, opts Options, emit func(Item) error) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		rel, _ := filepath.Rel(root, p)
		if err != nil {
			// An unreadable subfolder is an input error, not the end of the run.
			return emitKept(opts, emit, Item{Path: p, Arg: root, Rel: rel, Err: withoutPath(err)})
		}
		if p == root {
			return nil
		}
		if !opts.Hidden && isHidden(d.Name()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if opts.MaxDepth >= 0 && strings.Count(rel, string(filepath.Separator)) >= opts.MaxDepth {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			// Follow links to files, not to folders (no cycles).
			st, err := os.Stat(p)
			if err != nil || st.IsDir() {
				return nil
			}
		} else if !d.Type().IsRegular() {
			return nil
		}
		if !IsImageName(d.Name()) {
			return nil
		}
		return emitKept(opts, emit, Item{Path: p, Arg: root, Rel: rel})
	})
}

func walkStdin(ctx context.Context, opts Options, emit func(Item) error) error {
	if opts.Stdin == nil {
		return fmt.Errorf("'-' given but there is no standard input")
	}
	sc := bufio.NewScanner(opts.Stdin)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	if opts.NullSeparated {
		sc.Split(splitNUL)
	}
	for sc.Scan() {
		if err := ctx.Err(); err != nil {
			return err
		}
		line := sc.Text()
		if !opts.NullSeparated {
			line = strings.TrimSuffix(line, "\r")
			if strings.TrimSpace(line) == "" {
				continue
			}
		} else if line == "" {
			continue
		}
		if err := walkArg(ctx, line, opts, emit); err != nil {
			return err
		}
	}
	return sc.Err()
}

func splitNUL(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexByte(data, 0); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// withoutPath drops the path from an *fs.PathError: reports already start
// with the item's path.
func withoutPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func emitKept(opts Options, emit func(Item) error, it Item) error {
	if !opts.Shard.Keeps(it.Rel) {
		return nil
	}
	return emit(it)
}

// Stream runs Walk in a goroutine and sends items on a channel with a small
// buffer, so that a huge folder is never held in memory. The error channel
// receives Walk's result once the item channel is closed.
func Stream(ctx context.Context, args []string, opts Options) (<-chan Item, <-chan error) {
	items := make(chan Item, 64)
	errc := make(chan error, 1)
	go func() {
		defer close(errc)
		err := Walk(ctx, args, opts, func(it Item) error {
			select {
			case items <- it:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		close(items)
		errc <- err
	}()
	return items, errc
}
