package export

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/fashionclip/fashionclip/internal/index"
	"github.com/fashionclip/fashionclip/pkg/npy"
)

// TestJSONL: one object per item with exactly the documented fields, the
// vector values read back as the same float32s.
func TestJSONL(t *testing.T) {
	for _, dt := range []string{index.DTypeFloat32, index.DTypeFloat16} {
		var buf bytes.Buffer
		_, want, items := exportShards(t, Options{Format: FormatJSONL, Out: "-", W: &buf, DType: dt}, 50, 12, index.DTypeFloat32)
		sc := bufio.NewScanner(&buf)
		sc.Buffer(nil, 1<<20)
		n := 0
		for sc.Scan() {
			var rec map[string]json.RawMessage
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				t.Fatalf("%s: %v", sc.Text(), err)
			}
			var r struct {
				ID        string    `json:"id"`
				Kind      string    `json:"kind"`
				Path      *string   `json:"path"`
				Text      *string   `json:"text"`
				Size      *int64    `json:"size"`
				MTime     *string   `json:"mtime"`
				SHA256    *string   `json:"sha256"`
				Embedding []float32 `json:"embedding"`
			}
			json.Unmarshal(sc.Bytes(), &r)
			it := items[r.ID]
			row := pqRow{ID: r.ID, Kind: r.Kind, Path: r.Path, Text: r.Text, Size: r.Size, SHA256: r.SHA256}
			if r.MTime != nil {
				tm, err := time.Parse(time.RFC3339Nano, *r.MTime)
				if err != nil {
					t.Fatal(err)
				}
				us := tm.UnixMicro()
				row.MTime = &us
			}
			checkRow(t, row, it)
			wantFields := 4 // id, kind, text, embedding
			if !it.IsText {
				wantFields = 6 + len(map[bool]string{true: "x"}[it.SHA256 != ""])
			}
			if len(rec) != wantFields {
				t.Errorf("%d fields in %s", len(rec), sc.Text()[:80])
			}
			for k, v := range want[it.Key()] {
				if dt == index.DTypeFloat16 {
					v = index.HalfToFloat32(index.Float32ToHalf(v))
				}
				if r.Embedding[k] != v {
					t.Fatalf("%s[%d] = %v, want %v", r.ID, k, r.Embedding[k], v)
				}
			}
			n++
		}
		if n != len(want) {
			t.Errorf("%d lines, want %d", n, len(want))
		}
	}
}

// TestNpyLayout: clip-retrieval's folders, rows of img_emb_N aligned with
// metadata_N, texts beside them, parts of PartRows.
func TestNpyLayout(t *testing.T) {
	out, want, items := exportShards(t, Options{Format: FormatNpy, PartRows: 40}, 50, 8, index.DTypeFloat16)
	read := func(path string) ([]float32, []int) {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		v, shape, err := npy.ReadFloat32(f)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return v, shape
	}
	seen := 0
	for _, kind := range []string{"img", "text"} {
		embs, _ := filepath.Glob(filepath.Join(out, kind+"_emb", kind+"_emb_*.npy"))
		if len(embs) == 0 {
			t.Fatalf("no %s_emb files", kind)
		}
		for i := range embs {
			vals, shape := read(filepath.Join(out, kind+"_emb", kind+"_emb_"+itoa(i)+".npy"))
			var ids []string
			if kind == "img" {
				rows, err := parquet.ReadFile[imageMeta](filepath.Join(out, "metadata", "metadata_"+itoa(i)+".parquet"))
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range rows {
					if items[r.ID].Path != r.ImagePath {
						t.Errorf("metadata row %+v", r)
					}
					ids = append(ids, r.ID)
				}
			} else {
				rows, err := parquet.ReadFile[textMeta](filepath.Join(out, "text_metadata", "text_metadata_"+itoa(i)+".parquet"))
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range rows {
					if items[r.ID].Text != r.Caption {
						t.Errorf("text metadata row %+v", r)
					}
					ids = append(ids, r.ID)
				}
			}
			if shape[0] != len(ids) || shape[1] != 8 || shape[0] > 40 {
				t.Fatalf("%s part %d: shape %v for %d metadata rows", kind, i, shape, len(ids))
			}
			for r, id := range ids {
				w := want[items[id].Key()]
				for k := range 8 {
					if vals[r*8+k] != w[k] {
						t.Fatalf("%s row %d differs", kind, r)
					}
				}
			}
			seen += len(ids)
		}
	}
	if seen != len(want) {
		t.Errorf("%d rows, want %d", seen, len(want))
	}
}

func itoa(i int) string { return string(rune('0' + i)) }
