package export

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/fashionclip/fashionclip/internal/index"
	"github.com/fashionclip/fashionclip/internal/testutil"
	"github.com/fashionclip/fashionclip/internal/vecmath"
)

// dbtestDir is the folder scripts/install-db-test-tools.sh fills, or the
// test is skipped saying how to get it.
func dbtestDir(t *testing.T, modules ...string) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not found: install Node.js and run scripts/install-db-test-tools.sh to run this test")
	}
	dir := os.Getenv("FASHIONCLIP_DBTEST_DIR")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".cache", "fashionclip", "dbtest")
		if x := os.Getenv("XDG_CACHE_HOME"); x != "" {
			dir = filepath.Join(x, "fashionclip", "dbtest")
		}
	}
	for _, m := range modules {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", m, "package.json")); err != nil {
			t.Skipf("%s not installed in %s: run scripts/install-db-test-tools.sh (or set FASHIONCLIP_DBTEST_DIR) to run this test", m, dir)
		}
	}
	return dir
}

// runEngine runs testdata/engines.mjs and decodes its answer.
func runEngine(t *testing.T, dbtest string, args map[string]any, out any) {
	t.Helper()
	a, _ := json.Marshal(args)
	cmd := exec.Command("node", filepath.Join(testutil.ModuleRoot(t), "internal", "export", "testdata", "engines.mjs"), string(a))
	cmd.Env = append(os.Environ(), "DBTEST="+dbtest)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", args["engine"], err, stderr.String())
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("%s answered %.300s: %v", args["engine"], b, err)
	}
}

// paritySetup builds one 512-dimensional index with garbage, exports it,
// and returns queries with our exact search's top k for each.
type parityCase struct {
	dir, out string
	files    []string
	want     map[string][]float32 // by id
	items    map[string]index.Item
	queries  [][]float32
	tops     [][]index.Hit
}

const parityK = 5

func paritySetup(t *testing.T, o Options, dtype string) *parityCase {
	t.Helper()
	const n, dim = 400, 512
	pc := &parityCase{dir: filepath.Join(t.TempDir(), "idx"), out: filepath.Join(t.TempDir(), "out"), want: map[string][]float32{}, items: map[string]index.Item{}}
	byKey := buildIndex(t, pc.dir, 0, n, dim, dtype, 21)
	for i := range n {
		it := testItem(0, i)
		pc.items[index.ItemID(it)] = it
		pc.want[index.ItemID(it)] = byKey[it.Key()]
	}
	o.Out = pc.out
	o.Format = FormatParquet
	if _, err := Export(context.Background(), []string{pc.dir}, o); err != nil {
		t.Fatal(err)
	}
	pc.files, _ = filepath.Glob(filepath.Join(pc.out, "part-*.parquet"))
	ix, err := index.Open(pc.dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	rng := rand.New(rand.NewPCG(8, 8))
	near := append([]float32(nil), byKey[testItem(0, 10).Key()]...)
	for k := range near {
		near[k] += 0.02 * float32(rng.NormFloat64())
	}
	for _, q := range [][]float32{testutil.RandomUnitVector(rng, dim), vecmath.Normalize(near), testutil.RandomUnitVector(rng, dim)} {
		hits, err := ix.Search(q, index.SearchOptions{K: parityK})
		if err != nil {
			t.Fatal(err)
		}
		pc.queries = append(pc.queries, q)
		pc.tops = append(pc.tops, hits)
	}
	return pc
}

type scoredID struct {
	ID    string
	Score float64
}

// checkTopParity: the same ids in the same order, except that neighbours
// whose scores differ by less than 1e-6 may swap; scores within 1e-5.
func checkTopParity(t *testing.T, engine string, got []scoredID, want []index.Hit) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d hits, want %d", engine, len(got), len(want))
	}
	for i, h := range want {
		id := index.ItemID(h.Item)
		if got[i].ID != id {
			swapped := false
			for j := range want {
				if j != i && index.ItemID(want[j].Item) == got[i].ID && math.Abs(want[j].Score-h.Score) < 1e-6 {
					swapped = true
				}
			}
			if !swapped {
				t.Errorf("%s: hit %d is %s (%.7f), fashionclip search has %s (%.7f)", engine, i, got[i].ID, got[i].Score, id, h.Score)
				continue
			}
		}
		if math.Abs(got[i].Score-h.Score) > 1e-5 {
			t.Errorf("%s: hit %d scores %.7f, fashionclip search %.7f", engine, i, got[i].Score, h.Score)
		}
	}
}

