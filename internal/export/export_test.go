package export

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fashionclip/fashionclip/internal/index"
	"github.com/fashionclip/fashionclip/internal/testutil"
)

var testModel = index.ModelInfo{Repo: "patrickjohncyh/fashion-clip", Revision: "abc", Graph: "sha256:feed"}

// testItem is the i-th item of a test index: mostly images, some with a
// sha256, every seventh a text, names with characters that need escaping.
func testItem(shard, i int) index.Item {
	if i%7 == 3 {
		return index.Item{Text: fmt.Sprintf("text %d/%d: \"quoted\"\ttab\\back", shard, i), IsText: true}
	}
	it := index.Item{Path: fmt.Sprintf("shop/s%d/été %04d.jpg", shard, i), Size: int64(1000 + i),
		MTime: time.Unix(1_700_000_000+int64(i), int64(i)*1001).UTC()}
	if i%3 == 0 {
		it.SHA256 = fmt.Sprintf("%064x", i)
	}
	return it
}

// buildIndex writes n items (over several commits, with some replaced so
// that tables have gaps) and returns the live vectors by key.
func buildIndex(t testing.TB, dir string, shard, n, dim int, dtype string, seed uint64) map[string][]float32 {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, uint64(shard)))
	w, err := index.OpenWriter(dir, index.Options{Model: testModel, DType: dtype, CommitEvery: 1 + n/3})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]float32{}
	add := func(it index.Item) {
		v := testutil.RandomUnitVector(rng, dim)
		if err := w.Add(it, v); err != nil {
			t.Fatal(err)
		}
		if dtype == index.DTypeFloat16 {
			for k := range v {
				v[k] = index.HalfToFloat32(index.Float32ToHalf(v[k]))
			}
		}
		want[it.Key()] = v
	}
	for i := range n {
		add(testItem(shard, i))
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i += 5 { // replaced: old rows become garbage
		if it := testItem(shard, i); !it.IsText {
			add(it)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return want
}

func TestExportRefusals(t *testing.T) {
	root := t.TempDir()
	a, b, c := filepath.Join(root, "a"), filepath.Join(root, "b"), filepath.Join(root, "c")
	buildIndex(t, a, 0, 20, 8, index.DTypeFloat32, 1)
	buildIndex(t, b, 0, 20, 8, index.DTypeFloat16, 2) // the same items as a
	w, err := index.OpenWriter(c, index.Options{Model: index.ModelInfo{Folder: "/other", Graph: "sha256:beef"}})
	if err != nil {
		t.Fatal(err)
	}
	w.Add(testItem(9, 1), []float32{1, 0, 0, 0, 0, 0, 0, 0})
	w.Close()
	d := filepath.Join(root, "d")
	buildIndex(t, d, 1, 5, 4, index.DTypeFloat32, 3)

	ctx := context.Background()
	out := filepath.Join(root, "out")
	var me *MismatchError
	if _, err := Export(ctx, []string{a, c}, Options{Format: FormatParquet, Out: out}); !asMismatch(err, &me) || me.What != "model" {
		t.Errorf("another model: %v", err)
	}
	if _, err := Export(ctx, []string{a, d}, Options{Format: FormatParquet, Out: out}); !asMismatch(err, &me) || me.What != "dimension" {
		t.Errorf("another dimension: %v", err)
	}
	_, err = Export(ctx, []string{a, b}, Options{Format: FormatParquet, Out: out})
	if de, ok := err.(*DuplicateError); !ok || de.Indexes != [2]string{a, b} {
		t.Errorf("overlapping shards: %v", err)
	}
	for _, o := range []Options{{Format: "csv"}, {Format: FormatParquet, DType: "int8"}, {Format: FormatPgvector, PGType: "json"},
		{Format: FormatParquet, Compression: "lzo"}} {
		o.Out = out
		if _, err := Export(ctx, []string{a}, o); !errors.As(err, new(*OptionError)) {
			t.Errorf("%+v: %v, want an OptionError", o, err)
		}
	}
	if _, err := Export(ctx, []string{a}, Options{Format: FormatParquet, Out: out}); err != nil {
		t.Fatal(err)
	}
	if _, err := Export(ctx, []string{a}, Options{Format: FormatParquet, Out: out}); err == nil {
		t.Error("an earlier export was overwritten without Force")
	}
	if _, err := Export(ctx, []string{a}, Options{Format: FormatParquet, Out: out, Force: true}); err != nil {
		t.Errorf("Force: %v", err)
	}
}

func asMismatch(err error, me **MismatchError) bool {
	e, ok := err.(*MismatchError)
	*me = e
	return ok
}

// mustOpen opens a file for parquet.OpenFile.
func mustOpen(t testing.TB, path string) (*os.File, int64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return f, st.Size()
}
