package fashionclip

import (
	"errors"
	"sync"

	"github.com/fashionclip/fashionclip/internal/ort"
	"github.com/fashionclip/fashionclip/internal/ortlib"
)

// Runtime owns ONNX Runtime for its models: create one per program, load
// models through it, and close it after them.
//
// ONNX Runtime's environment is process-wide and its library cannot be
// unloaded safely, so the first library a process loads serves it for its
// life: another Runtime asking for a different library file gets a
// *RuntimeConflictError instead of silently sharing the first one.
type Runtime struct {
	env      *ort.Env
	getenv   func(string) string
	mu       sync.Mutex
	closed   bool
	modelsMu sync.Mutex
	models   map[*Model]bool
}

// RuntimeOptions say which ONNX Runtime library to load.
type RuntimeOptions struct {
	// Library is the library file; empty means the lookup: $FASHIONCLIP_ORT_LIB,
	// beside the executable (and ../lib), fashionclip's user cache, then the
	// system's library path.
	Library string
	// Getenv reads the environment (nil: os.Getenv).
	Getenv func(string) string
}

// Errors from NewRuntime, for errors.As.
type (
	// RuntimeNotFoundError lists every place the library was looked for.
	RuntimeNotFoundError = ortlib.NotFoundError
	// RuntimeMissingError is an explicitly named library that does not exist.
	RuntimeMissingError = ortlib.MissingPathError
	// RuntimeLoadError is a library that exists but cannot be loaded.
	RuntimeLoadError = ort.LoadError
	// RuntimeTooOldError is a library older than MinRuntimeVersion.
	RuntimeTooOldError = ort.TooOldError
	// RuntimeConflictError asks for a second, different library in one process.
	RuntimeConflictError = ort.ConflictError
)

// MinRuntimeVersion is the oldest ONNX Runtime the library works with.
const MinRuntimeVersion = ortlib.MinVersion

// ErrClosed is returned by a closed Runtime or Model.
var ErrClosed = errors.New("fashionclip: closed")

// NewRuntime loads ONNX Runtime (or shares the one this process loaded).
func NewRuntime(opts RuntimeOptions) (*Runtime, error) {
	env, err := ort.Acquire(ortlib.Lookup{Path: opts.Library, Getenv: opts.Getenv})
	if err != nil {
		return nil, err
	}
	getenv := opts.Getenv
	if getenv == nil {
		getenv = osGetenv
	}
	return &Runtime{env: env, getenv: getenv, models: map[*Model]bool{}}, nil
}

// Version is the loaded ONNX Runtime's version.
func (r *Runtime) Version() string { return r.env.Version() }

// LibraryPath is the library file in use.
func (r *Runtime) LibraryPath() string { return r.env.Library().Path }

// LibrarySource says how the library was found ("flag" for an explicit
// path, "env", "executable", "cache" or "system").
func (r *Runtime) LibrarySource() string { return string(r.env.Library().Source) }

// Close closes every model still open on this runtime. The library itself
// stays loaded (see Runtime).
func (r *Runtime) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.mu.Unlock()
	r.modelsMu.Lock()
	open := make([]*Model, 0, len(r.models))
	for m := range r.models {
		open = append(open, m)
	}
	r.modelsMu.Unlock()
	var errs []error
	for _, m := range open {
		errs = append(errs, m.Close())
	}
	return errors.Join(errs...)
}

func (r *Runtime) track(m *Model, open bool) {
	r.modelsMu.Lock()
	defer r.modelsMu.Unlock()
	if open {
		r.models[m] = true
	} else {
		delete(r.models, m)
	}
}

func (r *Runtime) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}
