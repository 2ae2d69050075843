package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/fashionclip/fashionclip/internal/output"
)

// DefaultMaxFileSize bounds one input file when ReadOptions.MaxSize is 0:
// generous for any photograph (a 100-megapixel JPEG is about 50 MB), small
// enough that a stray video or disk image costs nothing.
const DefaultMaxFileSize = 256_000_000

// headerSize is what ReadFile reads before the rest, for CheckHeader.
const headerSize = 512

// readChunk is the most read in one call; the context is checked between
// chunks, so a cancelled run stops within one chunk's read.
const readChunk = 1 << 20

// ReadOptions bound ReadFile.
type ReadOptions struct {
	// MaxSize is the largest file accepted, in bytes: 0 means
	// DefaultMaxFileSize, a negative value no limit.
	MaxSize int64
	// CheckHeader, when set, is called with the file's first bytes (up to
	// 512, fewer for a shorter file) before the rest is read; its error
	// refuses the file as it is (an unsupported format, say).
	CheckHeader func(head []byte) error
}

func (o ReadOptions) limit() int64 {
	if o.MaxSize == 0 {
		return DefaultMaxFileSize
	}
	return o.MaxSize
}

// ErrFileTooLarge is matched by a *FileTooLargeError.
var ErrFileTooLarge = errors.New("file too large")

// FileTooLargeError refuses a file above ReadOptions.MaxSize.
type FileTooLargeError struct {
	// Size is the file's size, or -1 when it grew past Limit while read.
	Size, Limit int64
}

func (e *FileTooLargeError) Error() string {
	if e.Size < 0 {
		return fmt.Sprintf("file grew past the limit of %s for one input while being read", output.FormatBytes(e.Limit))
	}
	return fmt.Sprintf("file is %s, above the limit of %s for one input", output.FormatBytes(e.Size), output.FormatBytes(e.Limit))
}

func (e *FileTooLargeError) Is(target error) bool { return target == ErrFileTooLarge }

// ReadFile reads an input file whole, with its cost bounded: only a regular
// file is read (after following links: a link to /dev/zero or a FIFO is
// refused with ErrNotRegular, and opening never blocks on a FIFO), a file
// above the size limit is refused from its size before any read, the header
// is checked before the rest is read, and ctx is checked between chunks.
// Errors do not repeat the path (reports start with it already).
func ReadFile(ctx context.Context, path string, opts ReadOptions) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := openNonBlocking(path)
	if err != nil {
		return nil, withoutPath(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, withoutPath(err)
	}
	if !st.Mode().IsRegular() {
		return nil, notRegular(st.Mode().Type())
	}
	limit := opts.limit()
	if limit > 0 && st.Size() > limit {
		return nil, &FileTooLargeError{Size: st.Size(), Limit: limit}
	}
	// The size is a hint (files in /proc say 0; a file may grow): one byte
	// more than it lets the read see the end without growing the buffer.
	capacity := st.Size() + 1
	if limit > 0 {
		capacity = min(capacity, limit+1)
	}
	buf := make([]byte, 0, max(capacity, headerSize))

	// The header first, so an obviously unsupported file costs one small read.
	n, err := io.ReadFull(f, buf[:headerSize])
	buf = buf[:n]
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, withoutPath(err)
	}
	atEOF := err != nil
	if opts.CheckHeader != nil {
		if herr := opts.CheckHeader(buf); herr != nil {
			return nil, herr
		}
	}
	for !atEOF {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)] // grow (amortised)
		}
		end := min(cap(buf), len(buf)+readChunk)
		n, err := f.Read(buf[len(buf):end])
		buf = buf[:len(buf)+n]
		if limit > 0 && int64(len(buf)) > limit {
			return nil, &FileTooLargeError{Size: -1, Limit: limit}
		}
		switch {
		case err == io.EOF:
			atEOF = true
		case err != nil:
			return nil, withoutPath(err)
		}
	}
	return buf, nil
}

// openNonBlocking opens for reading without blocking on a FIFO (see the
// per-system files); the caller then refuses anything not regular.
func openNonBlocking(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|nonBlockFlag, 0)
}
