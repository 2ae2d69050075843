package index

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// useIndex runs every operation on an index that reads it, recovering
// panics so that one failure does not hide the others. It returns the
// errors by operation.
func useIndex(t *testing.T, dir string) map[string]error {
	t.Helper()
	errs := map[string]error{}
	run := func(name string, fn func() error) {
		defer func() {
			if r := recover(); r != nil {
				t.Errorf("%s panicked: %v", name, r)
			}
		}()
		errs[name] = fn()
	}
	run("Open+Search", func() error {
		ix, err := Open(dir)
		if err != nil {
			return err
		}
		defer ix.Close()
		if _, err := ix.Search(vecFor("q", 0, 8), SearchOptions{K: 100}); err != nil {
			return err
		}
		return ix.Each(func(Item, []float32) error { return nil })
	})
	run("Stat", func() error {
		info, err := Stat(dir)
		if err == nil && len(info.Problems) > 0 {
			err = errors.New(info.Problems[0].String())
		}
		return err
	})
	run("Verify", func() error {
		r, err := Verify(context.Background(), dir, true)
		if err == nil && !r.Healthy() {
			err = errors.New(r.Problems[0].String())
		}
		return err
	})
	run("OpenWriter", func() error {
		w, err := OpenWriter(dir, Options{Model: testModel})
		if err != nil {
			return err
		}
		return w.Close()
	})
	run("Merge", func() error {
		_, err := Merge(filepath.Join(t.TempDir(), "out"), []string{dir}, MergeOptions{})
		return err
	})
	run("Compact", func() error { _, err := Compact(dir, CompactOptions{}); return err })
	return errs
}

func TestHostileManifests(t *testing.T) {
	big := func(v any) func(m map[string]any) {
		return func(m map[string]any) { pairAt(m, 0)["rows"], pairAt(m, 0)["items"] = v, v }
	}
	tests := []struct {
		name string
		edit func(m map[string]any)
		want string
	}{
		{"rows 2^63-1", big(int64(math.MaxInt64)), "out of range"},
		{"rows 1e15", big(1e15), "rows"},
		{"rows 2^40 (in range, but not the chunk's)", big(int64(1) << 40), "rows, the manifest says"},
		{"rows beyond the chunk", big(1000), "1000"},
		{"items above rows", func(m map[string]any) { pairAt(m, 0)["items"] = 99 }, "99 items in"},
		{"negative items", func(m map[string]any) { pairAt(m, 0)["items"] = -1 }, "-1 items"},
		{"a duplicated entry", func(m map[string]any) { m["chunks"] = append(chunks(m), chunks(m)[0]) }, "listed twice"},
		{"two entries sharing a table", func(m map[string]any) { pairAt(m, 1)["table"] = pairAt(m, 0)["table"] }, "listed twice"},
		{"dimension 2^62", func(m map[string]any) { m["dim"] = int64(1) << 62 }, "dimension"},
		{"negative dimension", func(m map[string]any) { m["dim"] = -8 }, "dimension"},
		{"no dimension", func(m map[string]any) { m["dim"] = 0 }, "no dimension"},
		{"a huge file number", func(m map[string]any) { pairAt(m, 0)["chunk"] = "emb-99999999999999999999999.npy" }, "out of range"},
		{"a path outside the folder", func(m map[string]any) { pairAt(m, 0)["chunk"] = "../emb-00000.npy" }, "bad file names"},
		{"a bad hash", func(m map[string]any) { pairAt(m, 0)["sha256"] = "xyz" }, "bad sha256"},
		{"no root in version 2", func(m map[string]any) { delete(m, "root") }, "no root"},
		{"a newer format", func(m map[string]any) { m["version"] = 99 }, "newer"},
		{"not JSON numbers", func(m map[string]any) { m["dim"] = "eight" }, "dim"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			smallIndex(t, dir, "")
			editManifest(t, dir, tt.edit)
			for op, err := range useIndex(t, dir) {
				if err == nil {
					t.Errorf("%s accepted the manifest", op)
					continue
				}
				// The refusal names the manifest, or (when the manifest is
				// fine but does not match the files) the file it disagrees with.
				if !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("%s: %q does not name the index file with %q", op, err, tt.want)
				}
			}
		})
	}
}

func TestManifestNotARegularFile(t *testing.T) {
	tests := []struct {
		name string
		make func(path string) error
	}{
		{"a FIFO", func(p string) error { return syscall.Mkfifo(p, 0o644) }},
		{"a link to /dev/zero", func(p string) error { return os.Symlink("/dev/zero", p) }},
		{"a folder", func(p string) error { return os.Mkdir(p, 0o755) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			smallIndex(t, dir, "")
			path := filepath.Join(dir, manifestName)
			os.Remove(path)
			if err := tt.make(path); err != nil {
				t.Skip(err)
			}
			_, err := ReadManifest(dir)
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "not a regular file") {
				t.Errorf("got %v", err)
			}
		})
	}
	t.Run("oversized", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, manifestName)
		f, _ := os.Create(path)
		f.Truncate(maxManifestBytes + 1) // sparse
		f.Close()
		if _, err := ReadManifest(dir); err == nil || !strings.Contains(err.Error(), "allowed") {
			t.Errorf("got %v", err)
		}
	})
}

