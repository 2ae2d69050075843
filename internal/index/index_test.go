package index

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/fashionclip/fashionclip/internal/source"
)

var testModel = ModelInfo{Repo: "test/tiny", Revision: "r1", Graph: "sha256:1111"}

// vecFor is the deterministic unit vector of a key at a version, so that
// any process can tell what a row should hold.
func vecFor(key string, ver int64, dim int) []float32 {
	h := fnv.New64a()
	h.Write([]byte(key))
	rng := rand.New(rand.NewPCG(h.Sum64(), uint64(ver)))
	v := make([]float32, dim)
	var s float64
	for i := range v {
		v[i] = float32(rng.NormFloat64())
		s += float64(v[i]) * float64(v[i])
	}
	inv := 1 / math.Sqrt(s)
	for i := range v {
		v[i] = float32(float64(v[i]) * inv)
	}
	return v
}

// img is an image item whose size is its version.
func img(path string, ver int64) Item {
	return Item{Path: path, Size: ver, MTime: time.Unix(1_700_000_000, ver*1000+7).UTC()}
}

func txt(s string) Item { return Item{Text: s, IsText: true} }

type entry struct {
	it  Item
	vec []float32
}

// contents reads every live item, failing on a key that is live twice.
func contents(t *testing.T, dir string) map[string]entry {
	t.Helper()
	ix, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	out := map[string]entry{}
	err = ix.Each(func(it Item, vec []float32) error {
		if _, dup := out[it.Key()]; dup {
			return fmt.Errorf("%q is live twice", it.Key())
		}
		out[it.Key()] = entry{it, slices.Clone(vec)}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != ix.Len() {
		t.Fatalf("Each gave %d items, the manifest says %d", len(out), ix.Len())
	}
	return out
}

func openW(t *testing.T, dir string, o Options) *Writer {
	t.Helper()
	if o.Model == (ModelInfo{}) {
		o.Model = testModel
	}
	w, err := OpenWriter(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func mustClose(t *testing.T, w *Writer) {
	t.Helper()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// onlyCommittedFiles checks that nothing but the manifest's files is left.
func onlyCommittedFiles(t *testing.T, dir string) {
	t.Helper()
	m, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{manifestName: true, lockName: true}
	for _, p := range m.Chunks {
		want[p.Chunk], want[p.Table] = true, true
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if !want[e.Name()] {
			t.Errorf("stray file %s", e.Name())
		}
	}
}

func TestWriterIncremental(t *testing.T) {
	const dim = 24
	type op struct {
		add    Item
		remove string
	}
	steps := []struct {
		name    string
		ops     []op
		want    map[string]int64 // key → version (0 for texts)
		garbage int
	}{
		{"first run", []op{{add: img("a.jpg", 1)}, {add: img("b.jpg", 1)}, {add: img("c.jpg", 1)}, {add: txt("red dress")}},
			map[string]int64{"a.jpg": 1, "b.jpg": 1, "c.jpg": 1, "red dress": 0}, 0},
		{"change b, delete c, add d", []op{{add: img("b.jpg", 2)}, {remove: PathKey("c.jpg")}, {add: img("d.jpg", 1)}},
			map[string]int64{"a.jpg": 1, "b.jpg": 2, "d.jpg": 1, "red dress": 0}, 2},
		{"added then removed before commit leaves no trace", []op{{add: img("e.jpg", 1)}, {remove: PathKey("e.jpg")}},
			map[string]int64{"a.jpg": 1, "b.jpg": 2, "d.jpg": 1, "red dress": 0}, 2},
		{"changed twice in one run keeps the last", []op{{add: img("a.jpg", 2)}, {add: img("a.jpg", 3)}},
			map[string]int64{"a.jpg": 3, "b.jpg": 2, "d.jpg": 1, "red dress": 0}, 3},
		{"remove every row of the first chunk", []op{{remove: PathKey("a.jpg")}, {remove: TextKey("red dress")}},
			map[string]int64{"b.jpg": 2, "d.jpg": 1}, 0}, // emptied chunks leave, garbage and all
		{"nothing to do", nil, map[string]int64{"b.jpg": 2, "d.jpg": 1}, 0},
	}
	dir := t.TempDir()
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			w := openW(t, dir, Options{CommitEvery: 100})
			for _, o := range st.ops {
				if o.remove != "" {
					w.Remove(o.remove)
					continue
				}
				if err := w.Add(o.add, vecFor(o.add.Key(), o.add.Size, dim)); err != nil {
					t.Fatal(err)
				}
			}
			mustClose(t, w)
			got := contents(t, dir)
			if len(got) != len(st.want) {
				t.Errorf("%d items, want %d: %v", len(got), len(st.want), got)
			}
			for name, ver := range st.want {
				k := PathKey(name)
				if ver == 0 {
					k = TextKey(name)
				}
				e, ok := got[k]
				if !ok {
					t.Errorf("%s missing", name)
					continue
				}
				if e.it.Size != ver || !slices.Equal(e.vec, vecFor(k, ver, dim)) {
					t.Errorf("%s: version %d, want %d (or its vector is wrong)", name, e.it.Size, ver)
				}
				if ver != 0 && !e.it.MTime.Equal(img(name, ver).MTime) {
					t.Errorf("%s: mtime %v", name, e.it.MTime)
				}
			}
			m, _ := ReadManifest(dir)
			if m.Garbage() != st.garbage {
				t.Errorf("garbage %d, want %d", m.Garbage(), st.garbage)
			}
			onlyCommittedFiles(t, dir)
		})
	}
}

func TestWriterCommitsEveryN(t *testing.T) {
	dir := t.TempDir()
	w := openW(t, dir, Options{CommitEvery: 3})
	defer w.Close()
	for i := range 7 {
		it := img(fmt.Sprintf("%d.jpg", i), 1)
		if err := w.Add(it, vecFor(it.Key(), 1, 8)); err != nil {
			t.Fatal(err)
		}
	}
	m, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Items() != 6 || len(m.Chunks) != 2 || w.Pending() != 1 {
		t.Errorf("before close: %d committed items in %d chunks, %d pending; want 6, 2, 1", m.Items(), len(m.Chunks), w.Pending())
	}
	if it, ok := w.Lookup(PathKey("4.jpg")); !ok || it.Size != 1 {
		t.Errorf("Lookup(4.jpg) = %v, %v", it, ok)
	}
	if _, ok := w.Lookup(PathKey("6.jpg")); ok {
		t.Error("an uncommitted item is visible to Lookup")
	}
}

func TestUnchangedRunCommitsNothing(t *testing.T) {
	dir := t.TempDir()
	pre := []byte(`{"shortest_edge": 224, "mean": [0.5, 0.5, 0.5]}`)
	w := openW(t, dir, Options{Preprocess: pre, ToolVersion: "v1"})
	w.Add(img("a", 1), vecFor("a", 1, 8))
	mustClose(t, w)
	m0, _ := ReadManifest(dir)
	mustClose(t, openW(t, dir, Options{Preprocess: []byte(`{"shortest_edge":224,"mean":[0.5,0.5,0.5]}`), ToolVersion: "v1"}))
	if m, _ := ReadManifest(dir); m.Generation != m0.Generation {
		t.Errorf("a run without changes made generation %d from %d", m.Generation, m0.Generation)
	}
	mustClose(t, openW(t, dir, Options{Preprocess: []byte(`{"shortest_edge":256}`), ToolVersion: "v2"}))
	m, _ := ReadManifest(dir)
	if m.Generation != m0.Generation+1 || m.ToolVersion != "v2" || !sameJSON(m.Preprocess, []byte(`{"shortest_edge":256}`)) {
		t.Errorf("new preprocessing and version were not recorded: %+v", m)
	}
}

func TestWriterRefusals(t *testing.T) {
	other := ModelInfo{Repo: "someone/else", Graph: "sha256:2222"}
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		opts  Options
		want  []string
	}{
		{"another model", func(t *testing.T, dir string) { mustClose(t, openW(t, dir, Options{})) },
			Options{Model: other}, []string{"test/tiny@r1", "sha256:1111", "someone/else", "sha256:2222"}},
		{"another dtype", func(t *testing.T, dir string) { mustClose(t, openW(t, dir, Options{})) },
			Options{Model: testModel, DType: DTypeFloat16}, []string{"holds float32 vectors, not float16"}},
		{"a folder with other files", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "holiday.jpg"), []byte("x"), 0o644)
		}, Options{Model: testModel}, []string{"not empty", "holiday.jpg"}},
		{"a second writer", func(t *testing.T, dir string) {
			w := openW(t, dir, Options{})
			t.Cleanup(func() { w.Close() })
		}, Options{Model: testModel}, []string{"being written by another process"}},
		{"a bad dtype", func(*testing.T, string) {}, Options{Model: testModel, DType: "int8"}, []string{"unknown dtype"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.setup(t, dir)
			w, err := OpenWriter(dir, tt.opts)
			if err == nil {
				w.Close()
				t.Fatal("no error")
			}
			for _, s := range tt.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, lockName)); tt.name == "a folder with other files" && err == nil {
				t.Error("the refused folder got a lock file")
			}
		})
	}
	t.Run("mismatch is typed", func(t *testing.T) {
		dir := t.TempDir()
		mustClose(t, openW(t, dir, Options{}))
		_, err := OpenWriter(dir, Options{Model: other})
		var me *MismatchError
		if !errors.As(err, &me) || me.IndexHas != testModel || me.Requested != other {
			t.Errorf("got %#v", err)
		}
	})
	t.Run("dtype mismatch is typed and names no flag", func(t *testing.T) {
		dir := t.TempDir()
		mustClose(t, openW(t, dir, Options{}))
		_, err := OpenWriter(dir, Options{Model: testModel, DType: DTypeFloat16})
		var de *DTypeMismatchError
		if !errors.As(err, &de) || de.Has != DTypeFloat32 || de.Want != DTypeFloat16 || strings.Contains(err.Error(), "--") {
			t.Errorf("got %#v (%v)", err, err)
		}
	})
	t.Run("dimension change", func(t *testing.T) {
		dir := t.TempDir()
		w := openW(t, dir, Options{})
		defer w.Close()
		w.Add(img("a", 1), vecFor("a", 1, 8))
		if err := w.Add(img("b", 1), vecFor("b", 1, 9)); err == nil || !strings.Contains(err.Error(), "9 dimensions") {
			t.Errorf("got %v", err)
		}
	})
}

