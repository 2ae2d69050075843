package hub

import (
	"errors"
	"fmt"
)

// Kinds of failure, for errors.Is. Messages state what went wrong and never
// what to type: the caller builds the remedy from the kind and the fields of
// *Error.
var (
	// ErrInvalidRef: a repo id or revision that cannot name a Hub repo.
	ErrInvalidRef = errors.New("invalid repo reference")
	// ErrUnreachable: the Hub did not answer at all (DNS, TCP, TLS, proxy).
	ErrUnreachable = errors.New("cannot reach the Hub")
	// ErrGated: the repo is gated or private and the request had no (or the
	// wrong) token; Error.TokenSent tells which.
	ErrGated = errors.New("repo is gated or private")
	// ErrNotFound is the parent of the three kinds below.
	ErrNotFound = errors.New("not found on the Hub")
	// ErrRepoNotFound: no such repo (or a private one, when no token was sent).
	ErrRepoNotFound = &kind{"repo not found on the Hub", ErrNotFound}
	// ErrRevisionNotFound: the repo exists, the revision does not.
	ErrRevisionNotFound = &kind{"revision not found on the Hub", ErrNotFound}
	// ErrFileNotFound: the revision exists, the file does not.
	ErrFileNotFound = &kind{"file not found on the Hub", ErrNotFound}
	// ErrNotCached: the cache lacks the repo, the revision, or the variant's
	// files, and the Hub was not (or could not be) asked.
	ErrNotCached = errors.New("not in the local cache")
	// ErrChecksum: downloaded bytes (or a runtime archive) do not hash to
	// what was announced; nothing was linked or installed.
	ErrChecksum = errors.New("checksum mismatch")
	// ErrUnverifiable: the Hub gave neither a size nor a hash for a file, so
	// a cut connection could not be told from the end of the file.
	ErrUnverifiable = errors.New("file has neither a size nor a hash")
	// ErrTooLarge: a file of unknown size outgrew Client.MaxUnsizedFile, or
	// a runtime archive outgrew its bound.
	ErrTooLarge = errors.New("download too large")
	// ErrUnsafePath: a repo file name or archive member would escape its folder.
	ErrUnsafePath = errors.New("unsafe path")
	// ErrNoGraph: the repo (or snapshot) has no ONNX graph for the variant;
	// errors.As finds the *modelfiles.NoGraphError with the variants offered.
	ErrNoGraph = errors.New("no ONNX graph for the variant")
	// ErrDiskSpace: the download does not fit on the disk.
	ErrDiskSpace = errors.New("not enough disk space")
	// ErrOfflineMode: offline mode forbids the request.
	ErrOfflineMode = errors.New("offline mode")
	// ErrUnsupportedPlatform: no official ONNX Runtime archive for this OS/arch.
	ErrUnsupportedPlatform = errors.New("no ONNX Runtime archive for this platform")
	// ErrInvalidChecksum: an expected checksum that is not 64 hex digits.
	ErrInvalidChecksum = errors.New("invalid sha256")
)

// kind is a failure kind with a parent kind (ErrRepoNotFound is an
// ErrNotFound), so callers may test the general or the precise one.
type kind struct {
	msg    string
	parent error
}

func (k *kind) Error() string { return k.msg }

func (k *kind) Unwrap() error { return k.parent }

// Error is a failure of one of the kinds above. The fields say what a
// remedy needs; empty ones do not apply.
type Error struct {
	Kind error
	Msg  string
	// Ref is the repo and revision concerned (Ref.Explicit: the revision
	// was written out, so a remedy repeats it).
	Ref Ref
	// Variant is the weight variant concerned ("" when none).
	Variant string
	// File is the repo file (or archive, or URL) concerned.
	File string
	// Endpoint is the Hub's base URL.
	Endpoint string
	// TokenSent: the request carried a token (ErrGated, ErrRepoNotFound).
	TokenSent bool
	// Cause is the underlying failure, if any (often a *StatusError).
	Cause error
}

func (e *Error) Error() string { return e.Msg }

// Is matches the kind and its parents.
func (e *Error) Is(target error) bool {
	for k := e.Kind; k != nil; k = errors.Unwrap(k) {
		if k == target {
			return true
		}
	}
	return false
}

// Unwrap exposes the cause.
func (e *Error) Unwrap() error { return e.Cause }

func newError(kind error, format string, args ...any) *Error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// withRef fills the remedy fields and returns e.
func (e *Error) withRef(ref Ref, variant string) *Error {
	e.Ref, e.Variant = ref, variant
	return e
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
