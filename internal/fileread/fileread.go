// Package fileread reads input files whole with their cost bounded: the one
// rule for image files (pkg/imageproc), files a served index names
// (internal/server) and the walk (internal/source). Pure Go.
package fileread

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// ErrNotRegular is a path that is not a regular file after following links:
// a folder, a device such as /dev/zero, a FIFO, a socket. Such inputs can
// block or never end, so they are refused.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is matched by a *TooLargeError.
var ErrTooLarge = errors.New("file too large")

// TooLargeError is a file above the size limit: refused from its size
// before any read (Size), or grown past it while read (Size -1).
type TooLargeError struct {
	Size, Limit int64
}

func (e *TooLargeError) Error() string {
	if e.Size < 0 {
		return fmt.Sprintf("file grew past the limit of %d bytes while read", e.Limit)
	}
	return fmt.Sprintf("file is %d bytes, above the limit of %d", e.Size, e.Limit)
}

func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

// NotRegular describes what a non-regular file is; the error matches
// ErrNotRegular.
func NotRegular(m fs.FileMode) error {
	what := "a special file"
	switch {
	case m&fs.ModeDir != 0:
		what = "a folder"
	case m&fs.ModeNamedPipe != 0:
		what = "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		what = "a socket"
	case m&fs.ModeCharDevice != 0:
		what = "a character device"
	case m&fs.ModeDevice != 0:
		what = "a block device"
	}
	return fmt.Errorf("is %s, %w", what, ErrNotRegular)
}

// piece is how much Read reads between checks of its context.
const piece = 1 << 20

// Read reads a regular file (after following links) whole: at most maxBytes
// (0: no limit; a larger file is refused from its size, before any read),
// in pieces so that a cancelled ctx stops a slow read (the error is then
// ctx.Err()). Opening never blocks on a FIFO. Errors do not repeat the
// path: callers name it.
func Read(ctx context.Context, path string, maxBytes int64) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|nonBlockFlag, 0)
	if err != nil {
		return nil, withoutPath(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, withoutPath(err)
	}
	if !st.Mode().IsRegular() {
		return nil, NotRegular(st.Mode().Type())
	}
	if maxBytes > 0 && st.Size() > maxBytes {
		return nil, &TooLargeError{Size: st.Size(), Limit: maxBytes}
	}
	// The size is a hint: the file may grow or shrink while it is read.
	data := make([]byte, 0, st.Size()+1)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
		n, err := f.Read(data[len(data):min(cap(data), len(data)+piece)])
		data = data[:len(data)+n]
		if maxBytes > 0 && int64(len(data)) > maxBytes {
			return nil, &TooLargeError{Size: -1, Limit: maxBytes}
		}
		if err == io.EOF {
			return data, nil
		}
		if err != nil {
			return nil, withoutPath(err)
		}
	}
}

func withoutPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