func TestOpenCleansGarbage(t *testing.T) {
	dir := t.TempDir()
	w := openW(t, dir, Options{})
	w.Add(img("a", 1), vecFor("a", 1, 8))
	mustClose(t, w)
	// What a killed run leaves: a chunk and table never committed and a
	// half-written manifest.
	for _, f := range []string{"emb-00042.npy", "items-00042.parquet", manifestTemp} {
		os.WriteFile(filepath.Join(dir, f), []byte("partial"), 0o644)
	}
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644)
	if got := contents(t, dir); len(got) != 1 {
		t.Fatalf("reader sees %d items", len(got))
	}
	mustClose(t, openW(t, dir, Options{}))
	for _, f := range []string{"emb-00042.npy", "items-00042.parquet", manifestTemp} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("%s survived", f)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "notes.txt")); err != nil {
		t.Error("a file that is not the index's was removed")
	}
}

// bruteForce ranks every live item by float64 dot product.
func bruteForce(all map[string]entry, q []float32, k int, minScore *float64) []Hit {
	var hits []Hit
	for _, e := range all {
		s := dot64(q, e.vec)
		if minScore != nil && s < *minScore {
			continue
		}
		hits = append(hits, Hit{Item: e.it, Score: s})
	}
	sort.Slice(hits, func(a, b int) bool { return hits[a].Score > hits[b].Score })
	if len(hits) > k {
		hits = hits[:k]
	}
	return hits
}

