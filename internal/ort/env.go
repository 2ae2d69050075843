// Package ort loads the ONNX Runtime shared library, owns its process-wide
// environment, and wraps its sessions. It knows nothing about images or text.
package ort

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"

	onnx "github.com/yalue/onnxruntime_go"

	"github.com/fashionclip/fashionclip/internal/ortlib"
)

// Env is a reference to the process's ONNX Runtime environment. ONNX
// Runtime allows one per process and cannot be unloaded safely once sessions
// have run, so the first library loaded serves the process for its life;
// every Env shares it.
type Env struct {
	lib     ortlib.Candidate
	version string
}

var (
	envMu     sync.Mutex
	envLoaded bool
	envLib    ortlib.Candidate
	envVer    string
)

// LoadError is a library that was found but could not be used.
type LoadError struct {
	Library ortlib.Candidate
	Err     error
}

func (e *LoadError) Error() string {
	return fmt.Sprintf("cannot load ONNX Runtime from %s (need %s or newer): %v", e.Library.Path, ortlib.MinVersion, e.Err)
}

func (e *LoadError) Unwrap() error { return e.Err }

// TooOldError is a library older than ortlib.MinVersion.
type TooOldError struct {
	Library ortlib.Candidate
	Version string
}

func (e *TooOldError) Error() string {
	return fmt.Sprintf("ONNX Runtime %s at %s is too old (need %s or newer)", e.Version, e.Library.Path, ortlib.MinVersion)
}

// ConflictError asks for a library other than the one this process loaded.
type ConflictError struct {
	Loaded, Requested string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("ONNX Runtime from %s is already loaded in this process; %s cannot be loaded beside it", e.Loaded, e.Requested)
}

// Acquire loads the library the lookup finds, or shares the environment
// already loaded. A lookup naming an explicit path other than the loaded
// library is a *ConflictError; one without an explicit path takes what is
// loaded.
func Acquire(l ortlib.Lookup) (*Env, error) {
	envMu.Lock()
	defer envMu.Unlock()
	if envLoaded {
		if l.Path != "" && !samePath(l.Path, envLib.Path) {
			return nil, &ConflictError{Loaded: envLib.Path, Requested: l.Path}
		}
		return &Env{lib: envLib, version: envVer}, nil
	}
	c, err := l.Resolve()
	if err != nil {
		return nil, err
	}
	if onnx.IsInitialized() {
		// Someone else in this process (a test helper) initialised it directly.
		envLoaded, envLib, envVer = true, c, onnx.GetVersion()
		return &Env{lib: c, version: envVer}, nil
	}
	onnx.SetSharedLibraryPath(c.Path)
	// Fatal only: ONNX Runtime's own log lines (e.g. a missing CUDA provider)
	// must never reach the user unfiltered; failures come back as errors.
	if err := onnx.InitializeEnvironment(onnx.WithLogLevelFatal()); err != nil {
		if c.Source == ortlib.FromSystem {
			var tried []string
			for _, cand := range l.Candidates() {
				tried = append(tried, cand.Path)
			}
			return nil, &ortlib.NotFoundError{Tried: tried}
		}
		return nil, &LoadError{Library: c, Err: err}
	}
	v := onnx.GetVersion()
	if ortlib.CompareVersions(v, ortlib.MinVersion) < 0 {
		_ = onnx.DestroyEnvironment()
		return nil, &TooOldError{Library: c, Version: v}
	}
	envLoaded, envLib, envVer = true, c, v
	return &Env{lib: c, version: v}, nil
}

func samePath(a, b string) bool {
	ra, errA := filepath.EvalSymlinks(a)
	rb, errB := filepath.EvalSymlinks(b)
	if errA != nil || errB != nil {
		return filepath.Clean(a) == filepath.Clean(b)
	}
	return ra == rb
}

// Library is where the loaded library came from.
func (e *Env) Library() ortlib.Candidate { return e.lib }

// Version is the loaded ONNX Runtime's version.
func (e *Env) Version() string { return e.version }

// ErrNotInitialized is returned by session constructors called before Acquire.
var ErrNotInitialized = errors.New("ONNX Runtime is not initialised")
