package hub

import (
	"errors"
	"fmt"
)

// Kinds of failure, for errors.Is. The messages themselves say what to do.
var (
	ErrGated       = errors.New("repo is gated or private")
	ErrNotFound    = errors.New("not found on the Hub")
	ErrNotCached   = errors.New("not in the local cache")
	ErrChecksum    = errors.New("checksum mismatch")
	ErrUnsafePath  = errors.New("unsafe path")
	ErrNoGraph     = errors.New("no ONNX graph for the variant")
	ErrDiskSpace   = errors.New("not enough disk space")
	ErrOfflineMode = errors.New("offline mode")
)

// Error is a failure of one of the kinds above with a message for the user.
type Error struct {
	Kind  error
	Msg   string
	Cause error // the underlying failure, if any (often a *StatusError)
}

func (e *Error) Error() string { return e.Msg }

// Is matches the kind.
func (e *Error) Is(target error) bool { return target == e.Kind }

// Unwrap exposes the cause.
func (e *Error) Unwrap() error { return e.Cause }

func newError(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// StatusError is an HTTP reply the client could not use.
type StatusError struct {
	URL    string
	Status int
	// Code is the Hub's X-Error-Code (RepoNotFound, GatedRepo, ...), if any.
	Code string
	// Msg is the Hub's X-Error-Message, if any.
	Msg string
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("%s: HTTP %d", e.URL, e.Status)
	if e.Code != "" {
		s += " (" + e.Code + ")"
	}
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	return s
}

// retryable: the server may well answer the same request next time.
func (e *StatusError) retryable() bool { return e.Status == 429 || e.Status >= 500 }
