package index

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// smallIndex writes an index of a few images and a text over two commits,
// with one replaced item, so it has two pairs and garbage.
func smallIndex(t testing.TB, dir, dtype string) {
	t.Helper()
	w, err := OpenWriter(dir, Options{Model: testModel, DType: dtype})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range []Item{img("shop/a.jpg", 1), img("shop/b.jpg", 1), txt("red dress")} {
		if err := w.Add(it, vecFor(it.Key(), it.Size, 8)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	for _, it := range []Item{img("shop/b.jpg", 2), img("shop/c.jpg", 1)} {
		if err := w.Add(it, vecFor(it.Key(), it.Size, 8)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// editManifest rewrites dir's manifest through fn (as a generic JSON
// object, so that any field can be set to anything).
func editManifest(t testing.TB, dir string, fn func(m map[string]any)) {
	t.Helper()
	path := filepath.Join(dir, manifestName)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	fn(m)
	if b, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func chunks(m map[string]any) []any { return m["chunks"].([]any) }
func pairAt(m map[string]any, i int) map[string]any {
	return chunks(m)[i].(map[string]any)
}

// pairFile is a file name of the i-th manifest entry ("chunk" or "table").
func pairFile(t testing.TB, dir string, i int, kind string) string {
	t.Helper()
	m, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if kind == "chunk" {
		return m.Chunks[i].Chunk
	}
	return m.Chunks[i].Table
}

// Damage an index in one way each; every reader and writer must refuse it
// with an error naming the damaged file, and never panic.
var damages = []struct {
	name string
	// damage returns the file (name inside the index) the error must name.
	damage func(t *testing.T, dir string) string
	// shallow: found without reading every byte (Stat, OpenWriter, Open).
	shallow bool
	want    string
}{
	{"missing chunk", func(t *testing.T, dir string) string {
		f := pairFile(t, dir, 0, "chunk")
		os.Remove(filepath.Join(dir, f))
		return f
	}, true, "missing"},
	{"truncated chunk", func(t *testing.T, dir string) string {
		f := pairFile(t, dir, 1, "chunk")
		p := filepath.Join(dir, f)
		fi, _ := os.Stat(p)
		os.Truncate(p, fi.Size()-5)
		return f
	}, true, "truncated"},
	{"chunk of another dimension", func(t *testing.T, dir string) string {
		f := pairFile(t, dir, 0, "chunk")
		if _, err := writeChunk(filepath.Join(dir, f), DTypeFloat32, 4, make([]float32, 4*3)); err != nil {
			t.Fatal(err)
		}
		return f
	}, true, "4 dimensions"},
	{"chunk replaced by a folder", func(t *testing.T, dir string) string {
		f := pairFile(t, dir, 0, "chunk")
		os.Remove(filepath.Join(dir, f))
		os.Mkdir(filepath.Join(dir, f), 0o755)
		return f
	}, true, "not a regular file"},
	{"table replaced by a FIFO", func(t *testing.T, dir string) string {
		f := pairFile(t, dir, 0, "table")
		os.Remove(filepath.Join(dir, f))
		if err := syscall.Mkfifo(filepath.Join(dir, f), 0o644); err != nil {
			t.Skip(err)
		}
		return f
	}, true, "not a regular file"},
	{"missing table", func(t *testing.T, dir string) string {
		f := pairFile(t, dir, 1, "table")
		os.Remove(filepath.Join(dir, f))
		return f
	}, true, "missing"},
	{"table of another chunk", func(t *testing.T, dir string) string {
		a, b := pairFile(t, dir, 0, "table"), pairFile(t, dir, 1, "table")
		data, _ := os.ReadFile(filepath.Join(dir, b))
		os.WriteFile(filepath.Join(dir, a), data, 0o644)
		return a
	}, true, "names chunk"},
	{"garbage table", func(t *testing.T, dir string) string {
		f := pairFile(t, dir, 0, "table")
		os.WriteFile(filepath.Join(dir, f), []byte("PAR1 this is not a table at all PAR1"), 0o644)
		return f
	}, true, "Parquet"},
	{"a flipped bit in a chunk", func(t *testing.T, dir string) string {
		f := pairFile(t, dir, 1, "chunk")
		flipByte(t, filepath.Join(dir, f), -3)
		return f
	}, false, "SHA-256"},
}

func flipByte(t *testing.T, path string, at int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if at < 0 {
		at += len(b)
	}
	b[at] ^= 0x10
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDamagedIndexes(t *testing.T) {
	for _, d := range damages {
		t.Run(d.name, func(t *testing.T) {
			dir := t.TempDir()
			smallIndex(t, dir, "")
			file := d.damage(t, dir)
			path := filepath.Join(dir, file)
			mentions := func(what string, err error) {
				t.Helper()
				if err == nil {
					t.Errorf("%s: no error", what)
					return
				}
				if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), d.want) {
					t.Errorf("%s: %q does not name %s with %q", what, err, path, d.want)
				}
				var ce *CorruptError
				if !errors.As(err, &ce) {
					t.Errorf("%s: %T is not a *CorruptError", what, err)
				}
			}

			r, err := Verify(context.Background(), dir, true)
			if err != nil {
				t.Fatal(err)
			}
			if r.Healthy() {
				t.Fatal("deep verification found nothing")
			}
			found := false
			for _, p := range r.Problems {
				found = found || (p.File == path && strings.Contains(p.Problem, d.want))
			}
			if !found {
				t.Errorf("deep verification: %v does not report %s with %q", r.Problems, path, d.want)
			}
			shallow, err := Verify(context.Background(), dir, false)
			if err != nil {
				t.Fatal(err)
			}
			info, err := Stat(dir)
			if err != nil {
				t.Fatalf("Stat failed instead of listing the problem: %v", err)
			}
			if !d.shallow {
				if !shallow.Healthy() || len(info.Problems) != 0 {
					t.Errorf("shallow checks should not see it: %v, %v", shallow.Problems, info.Problems)
				}
				return
			}
			if shallow.Healthy() {
				t.Error("shallow verification found nothing")
			}
			if len(info.Problems) == 0 {
				t.Error("Stat reports the index as healthy")
			}
			ix, err := Open(dir)
			if err == nil {
				_, err = ix.Search(vecFor("q", 0, 8), SearchOptions{K: 10})
				if err == nil {
					err = ix.Each(func(Item, []float32) error { return nil })
				}
				ix.Close()
			}
			mentions("Open", err)
			w, err := OpenWriter(dir, Options{Model: testModel})
			if err == nil {
				w.Close()
			}
			mentions("OpenWriter", err)
			_, err = Compact(dir, CompactOptions{})
			mentions("Compact", err)
			_, err = Merge(filepath.Join(t.TempDir(), "out"), []string{dir}, MergeOptions{})
			mentions("Merge", err)
		})
	}
}

func TestVerifyHealthy(t *testing.T) {
	for _, dtype := range []string{DTypeFloat32, DTypeFloat16} {
		t.Run(dtype, func(t *testing.T) {
			dir := t.TempDir()
			smallIndex(t, dir, dtype)
			for _, deep := range []bool{false, true} {
				r, err := Verify(context.Background(), dir, deep)
				if err != nil || !r.Healthy() {
					t.Fatalf("deep=%v: %v %v", deep, r.Problems, err)
				}
				if r.Items != 4 || r.Chunks != 2 || r.Version != FormatVersion {
					t.Errorf("report %+v", r)
				}
				if wantHashed := map[bool]int{false: 0, true: 4}[deep]; r.Hashed != wantHashed || r.Scanned != 0 {
					t.Errorf("deep=%v: %d files hashed, %d scanned; want %d, 0", deep, r.Hashed, r.Scanned, wantHashed)
				}
			}
			info, err := Stat(dir)
			if err != nil || len(info.Problems) != 0 {
				t.Errorf("Stat: %v %v", info.Problems, err)
			}
		})
	}
	if _, err := Verify(context.Background(), t.TempDir(), false); !errors.Is(err, ErrNotIndex) {
		t.Errorf("an empty folder: %v", err)
	}
}

// asVersion1 turns an index into what fashionclip wrote before version 2:
// no root, no variant, no hashes.
func asVersion1(t testing.TB, dir string) {
	editManifest(t, dir, func(m map[string]any) {
		m["version"] = 1
		delete(m, "root")
		delete(m["model"].(map[string]any), "variant")
		for i := range chunks(m) {
			delete(pairAt(m, i), "sha256")
			delete(pairAt(m, i), "table_sha256")
		}
	})
}

// overwriteRow writes vec over row r of a float32 chunk in place.
func overwriteRow(t *testing.T, path string, r, dim int, vec []float32) {
	t.Helper()
	editVectors(t, path, func(data []byte) {
		for i, v := range vec {
			binary.LittleEndian.PutUint32(data[(r*dim+i)*4:], math.Float32bits(v))
		}
	})
}

// editVectors lets edit change the data of a chunk (the bytes after its
// header) in place.
func editVectors(t *testing.T, path string, edit func(data []byte)) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h, err := parseNpyHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	edit(b[h.dataOffset:])
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Indexes written before hashes were recorded are deep-checked vector by
// vector: every live row finite and of unit norm. Garbage rows do not count.
func TestVerifyVersion1Vectors(t *testing.T) {
	nan := float32(math.NaN())
	tests := []struct {
		name string
		row  int // in the first chunk: 0 a.jpg, 1 b.jpg (garbage: replaced), 2 red dress
		vec  []float32
		want string
	}{
		{"healthy", -1, nil, ""},
		{"NaN in a live row", 0, []float32{nan, 0, 0, 0, 0, 0, 0, 0}, "row 0 is not finite"},
		{"infinity in a live row", 2, []float32{float32(math.Inf(1)), 0, 0, 0, 0, 0, 0, 0}, "row 2 is not finite"},
		{"not a unit vector", 0, []float32{0.5, 0, 0, 0, 0, 0, 0, 0}, "row 0 has norm 0.5"},
		{"a garbage row is not checked", 1, []float32{nan, 0, 0, 0, 0, 0, 0, 0}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			smallIndex(t, dir, DTypeFloat32)
			asVersion1(t, dir)
			chunk := filepath.Join(dir, pairFile(t, dir, 0, "chunk"))
			if tt.row >= 0 {
				overwriteRow(t, chunk, tt.row, 8, tt.vec)
			}
			r, err := Verify(context.Background(), dir, true)
			if err != nil {
				t.Fatal(err)
			}
			if r.Scanned != 2 || r.Hashed != 0 {
				t.Errorf("%d chunks scanned, %d files hashed; want 2, 0", r.Scanned, r.Hashed)
			}
			if tt.want == "" {
				if !r.Healthy() {
					t.Errorf("problems: %v", r.Problems)
				}
				return
			}
			if len(r.Problems) != 1 || r.Problems[0].File != chunk || !strings.Contains(r.Problems[0].Problem, tt.want) {
				t.Errorf("problems %v, want %s: %s", r.Problems, chunk, tt.want)
			}
			if shallow, _ := Verify(context.Background(), dir, false); !shallow.Healthy() {
				t.Errorf("shallow verification reads vectors: %v", shallow.Problems)
			}
		})
	}
}

// liveTwice makes the second table hold shop/a.jpg (instead of c.jpg),
// which the first holds too.
func liveTwice(t *testing.T, dir string) {
	m, _ := ReadManifest(dir)
	p := m.Chunks[1]
	rows, err := readTable(dir, p)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		if *rows[i].Path == "shop/c.jpg" {
			a := "shop/a.jpg"
			rows[i].Path = &a
		}
	}
	sha, err := writeTable(filepath.Join(dir, p.Table), rows)
	if err != nil {
		t.Fatal(err)
	}
	editManifest(t, dir, func(m map[string]any) { pairAt(m, 1)["table_sha256"] = sha })
}

// A search of such an index still shows each item once (the better row).
func TestSearchNeverRepeatsAnItem(t *testing.T) {
	dir := t.TempDir()
	smallIndex(t, dir, "")
	liveTwice(t, dir)
	ix, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	q := vecFor(PathKey("shop/c.jpg"), 1, 8) // c's vector, now labelled a.jpg
	hits, err := ix.Search(q, SearchOptions{K: 10})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, h := range hits {
		if seen[h.Item.Key()] {
			t.Errorf("%s twice", h.Item.Key())
		}
		seen[h.Item.Key()] = true
	}
	if len(hits) != 3 || hits[0].Item.Path != "shop/a.jpg" || hits[0].Score < 0.999 {
		t.Errorf("hits %v", hits)
	}
}

// Inconsistencies between tables and the manifest that no single file shows.
func TestVerifyCrossChecks(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, dir string)
		file   string // "manifest" or the entry index's table
		want   string
	}{
		{"an item live in two tables", liveTwice, "table 1", "shop/a.jpg is also live in"},
		{"next_file below a file in use", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m map[string]any) { m["next_file"] = 1 })
		}, "manifest", "would reuse its number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			smallIndex(t, dir, "")
			tt.damage(t, dir)
			want := filepath.Join(dir, manifestName)
			if tt.file != "manifest" {
				want = filepath.Join(dir, pairFile(t, dir, 1, "table"))
			}
			r, err := Verify(context.Background(), dir, false)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Problems) == 0 || r.Problems[0].File != want || !strings.Contains(r.Problems[0].Problem, tt.want) {
				t.Errorf("problems %v, want %s: %s", r.Problems, want, tt.want)
			}
		})
	}
	t.Run("a writer heals next_file", func(t *testing.T) {
		dir := t.TempDir()
		smallIndex(t, dir, "")
		before := contents(t, dir)
		editManifest(t, dir, func(m map[string]any) { m["next_file"] = 0 })
		w := openW(t, dir, Options{})
		for i := range 5 {
			it := img(fmt.Sprintf("new/%d.jpg", i), 1)
			w.Add(it, vecFor(it.Key(), 1, 8))
			if err := w.Commit(); err != nil {
				t.Fatal(err)
			}
		}
		mustClose(t, w)
		after := contents(t, dir)
		for k, e := range before {
			if a, ok := after[k]; !ok || !slices.Equal(a.vec, e.vec) {
				t.Errorf("%s was overwritten", k)
			}
		}
		if r, _ := Verify(context.Background(), dir, true); !r.Healthy() {
			t.Errorf("problems: %v", r.Problems)
		}
	})
}

// A cancelled verification ends with the context's error, not a report of
// problems it did not find.
func TestVerifyCancelled(t *testing.T) {
	dir := t.TempDir()
	smallIndex(t, dir, DTypeFloat32)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, deep := range []bool{false, true} {
		if r, err := Verify(ctx, dir, deep); !errors.Is(err, context.Canceled) || len(r.Problems) != 0 {
			t.Errorf("deep %v: %v, problems %v", deep, err, r.Problems)
		}
	}
	// The hashing every long read goes through stops between blocks.
	r := strings.NewReader(strings.Repeat("x", 3<<20))
	if _, err := hashSHA256(ctx, r); !errors.Is(err, context.Canceled) || r.Len() != 3<<20 {
		t.Errorf("hashing after the cancel: %v, %d bytes left unread", err, r.Len())
	}
}