// TestParquetInDuckDB: DuckDB reads the export: row count, FLOAT[512]
// equal to the index's vectors bit for bit, the other columns, the file
// metadata, and array_cosine_similarity's top 5 equal to our search's.
func TestParquetInDuckDB(t *testing.T) {
	dbtest := dbtestDir(t, "@duckdb/node-api")
	pc := paritySetup(t, Options{RowGroupRows: 64, PartRows: 150}, index.DTypeFloat32)
	for qi, q := range pc.queries {
		var ans struct {
			Count int               `json:"count"`
			Types map[string]string `json:"types"`
			Rows  []struct {
				ID        string    `json:"id"`
				Path      *string   `json:"path"`
				Kind      string    `json:"kind"`
				Text      *string   `json:"text"`
				Size      *string   `json:"size"` // BIGINT comes as a string
				MTimeUs   *string   `json:"mtime_us"`
				SHA256    *string   `json:"sha256"`
				Embedding []float64 `json:"embedding"`
			} `json:"rows"`
			Top      []scoredID          `json:"top"`
			Metadata []map[string]string `json:"metadata"`
		}
		runEngine(t, dbtest, map[string]any{"engine": "duckdb", "files": pc.files, "query": q, "k": parityK}, &ans)
		checkTopParity(t, "DuckDB", ans.Top, pc.tops[qi])
		if qi > 0 {
			continue
		}
		if ans.Count != len(pc.want) || len(ans.Rows) != len(pc.want) {
			t.Fatalf("DuckDB counts %d rows (%d read), want %d", ans.Count, len(ans.Rows), len(pc.want))
		}
		t.Logf("DuckDB column types: %v", ans.Types)
		if ans.Types["embedding"] != "FLOAT[]" || ans.Types["mtime"] == "" || ans.Types["size"] != "BIGINT" {
			t.Errorf("DuckDB sees types %v", ans.Types)
		}
		maxDelta := 0.0
		for _, r := range ans.Rows {
			w, ok := pc.want[r.ID]
			if !ok {
				t.Fatalf("DuckDB read an unknown id %s", r.ID)
			}
			for k, v := range r.Embedding {
				maxDelta = math.Max(maxDelta, math.Abs(v-float64(w[k])))
			}
			it := pc.items[r.ID]
			row := pqRow{ID: r.ID, Path: r.Path, Kind: r.Kind, Text: r.Text, SHA256: r.SHA256, Embedding: nil}
			if r.Size != nil {
				n, _ := strconv.ParseInt(*r.Size, 10, 64)
				row.Size = &n
			}
			if r.MTimeUs != nil {
				n, _ := strconv.ParseInt(*r.MTimeUs, 10, 64)
				row.MTime = &n
			}
			checkRow(t, row, it)
		}
		if maxDelta != 0 {
			t.Errorf("DuckDB's vectors differ from the index's by up to %g", maxDelta)
		}
		md := map[string]string{}
		for _, kv := range ans.Metadata {
			md[kv["key"]] = kv["value"]
		}
		if md["fashionclip.dim"] != "512" || md["fashionclip.model_name"] != testModel.String() {
			t.Errorf("DuckDB sees file metadata %v", md)
		}
	}
}

// TestParquetInLanceDB: LanceDB makes a table of the export (read by
// arrow-rs, which takes fixed_size_list from ARROW:schema) and its flat
// search returns our top 5, for float32 and float16 exports.
func TestParquetInLanceDB(t *testing.T) {
	dbtest := dbtestDir(t, "@lancedb/lancedb", "parquet-wasm", "apache-arrow")
	for _, dt := range []string{index.DTypeFloat32, index.DTypeFloat16} {
		t.Run(dt, func(t *testing.T) {
			pc := paritySetup(t, Options{DType: dt, RowGroupRows: 100, PartRows: 250}, index.DTypeFloat32)
			for qi, q := range pc.queries {
				var ans struct {
					EmbeddingType string `json:"embeddingType"`
					MTimeType     string `json:"mtimeType"`
					Count         int    `json:"count"`
					LanceCount    int    `json:"lanceCount"`
					Top           []struct {
						ID       string  `json:"id"`
						Distance float64 `json:"distance"`
					} `json:"top"`
					Rows []struct {
						ID        string    `json:"id"`
						Embedding []float64 `json:"embedding"`
					} `json:"rows"`
				}
				runEngine(t, dbtest, map[string]any{"engine": "lancedb", "files": pc.files, "query": q, "k": parityK, "dir": t.TempDir()}, &ans)
				wantType := "FixedSizeList[512]<Float32>"
				if dt == index.DTypeFloat16 {
					wantType = "FixedSizeList[512]<Float16>"
				}
				if ans.EmbeddingType != wantType || ans.Count != len(pc.want) || ans.LanceCount != len(pc.want) {
					t.Fatalf("LanceDB: embedding %s (want %s), %d rows, table of %d (want %d); mtime %s",
						ans.EmbeddingType, wantType, ans.Count, ans.LanceCount, len(pc.want), ans.MTimeType)
				}
				for _, r := range ans.Rows {
					for k, v := range r.Embedding {
						w := pc.want[r.ID][k]
						if dt == index.DTypeFloat16 {
							w = index.HalfToFloat32(index.Float32ToHalf(w))
						}
						if v != float64(w) {
							t.Fatalf("LanceDB row %s[%d] = %v, want %v", r.ID, k, v, w)
						}
					}
				}
				if dt == index.DTypeFloat16 {
					continue // half vectors rank differently from the float32 index
				}
				got := make([]scoredID, len(ans.Top))
				for i, h := range ans.Top {
					got[i] = scoredID{h.ID, 1 - h.Distance} // LanceDB's cosine distance
				}
				checkTopParity(t, "LanceDB", got, pc.tops[qi])
			}
		})
	}
}