// buildRandom writes n items over several commits, then changes and removes
// some so that the index has garbage and partly live chunks.
func buildRandom(t testing.TB, dir, dtype string, n, dim int, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	w, err := OpenWriter(dir, Options{Model: testModel, DType: dtype, CommitEvery: 1 + n/5})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		var it Item
		if i%10 == 3 {
			it = txt(fmt.Sprintf("text %d", i))
		} else {
			it = img(fmt.Sprintf("img/%04d.jpg", i), 1)
		}
		if err := w.Add(it, vecFor(it.Key(), 1, dim)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n / 4 {
		j := rng.IntN(n)
		it := img(fmt.Sprintf("img/%04d.jpg", j), int64(2+i))
		if i%3 == 0 {
			w.Remove(it.Key())
			continue
		}
		if err := w.Add(it, vecFor(it.Key(), it.Size, dim)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestSearchMatchesBruteForce(t *testing.T) {
	minScore := 0.1
	tests := []struct {
		name     string
		dtype    string
		n, dim   int
		k        int
		minScore *float64
		workers  int
	}{
		{"float32 simd width", DTypeFloat32, 3000, 64, 10, nil, 0},
		{"float32 odd width uses the portable kernel", DTypeFloat32, 2000, 37, 5, nil, 3},
		{"float16", DTypeFloat16, 3000, 64, 10, nil, 0},
		{"float16 odd width", DTypeFloat16, 1500, 19, 7, nil, 2},
		{"k above the item count", DTypeFloat32, 50, 32, 500, nil, 0},
		{"min score", DTypeFloat32, 3000, 16, 1000, &minScore, 0},
		{"one worker", DTypeFloat32, 20000, 32, 25, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			buildRandom(t, dir, tt.dtype, tt.n, tt.dim, uint64(tt.n))
			all := contents(t, dir)
			ix, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer ix.Close()
			if m := ix.Manifest(); m.Garbage() == 0 {
				t.Fatal("the fixture should have garbage rows")
			}
			for qi := range 5 {
				q := vecFor("query", int64(qi), tt.dim)
				o := SearchOptions{K: tt.k, Workers: tt.workers}
				if tt.minScore != nil {
					o.MinScore, o.HasMinScore = *tt.minScore, true
				}
				got, err := ix.Search(q, o)
				if err != nil {
					t.Fatal(err)
				}
				want := bruteForce(all, q, tt.k, tt.minScore)
				if len(got) != len(want) {
					t.Fatalf("query %d: %d hits, want %d", qi, len(got), len(want))
				}
				for i := range want {
					if got[i].Item.Key() != want[i].Item.Key() || got[i].Score != want[i].Score {
						t.Errorf("query %d hit %d: %q %.9f, want %q %.9f", qi, i,
							got[i].Item.Key(), got[i].Score, want[i].Item.Key(), want[i].Score)
					}
				}
			}
		})
	}
}

func TestSearchErrors(t *testing.T) {
	dir := t.TempDir()
	mustClose(t, openW(t, dir, Options{}))
	ix, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if hits, err := ix.Search(vecFor("q", 0, 8), SearchOptions{K: 3}); err != nil || len(hits) != 0 {
		t.Errorf("empty index: %v, %v", hits, err)
	}
	ix.Close()
	buildRandom(t, dir, "", 20, 8, 1)
	ix, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if _, err := ix.Search(vecFor("q", 0, 9), SearchOptions{K: 3}); err == nil {
		t.Error("a query of the wrong dimension was accepted")
	}
	if _, err := ix.Search(vecFor("q", 0, 8), SearchOptions{K: 0}); err == nil {
		t.Error("k = 0 was accepted")
	}
}

func TestKernelsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for _, dim := range []int{1, 7, 16, 32, 48, 512, 768} {
		for _, n := range []int{1, 2, 3, 17} {
			q := make([]float32, dim)
			rows := make([]float32, dim*n)
			halves := make([]uint16, dim*n)
			for i := range q {
				q[i] = float32(rng.NormFloat64())
			}
			for i := range rows {
				halves[i] = toHalf(float32(rng.NormFloat64()))
				rows[i] = fromHalf(halves[i])
			}
			got32, got16, ref := make([]float32, n), make([]float32, n), make([]float32, n)
			dotsF32(q, rows, dim, got32)
			dotsF16(q, halves, dim, got16)
			dotsF32Go(q, rows, dim, ref)
			for i := range n {
				exact := dot64(q, rows[i*dim:(i+1)*dim])
				tol := 1e-5 * float64(dim)
				for name, v := range map[string]float32{"f32": got32[i], "f16": got16[i], "go": ref[i]} {
					if math.Abs(float64(v)-exact) > tol {
						t.Errorf("dim %d row %d: %s kernel %g, exact %g", dim, i, name, v, exact)
					}
				}
			}
		}
	}
}

func TestFloat16RoundTrip(t *testing.T) {
	const dim = 48
	dir := t.TempDir()
	w := openW(t, dir, Options{DType: DTypeFloat16})
	var items []Item
	for i := range 300 {
		it := img(fmt.Sprintf("%03d.png", i), 1)
		items = append(items, it)
		if err := w.Add(it, vecFor(it.Key(), 1, dim)); err != nil {
			t.Fatal(err)
		}
	}
	mustClose(t, w)
	got := contents(t, dir)
	for _, it := range items {
		want := vecFor(it.Key(), 1, dim)
		for i, v := range got[it.Key()].vec {
			if v != fromHalf(toHalf(want[i])) || math.Abs(float64(v-want[i])) > 1e-3 {
				t.Fatalf("%s[%d] = %g, stored from %g", it.Path, i, v, want[i])
			}
		}
	}
	// The chunk is half the size of a float32 one.
	m, _ := ReadManifest(dir)
	fi, err := os.Stat(filepath.Join(dir, m.Chunks[0].Chunk))
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(len(npyHeader(DTypeFloat16, 300, dim)) + 300*dim*2); fi.Size() != want {
		t.Errorf("chunk is %d bytes, want %d", fi.Size(), want)
	}
	ix, _ := Open(dir)
	defer ix.Close()
	hits, err := ix.Search(vecFor(items[42].Key(), 1, dim), SearchOptions{K: 1})
	if err != nil || len(hits) != 1 || hits[0].Item.Path != items[42].Path || math.Abs(hits[0].Score-1) > 1e-3 {
		t.Errorf("searching for an item's own vector: %v %v", hits, err)
	}
}

func TestShardsMergeToOneShot(t *testing.T) {
	const n, dim, shards = 400, 32, 3
	items := make([]Item, n)
	for i := range items {
		items[i] = img(fmt.Sprintf("cat/%d/%05d.jpg", i%7, i), 1)
	}
	write := func(dir string, keep func(Item) bool) {
		w := openW(t, dir, Options{CommitEvery: 64})
		for _, it := range items {
			if keep(it) {
				if err := w.Add(it, vecFor(it.Key(), 1, dim)); err != nil {
					t.Fatal(err)
				}
			}
		}
		mustClose(t, w)
	}
	root := t.TempDir()
	oneShot := filepath.Join(root, "all")
	write(oneShot, func(Item) bool { return true })
	var parts []string
	for k := range shards {
		dir := filepath.Join(root, fmt.Sprintf("shard-%d", k))
		sh := source.Shard{Index: k, Of: shards}
		write(dir, func(it Item) bool { return sh.Keeps(it.Path) })
		parts = append(parts, dir)
	}
	merged := filepath.Join(root, "merged")
	st, err := Merge(merged, parts, MergeOptions{CommitEvery: 100})
	if err != nil {
		t.Fatal(err)
	}
	if st.Items != n || st.Duplicates != 0 {
		t.Errorf("merge stats %+v", st)
	}
	want, got := contents(t, oneShot), contents(t, merged)
	if len(got) != len(want) {
		t.Fatalf("merged %d items, one-shot %d", len(got), len(want))
	}
	for k, e := range want {
		g, ok := got[k]
		if !ok || !slices.Equal(g.vec, e.vec) || g.it.Size != e.it.Size || !g.it.MTime.Equal(e.it.MTime) {
			t.Errorf("%s differs after merge", k)
		}
	}
	for k := range shards {
		if n := len(contents(t, parts[k])); n == 0 || n == len(want) {
			t.Errorf("shard %d holds %d items: the split is not a split", k, n)
		}
	}

	t.Run("overlapping inputs keep one row", func(t *testing.T) {
		out := filepath.Join(root, "twice")
		st, err := Merge(out, []string{parts[0], parts[0], parts[1]}, MergeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		one := len(contents(t, parts[0]))
		if st.Duplicates != one || len(contents(t, out)) != one+len(contents(t, parts[1])) {
			t.Errorf("stats %+v", st)
		}
	})
	t.Run("another model is refused", func(t *testing.T) {
		odd := filepath.Join(root, "odd")
		w := openW(t, odd, Options{Model: ModelInfo{Folder: "/models/other", Graph: "sha256:3333"}})
		w.Add(img("x", 1), vecFor("x", 1, dim))
		mustClose(t, w)
		_, err := Merge(filepath.Join(root, "bad"), []string{parts[0], odd}, MergeOptions{})
		var me *MismatchError
		if !errors.As(err, &me) || !strings.Contains(err.Error(), "/models/other") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("output among the inputs is refused", func(t *testing.T) {
		if _, err := Merge(parts[0], parts, MergeOptions{}); err == nil {
			t.Error("no error")
		}
	})
}

func TestCompact(t *testing.T) {
	tests := []struct {
		name      string
		dtype     string
		chunkRows int
	}{
		{"same dtype", "", 100},
		{"to float16", DTypeFloat16, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const n, dim = 700, 16
			dir := t.TempDir()
			buildRandom(t, dir, DTypeFloat32, n, dim, 9)
			before := contents(t, dir)
			m0, _ := ReadManifest(dir)
			if m0.Garbage() == 0 {
				t.Fatal("fixture has no garbage")
			}
			st, err := Compact(dir, CompactOptions{DType: tt.dtype, ChunkRows: tt.chunkRows})
			if err != nil {
				t.Fatal(err)
			}
			m, _ := ReadManifest(dir)
			if m.Garbage() != 0 || st.GarbageBefore != m0.Garbage() || st.Items != len(before) {
				t.Errorf("after compact: garbage %d, stats %+v", m.Garbage(), st)
			}
			if wantChunks := (len(before) + tt.chunkRows - 1) / tt.chunkRows; len(m.Chunks) != wantChunks {
				t.Errorf("%d chunks, want %d", len(m.Chunks), wantChunks)
			}
			wantType := tt.dtype
			if wantType == "" {
				wantType = DTypeFloat32
			}
			if m.DType != wantType {
				t.Errorf("dtype %s", m.DType)
			}
			after := contents(t, dir)
			if len(after) != len(before) {
				t.Fatalf("%d items after compact, %d before", len(after), len(before))
			}
			for k, e := range before {
				a := after[k]
				for i := range e.vec {
					want := e.vec[i]
					if wantType == DTypeFloat16 {
						want = fromHalf(toHalf(want))
					}
					if a.vec[i] != want {
						t.Fatalf("%s changed in compaction", k)
					}
				}
			}
			onlyCommittedFiles(t, dir)
		})
	}
}

func TestStat(t *testing.T) {
	dir := t.TempDir()
	w := openW(t, dir, Options{})
	for _, it := range []Item{img("a", 1), img("b", 1), txt("x")} {
		w.Add(it, vecFor(it.Key(), 1, 8))
	}
	w.Commit()
	w.Add(img("a", 2), vecFor("a", 2, 8))
	mustClose(t, w)
	info, err := Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if info.Items != 3 || info.Texts != 1 || info.Garbage != 1 || info.GarbageBytes != 8*4 || info.Bytes == 0 {
		t.Errorf("%+v", info)
	}
	if _, err := Stat(t.TempDir()); !errors.Is(err, ErrNotIndex) {
		t.Errorf("an empty folder: %v", err)
	}
}

// Readers open whatever is committed while a writer keeps committing,
// replacing tables and deleting the old ones: each opened Index is a
// consistent snapshot, searchable to the end even when its files are gone.
func TestReadersDuringWrites(t *testing.T) {
	const n, dim = 60, 16
	dir := t.TempDir()
	w := openW(t, dir, Options{CommitEvery: 7})
	for i := range n {
		it := img(fmt.Sprintf("%02d", i), 1)
		w.Add(it, vecFor(it.Key(), 1, dim))
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() {
		rng := rand.New(rand.NewPCG(3, 3))
		for round := range 60 {
			for range 5 {
				it := img(fmt.Sprintf("%02d", rng.IntN(n)), int64(2+round))
				if err := w.Add(it, vecFor(it.Key(), it.Size, dim)); err != nil {
					done <- err
					return
				}
			}
			if err := w.Commit(); err != nil {
				done <- err
				return
			}
		}
		done <- w.Close()
	}()
	opened, finished := 0, false
	defer func() {
		if !finished {
			<-done // a failed check must not leave the writer running over TempDir's cleanup
		}
	}()
	for {
		select {
		case err := <-done:
			finished = true
			if err != nil {
				t.Fatal(err)
			}
			if opened < 5 {
				t.Errorf("only %d snapshots were opened while writing", opened)
			}
			return
		default:
		}
		ix, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		opened++
		time.Sleep(time.Millisecond) // let the writer delete files under us
		hits, err := ix.Search(vecFor("q", int64(opened), dim), SearchOptions{K: n})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, h := range hits {
			if seen[h.Item.Path] || dot64(vecFor(h.Item.Key(), h.Item.Size, dim), vecFor("q", int64(opened), dim)) != h.Score {
				t.Fatalf("snapshot %d: %s twice or with another version's vector", opened, h.Item.Path)
			}
			seen[h.Item.Path] = true
		}
		if len(hits) != n {
			t.Fatalf("snapshot %d has %d items, want %d", opened, len(hits), n)
		}
		ix.Close()
	}
}
