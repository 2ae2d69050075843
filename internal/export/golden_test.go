package export

import (
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fashionclip/fashionclip/internal/index"
)

var update = flag.Bool("update", false, "rewrite testdata/golden-digests.txt")

// TestGoldenBytes pins the exact bytes every format writes, as SHA-256
// digests of each file: exports of two shards (with replaced rows, so
// tables have gaps) across row group and part boundaries, in every dtype,
// compression and PostgreSQL type. Readers that accept the files are
// tested elsewhere; this test is what keeps a faster writer from writing
// anything else.
func TestGoldenBytes(t *testing.T) {
	root := t.TempDir()
	var inputs = map[string][]string{}
	for _, dtype := range []string{index.DTypeFloat32, index.DTypeFloat16} {
		for shard := range 2 {
			dir := filepath.Join(root, "idx", dtype, string(rune('a'+shard)))
			buildIndex(t, dir, shard, 300, 24, dtype, 5)
			inputs[dtype] = append(inputs[dtype], dir)
		}
	}
	// One larger index, for the pages of the small columns (16384 rows
	// in parquet, parquet-go's page size for npy's metadata).
	big := filepath.Join(root, "idx", "big")
	buildIndex(t, big, 2, 40_000, 4, index.DTypeFloat32, 9)
	inputs["big"] = []string{big}
	cases := []struct {
		name string
		o    Options
	}{
		{"parquet", Options{Format: FormatParquet, RowGroupRows: 70, PartRows: 250}},
		{"parquet-default-groups", Options{Format: FormatParquet}},
		{"parquet-zstd", Options{Format: FormatParquet, Compression: CompressionZstd, RowGroupRows: 100}},
		{"parquet-none-f16", Options{Format: FormatParquet, Compression: CompressionNone, DType: index.DTypeFloat16, RowGroupRows: 64, PartRows: 128}},
		{"npy", Options{Format: FormatNpy, PartRows: 120}},
		{"npy-f16", Options{Format: FormatNpy, DType: index.DTypeFloat16}},
		{"jsonl", Options{Format: FormatJSONL}},
		{"jsonl-f16", Options{Format: FormatJSONL, DType: index.DTypeFloat16}},
		{"pgvector", Options{Format: FormatPgvector}},
		{"pgvector-halfvec", Options{Format: FormatPgvector, PGType: PGHalfvec, PGTable: "shop.items"}},
		{"pgvector-real", Options{Format: FormatPgvector, PGType: PGReal, DType: index.DTypeFloat16}},
	}
	var got strings.Builder
	for _, dtype := range []string{index.DTypeFloat32, index.DTypeFloat16, "big"} {
		for _, c := range cases {
			if dtype == "big" && !slices.Contains([]string{"parquet-default-groups", "parquet-zstd", "npy-f16", "jsonl"}, c.name) {
				continue // few files
			}
			name := dtype + "/" + c.name
			out := filepath.Join(root, "out", dtype, c.name)
			o := c.o
			o.Out, o.ToolVersion = out, "golden"
			if o.Format == FormatJSONL || o.Format == FormatPgvector {
				o.Out = out + ".txt"
			}
			if _, err := Export(context.Background(), inputs[dtype], o); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			err := filepath.WalkDir(filepath.Dir(out), func(path string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() || !strings.HasPrefix(path, out) {
					return err
				}
				b, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				rel, _ := filepath.Rel(filepath.Join(root, "out"), path)
				fmt.Fprintf(&got, "%x  %s\n", sha256.Sum256(b), filepath.ToSlash(rel))
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	golden := filepath.Join("testdata", "golden-digests.txt")
	if *update {
		if err := os.WriteFile(golden, []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if got.String() != string(want) {
		gl, wl := strings.Split(got.String(), "\n"), strings.Split(string(want), "\n")
		for i := range max(len(gl), len(wl)) {
			g, w := "", ""
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Errorf("written: %s\ngolden:  %s", g, w)
			}
		}
	}
}
