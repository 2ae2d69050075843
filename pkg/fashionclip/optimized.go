package fashionclip

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"golang.org/x/sys/cpu"

	"github.com/fashionclip/fashionclip/internal/graphcache"
	"github.com/fashionclip/fashionclip/internal/ort"
)

// A plain start parses the graph, copies ~600 MB of initializers and
// optimizes the graph, every time. The first CPU session over a tower
// therefore also saves ONNX Runtime's optimized graph in its own format
// into the graph cache; later starts map that file and let ONNX Runtime
// use its bytes in place (see ort.SessionOptions.Optimized). Optimized
// graphs depend on the runtime version and the CPU's instruction set
// (kernels and layouts are chosen for it), so both are in the key, with
// the recipe that made the tower.

// optimizedRecipe versions the optimized copies.
const optimizedRecipe = "ort-v1"

// newTowerSession creates the tower's session over the graph at path, from
// the optimized copy when there is one.
func (m *Model) newTowerSession(t *tower, path string) (*ort.Session, error) {
	outputs := []string{t.output}
	opts := m.sessionOptions()
	cache, key, source, ok := m.optimizedEntry(t.name)
	if !ok {
		return ort.NewSession(path, outputs, opts)
	}
	file := t.name + ".ort"
	if dir, _, found := cache.Lookup(key); found {
		o := opts
		o.Optimized = filepath.Join(dir, file)
		sess, err := ort.NewSession(path, outputs, o)
		var bad *ort.OptimizedError
		if !errors.As(err, &bad) {
			return sess, err
		}
		// Another build of the same version, or damage: made again below.
		m.log.Warn(fmt.Sprintf("%v; loading %s the plain way and saving a new copy", err, path))
		os.RemoveAll(dir)
	}
	t0 := time.Now()
	var sess *ort.Session
	dir, built, err := cache.Build(key, graphcache.Meta{Source: source, Recipe: optimizedRecipe},
		func(tmp string) error {
			o := opts
			o.SaveOptimized = filepath.Join(tmp, file)
			var err error
			sess, err = ort.NewSession(path, outputs, o)
			return err
		})
	switch {
	case sess != nil && err != nil:
		// The session works; only keeping its copy failed.
		m.log.Info(fmt.Sprintf("could not keep ONNX Runtime's optimized %s graph: %v", t.name, err))
		return sess, nil
	case sess != nil:
		if built {
			m.log.Info(fmt.Sprintf("prepared the %s graph once for fast starts: ONNX Runtime's optimized form saved in %.1fs (cached in %s)",
				t.name, time.Since(t0).Seconds(), filepath.Dir(dir)))
		}
		return sess, nil
	case err != nil:
		return nil, err
	}
	// Another process saved it first.
	o := opts
	o.Optimized = filepath.Join(dir, file)
	return ort.NewSession(path, outputs, o)
}

// optimizedEntry is the cache entry of the tower's optimized copy, keyed by
// the model file it comes from (so removing the model removes it), or ok
// false when there is none to use: another device, no cache, PlainLoad.
func (m *Model) optimizedEntry(tower string) (cache graphcache.Cache, key, source string, ok bool) {
	if m.opts.PlainLoad || (m.opts.Device != "" && m.opts.Device != CPU) {
		return cache, "", "", false
	}
	root, err := m.cacheRoot()
	if err != nil {
		return cache, "", "", false
	}
	source = m.layout.Combined
	if m.layout.Kind != Combined {
		source = m.layout.Text
		if tower == "vision" {
			source = m.layout.Vision
		}
	}
	src, err := graphcache.SourceKey(source)
	if err != nil {
		return cache, "", "", false
	}
	return graphcache.Cache{Root: root}, graphcache.Key(src, optimizedRecipe+"-"+m.optimizedFingerprint(tower)+"."+tower), source, true
}

// optimizedFingerprint names what an optimized copy is valid for: the
// runtime, the instruction set, and how the tower's graph was made.
func (m *Model) optimizedFingerprint(tower string) string {
	features := fmt.Sprintf("%+v", cpu.X86)
	if runtime.GOARCH == "arm64" {
		features = fmt.Sprintf("%+v", cpu.ARM64)
	}
	h := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s",
		m.rt.env.Version(), runtime.GOARCH, features, m.layout.Kind, ort.SplitRecipe, m.Variant(), m.Recipe(), tower))
	return hex.EncodeToString(h[:6])
}
