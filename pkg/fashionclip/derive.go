package fashionclip

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"golang.org/x/sys/cpu"

	"github.com/fashionclip/fashionclip/internal/graphcache"
	"github.com/fashionclip/fashionclip/internal/hub"
	"github.com/fashionclip/fashionclip/internal/onnxgraph"
	"github.com/fashionclip/fashionclip/internal/ortlib"
)

// int8Options is the recipe of the int8 towers the library derives from
// fp32 ones: int8 weights with one scale per output column, activations
// quantized to uint8 on every run, standard ONNX operators (see
// onnxgraph.Int8Options for the trade-offs). Weights are full range where
// the CPU multiplies uint8 by int8 into 32-bit sums, and 7-bit on the x86
// CPUs whose kernels add pairs of products in 16 bits, which full-range
// weights can saturate (ReduceRange).
var int8Options = onnxgraph.Int8Options{ReduceRange: needsReduceRange(runtime.GOARCH, hostHasInt8Dot())}

// needsReduceRange says whether int8 weights must stay within 7 bits on
// this architecture: on amd64 without integer dot-product instructions
// ONNX Runtime's u8×s8 kernel sums pairs of products in 16 bits. Arm's
// kernels widen before adding.
func needsReduceRange(arch string, hasInt8Dot bool) bool {
	return arch == "amd64" && !hasInt8Dot
}

// hostHasInt8Dot reports the x86 instructions that multiply uint8 by int8
// into 32-bit sums: AVX-512 VNNI, AVX-VNNI or AMX.
func hostHasInt8Dot() bool {
	return cpu.X86.HasAVX512VNNI || cpu.X86.HasAVXVNNI || cpu.X86.HasAMXInt8
}

// Int8Recipe names the derivation of int8 towers; indexes record it with
// the variant, so vectors of another recipe are not mixed in.
func Int8Recipe() string { return int8Options.Recipe() }

// Recipe is the derivation the model's graphs went through: Int8Recipe for
// int8 towers quantized from fp32 ones, "" for graphs used as shipped.
func (m *Model) Recipe() string {
	if m.layout.From != "" {
		return Int8Recipe()
	}
	return ""
}

// Int8Facts is what a derivation records about itself.
type Int8Facts struct {
	Quantized, Float      int   // MatMul/Gemm/Conv nodes rewritten and left float
	FloatBytes, Int8Bytes int64 // weights replaced, and what replaces them
}

// deriveInt8 quantizes the fp32 graph at path into out (see
// onnxgraph.QuantizeInt8 with the library's recipe, Int8Recipe). out is
// written beside its final name and renamed in.
func deriveInt8(path, out string) (Int8Facts, error) {
	g, err := onnxgraph.ReadFile(path)
	if err != nil {
		return Int8Facts{}, fmt.Errorf("read %s: %w", path, err)
	}
	q, rep, err := g.QuantizeInt8(int8Options)
	if err != nil {
		return Int8Facts{}, fmt.Errorf("quantize %s: %w", path, err)
	}
	if err := q.WriteFile(out); err != nil {
		return Int8Facts{}, err
	}
	return Int8Facts{Quantized: len(rep.Quantized), Float: len(rep.Float), FloatBytes: rep.FloatBytes, Int8Bytes: rep.Int8Bytes}, nil
}

func (m *Model) cacheRoot() (string, error) {
	if m.opts.CacheDir != "" {
		return m.opts.CacheDir, nil
	}
	return ortlib.GraphCacheDir(m.rt.getenv)
}

// derivedTower returns the int8 form of a tower's fp32 graph at path,
// deriving it into the graph cache on first use. The entry is keyed by the
// model file the tower comes from (the combined graph, or the tower's own
// file), so a changed source gets a new entry and removing the model
// removes it.
func (m *Model) derivedTower(tower, path string) (string, error) {
	source := path
	if m.layout.Kind == Combined {
		source = m.layout.Combined
	}
	root, err := m.cacheRoot()
	if err != nil {
		return "", err
	}
	src, err := graphcache.SourceKey(source)
	if err != nil {
		return "", fmt.Errorf("derive int8 %s graph: %w", tower, err)
	}
	name := tower + ".onnx"
	recipe := Int8Recipe()
	t0 := time.Now()
	var facts Int8Facts
	dir, built, err := graphcache.Cache{Root: root}.Build(graphcache.Key(src, recipe+"."+tower), graphcache.Meta{Source: source, Recipe: recipe},
		func(tmp string) error {
			var err error
			facts, err = deriveInt8(path, filepath.Join(tmp, name))
			if err != nil {
				return err
			}
			b, _ := json.Marshal(facts)
			return os.WriteFile(filepath.Join(tmp, "facts.json"), b, 0o644)
		})
	if err != nil {
		return "", fmt.Errorf("derive int8 %s graph from %s: %w", tower, source, err)
	}
	if built {
		m.log.Info(fmt.Sprintf("prepared the int8 %s graph once: quantized %s in %.1fs, %d of %d weight products, %s -> %s (cached in %s)",
			tower, source, time.Since(t0).Seconds(), facts.Quantized, facts.Quantized+facts.Float,
			hub.FormatBytes(facts.FloatBytes), hub.FormatBytes(facts.Int8Bytes), root))
	}
	return filepath.Join(dir, name), nil
}
