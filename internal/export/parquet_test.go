package export

import (
	"context"
	"encoding/base64"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/fashionclip/fashionclip/internal/index"
)

// pqRow is what a Parquet reader should see in an exported file.
type pqRow struct {
	ID        string    `parquet:"id"`
	Path      *string   `parquet:"path,optional"`
	Kind      string    `parquet:"kind"`
	Text      *string   `parquet:"text,optional"`
	Size      *int64    `parquet:"size,optional"`
	MTime     *int64    `parquet:"mtime,optional,timestamp(microsecond)"`
	SHA256    *string   `parquet:"sha256,optional"`
	Embedding []float32 `parquet:"embedding,list"`
}

// exportShards builds two shard indexes and exports them.
func exportShards(t *testing.T, o Options, n, dim int, dtype string) (out string, want map[string][]float32, items map[string]index.Item) {
	t.Helper()
	root := t.TempDir()
	want, items = map[string][]float32{}, map[string]index.Item{}
	var inputs []string
	for shard := range 2 {
		dir := filepath.Join(root, "shard", string(rune('a'+shard)))
		for k, v := range buildIndex(t, dir, shard, n, dim, dtype, 11) {
			want[k] = v
		}
		for i := range n {
			it := testItem(shard, i)
			items[index.ItemID(it)] = it
		}
		inputs = append(inputs, dir)
	}
	out = filepath.Join(root, "out")
	if o.Out == "" {
		o.Out = out
	} else {
		out = o.Out
	}
	st, err := Export(context.Background(), inputs, o)
	if err != nil {
		t.Fatal(err)
	}
	if st.Items != len(want) {
		t.Fatalf("exported %d items, want %d", st.Items, len(want))
	}
	return out, want, items
}

// TestParquetRoundTrip reads the export back with parquet-go: every row,
// value for value, across several part files and row groups.
func TestParquetRoundTrip(t *testing.T) {
	for _, dtype := range []string{index.DTypeFloat32, index.DTypeFloat16} {
		t.Run(dtype, func(t *testing.T) {
			const n, dim = 90, 24
			out, want, items := exportShards(t, Options{Format: FormatParquet, PartRows: 70, RowGroupRows: 16, ToolVersion: "v9"}, n, dim, dtype)
			files, _ := filepath.Glob(filepath.Join(out, "part-*.parquet"))
			if len(files) != 3 {
				t.Fatalf("%d part files, want 3 (180 rows, 70 per part)", len(files))
			}
			sort.Strings(files)
			seen := 0
			for _, f := range files {
				rows, err := parquet.ReadFile[pqRow](f)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range rows {
					it, ok := items[r.ID]
					if !ok {
						t.Fatalf("unknown id %s", r.ID)
					}
					if got, w := r.Embedding, want[it.Key()]; !reflect.DeepEqual(got, w) {
						t.Fatalf("%s: embedding %v…, want %v…", r.ID, got[:3], w[:3])
					}
					checkRow(t, r, it)
					seen++
				}
				checkFileMetadata(t, f, dim, false)
			}
			if seen != len(want) {
				t.Errorf("%d rows, want %d", seen, len(want))
			}
		})
	}
}

func checkRow(t *testing.T, r pqRow, it index.Item) {
	t.Helper()
	str := func(p *string) string {
		if p == nil {
			return "<nil>"
		}
		return *p
	}
	if it.IsText {
		if r.Kind != "text" || str(r.Text) != it.Text || r.Path != nil || r.Size != nil || r.MTime != nil || r.SHA256 != nil {
			t.Errorf("text row %+v for %+v", r, it)
		}
		return
	}
	sha := "<nil>"
	if it.SHA256 != "" {
		sha = it.SHA256
	}
	if r.Kind != "image" || str(r.Path) != it.Path || r.Text != nil || r.Size == nil || *r.Size != it.Size ||
		r.MTime == nil || *r.MTime != it.MTime.UnixMicro() || str(r.SHA256) != sha {
		t.Errorf("image row %+v for %+v", r, it)
	}
}

func checkFileMetadata(t *testing.T, path string, dim int, half bool) {
	t.Helper()
	f, err := parquet.OpenFile(mustOpen(t, path))
	if err != nil {
		t.Fatal(err)
	}
	md := map[string]string{}
	for _, kv := range f.Metadata().KeyValueMetadata {
		md[kv.Key] = kv.Value
	}
	if md["fashionclip.model_name"] != testModel.String() || md["fashionclip.dtype"] == "" {
		t.Errorf("file metadata %v", md)
	}
	if md["ARROW:schema"] != parquetArrowSchema(dim, half) {
		t.Errorf("ARROW:schema differs")
	}
	if _, err := base64.StdEncoding.DecodeString(md["ARROW:schema"]); err != nil {
		t.Error(err)
	}
	if got := f.Metadata().CreatedBy; got != "fashionclip version v9" {
		t.Errorf("created_by %q", got)
	}
}

// TestParquetFloat16 exports half vectors: FLOAT16 elements, two bytes
// each, equal to the index's values rounded to half.
func TestParquetFloat16(t *testing.T) {
	const n, dim = 40, 16
	out, want, items := exportShards(t, Options{Format: FormatParquet, DType: index.DTypeFloat16, ToolVersion: "v9"}, n, dim, index.DTypeFloat32)
	type halfRow struct {
		ID        string    `parquet:"id"`
		Embedding [][2]byte `parquet:"embedding,list"`
	}
	f := filepath.Join(out, "part-00000.parquet")
	rows, err := parquet.ReadFile[halfRow](f)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(rows), len(want))
	}
	for _, r := range rows {
		w := want[items[r.ID].Key()]
		if len(r.Embedding) != dim {
			t.Fatalf("%d elements", len(r.Embedding))
		}
		for k, h := range r.Embedding {
			if got := index.HalfToFloat32(uint16(h[0]) | uint16(h[1])<<8); got != index.HalfToFloat32(index.Float32ToHalf(w[k])) {
				t.Fatalf("%s[%d] = %v, want %v", r.ID, k, got, w[k])
			}
		}
	}
	checkFileMetadata(t, f, dim, true)
	// parquet-go does not know the FLOAT16 annotation; the LanceDB test
	// (arrow-rs) reads it.
}
