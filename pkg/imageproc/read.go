package imageproc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// DefaultMaxFileBytes bounds what ReadFile reads when Options.MaxFileBytes
// is 0: more than any JPEG or PNG up to DefaultMaxPixels needs, and enough
// for an uncompressed 24-bit BMP of that size (268 MB).
const DefaultMaxFileBytes = 320 << 20

func (o Options) maxFileBytes() int64 { return orDefault(o.MaxFileBytes, DefaultMaxFileBytes) }

// readPiece is how much ReadFile reads between checks of its context.
const readPiece = 1 << 20

// ErrNotRegular reports a path that is not a regular file after following
// links (a folder, a device such as /dev/zero, a FIFO).
var ErrNotRegular = errors.New("not a regular file")

// ReadFile reads an image file for decoding: regular files only (after
// following links), at most maxBytes (0: no limit; larger files are refused
// from their size, before reading), in pieces so that a cancelled ctx stops
// a slow read. Errors are *DecodeError values naming path, or ctx.Err().
func ReadFile(ctx context.Context, path string, maxBytes int64) ([]byte, error) {
	fail := func(err error) ([]byte, error) {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &DecodeError{Path: path, Err: err}
	}
	// Non-blocking, so that a FIFO named like an image is refused below
	// instead of waiting for a writer.
	f, err := os.OpenFile(path, os.O_RDONLY|nonBlockFlag, 0)
	if err != nil {
		return fail(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fail(err)
	}
	if !st.Mode().IsRegular() {
		return fail(fmt.Errorf("%w (%s)", ErrNotRegular, st.Mode().Type()))
	}
	if maxBytes > 0 && st.Size() > maxBytes {
		return fail(fmt.Errorf("%w: file is %d bytes, above the limit of %d", ErrTooLarge, st.Size(), maxBytes))
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
		n, err := f.Read(data[len(data):min(cap(data), len(data)+readPiece)])
		data = data[:len(data)+n]
		if maxBytes > 0 && int64(len(data)) > maxBytes {
			return fail(fmt.Errorf("%w: file grew past the limit of %d bytes while read", ErrTooLarge, maxBytes))
		}
		if err == io.EOF {
			return data, nil
		}
		if err != nil {
			return fail(err)
		}
	}
}

// ctxReader fails reads once ctx is done: the Go decoders read as they
// decode, so this stops them between rows.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
