package imageproc

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/fashionclip/fashionclip/internal/fileread"
)

// DefaultMaxFileBytes bounds what ReadFile reads when Options.MaxFileBytes
// is 0: more than any JPEG or PNG up to DefaultMaxPixels needs, and enough
// for an uncompressed 24-bit BMP of that size (268 MB).
const DefaultMaxFileBytes = 320 << 20

func (o Options) maxFileBytes() int64 { return orDefault(o.MaxFileBytes, DefaultMaxFileBytes) }

// ErrNotRegular reports a path that is not a regular file after following
// links (a folder, a device such as /dev/zero, a FIFO).
var ErrNotRegular = fileread.ErrNotRegular

// ReadFile reads an image file for decoding: regular files only (after
// following links; opening never blocks on a FIFO), at most maxBytes (0: no
// limit; larger files are refused from their size, before reading), in
// pieces so that a cancelled ctx stops a slow read. Errors are *DecodeError
// values naming path (wrapping ErrNotRegular or ErrTooLarge where they
// apply), or ctx.Err().
func ReadFile(ctx context.Context, path string, maxBytes int64) ([]byte, error) {
	data, err := fileread.Read(ctx, path, maxBytes)
	var big *fileread.TooLargeError
	switch {
	case err == nil:
		return data, nil
	case errors.Is(err, ctx.Err()):
		return nil, err
	case errors.As(err, &big):
		err = fmt.Errorf("%w: %v", ErrTooLarge, big)
	}
	return nil, &DecodeError{Path: path, Err: err}
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
