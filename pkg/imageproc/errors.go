package imageproc

import "errors"

// ErrUnsupportedFormat reports input that is not JPEG, PNG, GIF, WebP, BMP or
// TIFF (judged by its first bytes, never by the file name), or a variant of
// those that this package cannot read.
var ErrUnsupportedFormat = errors.New("unsupported image format")

// ErrTooLarge reports an image whose header declares more pixels than
// Options.MaxPixels. Nothing is decoded in that case.
var ErrTooLarge = errors.New("image too large")

// ErrTooComplex reports an image that is legal in size but would cost too
// much work to decode: a progressive JPEG with more scans than
// Options.MaxScans, more PNG text than Pillow accepts, a GIF with too many
// extension blocks before its first frame. Nothing more is decoded.
var ErrTooComplex = errors.New("image too costly to decode")

// errTruncated marks data that ends before the image does.
var errTruncated = errors.New("image file is truncated")

// DecodeError is the error returned for any input that cannot be turned into
// pixels. Path is the file name when the input came from File, else empty.
// It wraps ErrUnsupportedFormat, ErrTooLarge or the underlying cause.
type DecodeError struct {
	Path   string
	Format string // "jpeg", "png", … when known
	Err    error
}

func (e *DecodeError) Error() string {
	// Callers print "path: message"; without a path the message stands alone.
	msg := e.Err.Error()
	if e.Format != "" {
		msg = e.Format + ": " + msg
	}
	if e.Path != "" {
		return e.Path + ": " + msg
	}
	return msg
}

func (e *DecodeError) Unwrap() error { return e.Err }
