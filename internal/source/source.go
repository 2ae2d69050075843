// Package source turns command-line inputs (files, folders, globs, "-" for a
// list on stdin) into a stream of image paths, and reads the files it found
// with bounded cost. It never decodes.
//
// # What a walk finds
//
//   - A file named as an argument is used whatever its extension; a folder
//     (or a symbolic link to one) named as an argument is walked.
//   - Inside a folder, files with an image extension (ImageExtensions, any
//     case) are chosen, in lexical order, down to Options.MaxDepth. Names
//     starting with a dot are skipped unless Options.Hidden.
//   - Symbolic links inside a folder: a link to a file is used like the file;
//     a link to a folder is not entered unless Options.Follow is set (it is
//     reported to Options.OnSkip instead). When following, every folder on
//     the current path is remembered by device and inode (os.SameFile), so
//     a link back to one of them is a loop: it is skipped and reported, and
//     the walk goes on. A folder reached through two different links is
//     walked twice, as find -L does.
//   - A dangling link or a non-regular file (FIFO, device, socket) with an
//     image name is an input error (Item.Err), not a silent gap.
//   - A glob is expanded when no file has the argument's name. Each path
//     segment matches as filepath.Match does; a segment "**" matches any
//     number of folders (zero included), never entering hidden ones unless
//     Options.Hidden. A folder matched by a glob is walked as if named; a
//     file matched by a glob is used whatever its extension. The part of a
//     "**" pattern before its first wildcard segment is the base that Rel
//     and MaxDepth count from.
//   - "-" reads paths from Options.Stdin, one a line (or NUL-separated);
//     input that is not text (an image piped in by mistake) is refused with
//     a *NotAListError.
//
// Covers answers, with the same rules, whether a walk would have found a
// path that no longer exists (the index drops only such rows).
package source

import (
	"context"
	"errors"
	"hash/fnv"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
)

// ImageExtensions are the extensions chosen inside folders (any case).
var ImageExtensions = []string{".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff"}

// Item is one input.
type Item struct {
	// Path is the file as given, or as found under the argument.
	Path string
	// Arg is the command-line argument it came from (the pattern, for a
	// "**" glob).
	Arg string
	// Rel is Path relative to Arg when found inside a folder (relative to
	// the pattern's base for a "**" glob), else Path.
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
	// Follow enters symbolic links to folders found inside a walk (links
	// named as arguments are always followed), with loop detection.
	Follow bool
	// OnSkip, when set, is told of every folder the walk did not enter
	// although it was there: a symbolic link to a folder without Follow
	// (ErrSymlinkedFolder) or a loop (*LoopError). The walk goes on.
	OnSkip func(path string, reason error)
	// Stdin is read for the "-" argument.
	Stdin io.Reader
	// NullSeparated reads NUL-separated paths from stdin (find -print0).
	NullSeparated bool
	// ImageFormat, when set, names the image format of a header ("" when
	// none), so that an image piped in as a path list is refused by name.
	ImageFormat func(head []byte) string
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

// Walk emits every input in a stable order: arguments in order, folder
// contents in lexical order. It stops early when emit returns an error or
// ctx is cancelled.
func Walk(ctx context.Context, args []string, opts Options, emit func(Item) error) error {
	w := &walker{ctx: ctx, opts: opts, emit: emit}
	for _, arg := range args {
		if err := ctx.Err(); err != nil {
			return err
		}
		var err error
		if arg == "-" {
			err = w.stdin()
		} else {
			err = w.arg(arg)
		}
		if err != nil {
			return err
		}
	}
	return nil
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
