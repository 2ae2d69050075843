package index

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// The fuzz targets replace one file of a real small index (the manifest,
// a table or a chunk) with the fuzzer's bytes and run everything that
// reads an index on it: Open and Search, Each, Stat, Verify, OpenWriter
// with an Add (embed -o), Compact and Merge. Nothing may panic, hang or
// allocate without bound, and the readers must agree: an index Verify
// calls healthy opens, searches and takes writes, and no search returns
// an item twice.
//
// Seeds are made from fresh indexes here (f.Add) and committed under
// testdata/fuzz/FuzzName/ (regenerate with -update-fuzz-seeds); crashers
// found by fuzzing are committed there too.

var updateFuzzSeeds = flag.Bool("update-fuzz-seeds", false, "rewrite the committed seed corpora of the fuzz targets")

// fixtureKinds are the small indexes the seeds come from.
var fixtureKinds = []string{"float32", "float16", "version1", "empty"}

// makeFixture writes one of the small indexes into dir.
func makeFixture(t testing.TB, dir, kind string) {
	switch kind {
	case "float32":
		smallIndex(t, dir, DTypeFloat32)
	case "float16":
		smallIndex(t, dir, DTypeFloat16)
	case "version1":
		smallIndex(t, dir, DTypeFloat32)
		asVersion1(t, dir)
	case "empty":
		w, err := OpenWriter(dir, Options{Model: testModel})
		if err != nil {
			t.Fatal(err)
		}
		w.Close()
	}
}

// fuzzFixture is a template index whose files each fuzz input links into
// a fresh folder (a writer may delete or add files).
type fuzzFixture struct {
	dir string
	man *Manifest
}

func newFuzzFixture(f *testing.F) *fuzzFixture {
	dir := filepath.Join(f.TempDir(), "template")
	smallIndex(f, dir, DTypeFloat32)
	m, err := ReadManifest(dir)
	if err != nil {
		f.Fatal(err)
	}
	os.Remove(filepath.Join(dir, lockName))
	return &fuzzFixture{dir: dir, man: m}
}

// instance makes a fresh copy of the fixture (hard links) with file
// name replaced by data.
func (fx *fuzzFixture) instance(t *testing.T, name string, data []byte) string {
	dir := filepath.Join(t.TempDir(), "idx")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(fx.dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Name() == name {
			continue
		}
		if err := os.Link(filepath.Join(fx.dir, e.Name()), filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// exercise runs every reader and writer on dir and checks that they agree.
func exercise(t *testing.T, dir string) {
	if _, err := ReadManifest(dir); err != nil {
		return // refused up front; everything else reads it first
	}
	healthy := false
	if r, err := Verify(context.Background(), dir, true); err == nil {
		healthy = r.Healthy()
	}
	Stat(dir)
	var openErr error
	ix, err := Open(dir)
	if err == nil {
		dim := ix.Dim()
		if dim > 0 {
			hits, serr := ix.Search(vecFor("q", 1, dim), SearchOptions{K: 50})
			seen := map[string]bool{}
			for _, h := range hits {
				if seen[h.Item.Key()] {
					t.Errorf("%s is returned twice", h.Item.Key())
				}
				seen[h.Item.Key()] = true
			}
			openErr = serr
		}
		if err := ix.Each(func(Item, []float32) error { return nil }); openErr == nil {
			openErr = err
		}
		ix.Close()
	} else {
		openErr = err
	}
	if healthy && openErr != nil {
		t.Errorf("Verify calls the index healthy, but reading it fails: %v", openErr)
	}
	w, err := OpenWriter(dir, Options{Model: testModel})
	if healthy && err != nil {
		var me *MismatchError
		var ve *VariantMismatchError
		var de *DTypeMismatchError
		if !errors.As(err, &me) && !errors.As(err, &ve) && !errors.As(err, &de) {
			t.Errorf("Verify calls the index healthy, but OpenWriter fails: %v", err)
		}
	}
	if err == nil {
		if d := w.Manifest().Dim; d > 0 && d <= 64 {
			if err := w.Add(img("new/x.jpg", 1), vecFor("x", 1, d)); err != nil {
				t.Errorf("Add into an index OpenWriter accepted: %v", err)
			}
		}
		if err := w.Close(); err != nil {
			t.Errorf("commit into an index OpenWriter accepted: %v", err)
		}
	}
	Merge(filepath.Join(t.TempDir(), "merged"), []string{dir}, MergeOptions{})
	Compact(dir, CompactOptions{ChunkRows: 2})
}

// fixtureFiles returns the files of every fixture kind.
func fixtureFiles(t testing.TB) map[string]map[string][]byte {
	out := map[string]map[string][]byte{}
	for _, kind := range fixtureKinds {
		dir := filepath.Join(t.TempDir(), kind)
		makeFixture(t, dir, kind)
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		out[kind] = map[string][]byte{}
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			out[kind][e.Name()] = b
		}
	}
	return out
}

// seedsOf picks the files of a fuzz target's kind from the fixtures.
func seedsOf(files map[string]map[string][]byte, match func(name string) bool) [][]byte {
	var out [][]byte
	for _, kind := range fixtureKinds {
		for name, b := range files[kind] {
			if match(name) {
				out = append(out, b)
			}
		}
	}
	return out
}

var fuzzTargets = map[string]func(string) bool{
	"FuzzManifest": func(n string) bool { return n == manifestName },
	"FuzzTable":    tableName.MatchString,
	"FuzzChunk":    chunkName.MatchString,
}

func addSeeds(f *testing.F, target string) {
	for _, b := range seedsOf(fixtureFiles(f), fuzzTargets[target]) {
		f.Add(b)
	}
}

func FuzzManifest(f *testing.F) {
	fx := newFuzzFixture(f)
	addSeeds(f, "FuzzManifest")
	f.Fuzz(func(t *testing.T, data []byte) {
		exercise(t, fx.instance(t, manifestName, data))
	})
}

func FuzzTable(f *testing.F) {
	fx := newFuzzFixture(f)
	addSeeds(f, "FuzzTable")
	first := fx.man.Chunks[0]
	f.Fuzz(func(t *testing.T, data []byte) {
		// The decoders on their own, at the count the manifest expects
		// and at a few others.
		for _, want := range []int{first.Items, 0, 1, 1000} {
			p := first
			p.Items, p.Rows = want, max(want, p.Rows)
			readRowColumn(data, want)
			// The column reader must agree with the row reader.
			sameRows(t, data, p)
			decodeTable(data, want)
		}
		exercise(t, fx.instance(t, first.Table, data))
	})
}

func FuzzChunk(f *testing.F) {
	fx := newFuzzFixture(f)
	addSeeds(f, "FuzzChunk")
	first := fx.man.Chunks[0]
	f.Fuzz(func(t *testing.T, data []byte) {
		exercise(t, fx.instance(t, first.Chunk, data))
	})
}

// TestWriteFuzzSeeds rewrites the committed seed corpora from fresh
// fixtures when run with -update-fuzz-seeds; crashers found by fuzzing
// stay beside them.
func TestWriteFuzzSeeds(t *testing.T) {
	if !*updateFuzzSeeds {
		t.Skip("run with -update-fuzz-seeds to rewrite testdata/fuzz")
	}
	files := fixtureFiles(t)
	for target, match := range fuzzTargets {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, kind := range fixtureKinds {
			for name, b := range files[kind] {
				if !match(name) {
					continue
				}
				seed := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(b)))
				if err := os.WriteFile(filepath.Join(dir, "seed-"+kind+"-"+name), []byte(seed), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}
