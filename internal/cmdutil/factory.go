// Package cmdutil is what fashionclip's commands share: the Factory of lazy
// dependencies and the global flags, exit codes and usage errors, the one
// table of fixes (remedy.go), the image-input flags and the image run that
// streams walked inputs through the model, and small rendering helpers.
package cmdutil

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sync"

	"github.com/fashionclip/fashionclip/internal/hub"
	"github.com/fashionclip/fashionclip/internal/iostreams"
	"github.com/fashionclip/fashionclip/pkg/fashionclip"
)

// DefaultModel is the Hub repository used when neither --model nor
// FASHIONCLIP_MODEL names one.
const DefaultModel = "patrickjohncyh/fashion-clip"

// EnvModel names the environment variable holding the default model.
const EnvModel = "FASHIONCLIP_MODEL"

// GlobalFlags are the flags every command takes. Root binds them; commands
// read them and never write them.
type GlobalFlags struct {
	Model   string
	Variant string
	Device  string
	Threads int
	ORTLib  string
	Offline bool
	Quiet   bool
}

// Factory hands commands what they share: the streams, the environment,
// the global flags and lazily built dependencies. Tests replace the fields.
type Factory struct {
	IO     *iostreams.IOStreams
	Getenv func(string) string
	Flags  *GlobalFlags

	// Runtime loads ONNX Runtime once, on first call.
	Runtime func() (*fashionclip.Runtime, error)
	// Hub is the Hub client configuration: the environment plus --offline.
	Hub func() hub.Config
	// Logger prints the library's warnings (always) and notes (unless --quiet) on stderr.
	Logger func() *slog.Logger
}

// NewFactory wires the real dependencies around the given streams and environment.
func NewFactory(io *iostreams.IOStreams, getenv func(string) string) *Factory {
	f := &Factory{IO: io, Getenv: getenv, Flags: &GlobalFlags{}}
	var rtOnce sync.Once
	var rt *fashionclip.Runtime
	var rtErr error
	f.Runtime = func() (*fashionclip.Runtime, error) {
		rtOnce.Do(func() {
			rt, rtErr = fashionclip.NewRuntime(fashionclip.RuntimeOptions{Library: f.Flags.ORTLib, Getenv: f.Getenv})
		})
		return rt, rtErr
	}
	f.Hub = func() hub.Config { return hub.NewConfig(f.Getenv, f.Flags.Offline) }
	f.Logger = func() *slog.Logger { return slog.New(&stderrHandler{f: f}) }
	return f
}

// ModelRef is --model, else $FASHIONCLIP_MODEL, else the default repo.
func (f *Factory) ModelRef() string {
	if f.Flags.Model != "" {
		return f.Flags.Model
	}
	if env := f.Getenv(EnvModel); env != "" {
		return env
	}
	return DefaultModel
}

// ModelOptions are the library options the global flags ask for; the
// flags were checked when parsed (see root's PersistentPreRunE).
func (f *Factory) ModelOptions() fashionclip.Options {
	v, _ := fashionclip.ParseVariant(f.Flags.Variant)
	d, _ := fashionclip.ParseDevice(f.Flags.Device)
	return fashionclip.Options{Variant: v, Device: d, Threads: f.Flags.Threads, Logger: f.Logger(),
		Hub: fashionclip.HubOptions{Offline: f.Hub().Offline, Getenv: f.Getenv, Progress: NewPullProgress(f, "")}}
}

// LoadModel loads ref (a folder or a repo id; "" is ModelRef) with the
// global flags' options, adjusted by tweak.
func (f *Factory) LoadModel(ctx context.Context, ref string, tweak func(*fashionclip.Options)) (*fashionclip.Model, error) {
	if ref == "" {
		ref = f.ModelRef()
	}
	rt, err := f.Runtime()
	if err != nil {
		return nil, err
	}
	opts := f.ModelOptions()
	if tweak != nil {
		tweak(&opts)
	}
	return rt.Load(ctx, ref, opts)
}

// ResolveModel finds the model's folder without ONNX Runtime (pulling it
// from the Hub when needed).
func (f *Factory) ResolveModel(ctx context.Context) (fashionclip.Source, error) {
	opts := f.ModelOptions()
	return fashionclip.Resolve(ctx, f.ModelRef(), opts.Variant, opts.Hub, opts.Logger)
}

// Warnf prints a note on stderr unless --quiet.
func (f *Factory) Warnf(format string, args ...any) {
	if f.Flags.Quiet {
		return
	}
	fmt.Fprintf(f.IO.ErrOut, "fashionclip: "+format+"\n", args...)
}

// Errorf prints a line on stderr even with --quiet (failed inputs, security notes).
func (f *Factory) Errorf(format string, args ...any) {
	fmt.Fprintf(f.IO.ErrOut, "fashionclip: "+format+"\n", args...)
}

// ThreadBudget is the total number of threads a run may use.
func (f *Factory) ThreadBudget() int {
	if f.Flags.Threads > 0 {
		return f.Flags.Threads
	}
	return runtime.NumCPU()
}

// stderrHandler prints library log records as "fashionclip: message":
// warnings always, marked (they are about results), notes unless --quiet.
type stderrHandler struct{ f *Factory }

func (h *stderrHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn || (l >= slog.LevelInfo && !h.f.Flags.Quiet)
}

func (h *stderrHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		h.f.Errorf("WARNING: %s", r.Message)
	} else {
		h.f.Errorf("%s", r.Message)
	}
	return nil
}

func (h *stderrHandler) WithAttrs(as []slog.Attr) slog.Handler { return h }

func (h *stderrHandler) WithGroup(string) slog.Handler { return h }
