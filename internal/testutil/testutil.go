// Package testutil holds helpers shared by the project's tests.
package testutil

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// ModuleRoot returns the folder holding go.mod, found by walking up from the
// test's working directory (Go runs tests inside their package folder).
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's folder")
		}
		dir = parent
	}
}

// SharedDir returns the read-only ../shared kit beside the project, or skips
// the test with a clear message when it is absent (a user's clone).
func SharedDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(filepath.Dir(ModuleRoot(t)), "shared")
	if _, err := os.Stat(filepath.Join(dir, "reference")); err != nil {
		t.Skipf("reference kit not found at %s: parity test skipped (it runs in the project's CI)", dir)
	}
	return dir
}

// ReferenceDir returns ../shared/reference (see SharedDir).
func ReferenceDir(t testing.TB) string {
	t.Helper()
	return filepath.Join(SharedDir(t), "reference")
}

// ORTLibrary makes sure FASHIONCLIP_ORT_LIB points at an ONNX Runtime
// library: the one already named, else the one `make ort` fetched into
// third_party/. It skips the test when there is none.
func ORTLibrary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("FASHIONCLIP_ORT_LIB"); p != "" {
		return p
	}
	matches, _ := filepath.Glob(filepath.Join(ModuleRoot(t), "third_party", "onnxruntime", "*", "libonnxruntime.so.1"))
	if len(matches) == 0 {
		t.Skip("ONNX Runtime library not found: run `make ort` (or set FASHIONCLIP_ORT_LIB) to run this test")
	}
	p := matches[len(matches)-1]
	os.Setenv("FASHIONCLIP_ORT_LIB", p) // process-wide on purpose: ONNX Runtime loads once per process
	return p
}

// Cosine is the cosine similarity of two vectors, summed in float64.
func Cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb)
}

// ReferenceEmbeddings is expected/embeddings.json of the reference kit.
type ReferenceEmbeddings struct {
	Texts  map[string][]float32 `json:"texts"`
	Images map[string][]float32 `json:"images"` // keyed by file name in images/
}

// LoadReferenceEmbeddings reads the kit's expected embeddings (skipping the
// test when the kit is absent).
func LoadReferenceEmbeddings(t testing.TB) ReferenceEmbeddings {
	t.Helper()
	var e ReferenceEmbeddings
	b, err := os.ReadFile(filepath.Join(ReferenceDir(t), "expected", "embeddings.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return e
}