func TestAddRefusesNonFinite(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(-1))
	tests := []struct {
		name  string
		dtype string
		it    Item
		vec   []float32
		want  []string
	}{
		{"NaN image", "", img("shop/a.jpg", 1), []float32{0, nan, 0, 1}, []string{"shop/a.jpg", "value 1", "not finite"}},
		{"infinite text", "", txt("red dress"), []float32{inf, 0, 0, 0}, []string{`text "red dress"`, "value 0", "not finite"}},
		{"beyond float16", DTypeFloat16, img("b.jpg", 1), []float32{0, 0, 7e4, 0}, []string{"b.jpg", "out of the range of float16"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			w := openW(t, dir, Options{DType: tt.dtype})
			err := w.Add(tt.it, tt.vec)
			var ve *VectorError
			if !errors.As(err, &ve) {
				t.Fatalf("got %v", err)
			}
			for _, s := range tt.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("%q does not say %q", err, s)
				}
			}
			if w.Pending() != 0 {
				t.Error("the refused vector is pending")
			}
			mustClose(t, w)
			if m, _ := ReadManifest(dir); m.Dim != 0 {
				t.Errorf("a refused vector fixed the dimension to %d", m.Dim)
			}
		})
	}
}

// A chunk whose live row holds a NaN or an infinity (damaged on disk;
// writers refuse such vectors) never yields a non-finite score or vector:
// a search skips the row, everything that hands vectors out refuses the
// chunk by name, and compact does not launder it into a freshly hashed one.
func TestNonFiniteRows(t *testing.T) {
	tests := []struct {
		name, dtype string
		bits        uint32 // the value written over component 2 of row 0 (shop/a.jpg)
	}{
		{"float32 NaN", DTypeFloat32, math.Float32bits(float32(math.NaN()))},
		{"float32 infinity", DTypeFloat32, math.Float32bits(float32(math.Inf(1)))},
		{"float16 NaN", DTypeFloat16, 0x7e00},
		{"float16 infinity", DTypeFloat16, 0xfc00},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			smallIndex(t, dir, tt.dtype)
			chunk := filepath.Join(dir, pairFile(t, dir, 0, "chunk"))
			editVectors(t, chunk, func(data []byte) {
				if tt.dtype == DTypeFloat32 {
					binary.LittleEndian.PutUint32(data[2*4:], tt.bits)
				} else {
					binary.LittleEndian.PutUint16(data[2*2:], uint16(tt.bits))
				}
			})
			before, _ := ReadManifest(dir)
			refused := func(what string, err error) {
				t.Helper()
				var ce *CorruptError
				if !errors.As(err, &ce) || ce.File != chunk || !strings.Contains(err.Error(), "row 0 is not finite") {
					t.Errorf("%s: %v, want a *CorruptError naming %s row 0", what, err, chunk)
				}
			}

			ix, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer ix.Close()
			for _, q := range []string{"shop/a.jpg", "q"} {
				hits, err := ix.Search(vecFor(PathKey(q), 1, 8), SearchOptions{K: 10})
				if err != nil {
					t.Fatal(err)
				}
				if len(hits) != ix.Len()-1 {
					t.Errorf("%d hits for %d items of which one is damaged", len(hits), ix.Len())
				}
				for _, hit := range hits {
					if math.IsNaN(hit.Score) || math.IsInf(hit.Score, 0) || hit.Item.Path == "shop/a.jpg" {
						t.Errorf("hit %s scores %v", hit.Item.Path, hit.Score)
					}
				}
			}
			refused("Each", ix.Each(func(Item, []float32) error { return nil }))
			refused("EachBatch", ix.EachBatch(BatchOptions{}, func(*Batch) error { return nil }))
			if err := ix.EachBatch(BatchOptions{SkipVectors: true}, func(*Batch) error { return nil }); err != nil {
				t.Errorf("EachBatch without vectors: %v", err)
			}
			_, err = ix.Vector(Ref{0, 0}, nil)
			refused("Vector", err)
			_, _, err = ix.VectorBytes([]Ref{{0, 0}, {0, 1}}, tt.dtype, nil)
			refused("VectorBytes", err)
			if _, err := ix.Vector(Ref{0, 2}, nil); err != nil {
				t.Errorf("a sound row of the same chunk: %v", err)
			}

			_, err = Compact(dir, CompactOptions{})
			refused("Compact", err)
			if after, _ := ReadManifest(dir); after.Generation != before.Generation {
				t.Error("a refused compaction committed")
			}
			_, err = Merge(filepath.Join(t.TempDir(), "out"), []string{dir}, MergeOptions{})
			refused("Merge", err)
			if r, err := Verify(context.Background(), dir, true); err != nil || r.Healthy() {
				t.Errorf("deep verification: %v %v", err, r.Problems)
			}
		})
	}
}
