package cli

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"runtime"

	"github.com/fashionclip/fashionclip/internal/iostreams"
	"github.com/fashionclip/fashionclip/pkg/fashionclip"
)

// DefaultModel is the Hub repository used when neither --model nor
// FASHIONCLIP_MODEL names one.
const DefaultModel = "patrickjohncyh/fashion-clip"

// EnvModel names the environment variable holding the default model.
const EnvModel = "FASHIONCLIP_MODEL"

// Factory carries what commands share: streams, global flags and the way a
// --model value becomes a loaded model. Tests replace parts of it.
type Factory struct {
	IO *iostreams.IOStreams
	// Getenv reads the environment (tests substitute a map).
	Getenv func(string) string

	// Global flags.
	ModelRef string
	Variant  string
	Device   string
	Threads  int
	ORTLib   string
	Offline  bool

	// FetchModel turns a Hub repo id into a local folder, pulling it when
	// needed. Nil means Hub access is unavailable in this build.
	FetchModel func(ctx context.Context, f *Factory, repo string) (string, error)
}

var repoIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*(@[^\s]+)?$`)

// IsRepoID reports whether ref looks like owner/name[@revision].
func IsRepoID(ref string) bool { return repoIDPattern.MatchString(ref) }

// ModelRefOrDefault is --model, else $FASHIONCLIP_MODEL, else the default repo.
func (f *Factory) ModelRefOrDefault() string {
	if f.ModelRef != "" {
		return f.ModelRef
	}
	if env := f.Getenv(EnvModel); env != "" {
		return env
	}
	return DefaultModel
}

// ResolveModel turns the model reference into a local folder. An existing
// path always wins over a repo id of the same spelling.
func (f *Factory) ResolveModel(ctx context.Context) (string, error) {
	ref := f.ModelRefOrDefault()
	if _, err := os.Stat(ref); err == nil {
		return ref, nil
	}
	if !IsRepoID(ref) {
		return "", fmt.Errorf("model %q is neither an existing folder nor a Hub repo id (owner/name[@revision])", ref)
	}
	if f.FetchModel == nil {
		return "", fmt.Errorf("model %q is not a local folder and this build cannot download from the Hub; pass --model DIR", ref)
	}
	return f.FetchModel(ctx, f, ref)
}

// ModelOptions are the library options the global flags ask for.
func (f *Factory) ModelOptions() fashionclip.Options {
	return fashionclip.Options{Variant: fashionclip.Variant(f.Variant), Device: f.Device, Threads: f.Threads, ORTLibrary: f.ORTLib}
}

// LoadModel resolves and loads the model with extra options applied by the caller.
func (f *Factory) LoadModel(ctx context.Context, tweak func(*fashionclip.Options)) (*fashionclip.Model, error) {
	dir, err := f.ResolveModel(ctx)
	if err != nil {
		return nil, err
	}
	opts := f.ModelOptions()
	if tweak != nil {
		tweak(&opts)
	}
	m, err := fashionclip.Load(dir, opts)
	if err != nil {
		return nil, err
	}
	for _, w := range m.Warnings() {
		f.Warnf("%s", w)
	}
	if c, ok := m.Config(); ok && c.Synthetic {
		// Printed even with --quiet: nobody should mistake these scores for real ones.
		fmt.Fprintf(f.IO.ErrOut, "fashionclip: WARNING: %s is a SYNTHETIC model with random weights: its scores and labels mean nothing\n", dir)
	}
	return m, nil
}

// Warnf prints a note on stderr unless --quiet.
func (f *Factory) Warnf(format string, args ...any) {
	if f.IO.Quiet {
		return
	}
	fmt.Fprintf(f.IO.ErrOut, "fashionclip: "+format+"\n", args...)
}

// ThreadBudget is the total number of threads a run may use.
func (f *Factory) ThreadBudget() int {
	if f.Threads > 0 {
		return f.Threads
	}
	return runtime.NumCPU()
}
