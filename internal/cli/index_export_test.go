package cli

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fashionclip/fashionclip/internal/cmdutil"
	"github.com/fashionclip/fashionclip/internal/index"
)

// TestIndexExportAndDupes runs `index export` and `index dupes` on an index
// of the reference images with one byte-identical copy planted.
func TestIndexExportAndDupes(t *testing.T) {
	model := idxModelDir(t, "tiny-optimum")
	idxImagesCopy(t)
	data, err := os.ReadFile("imgs/a_portrait_420.jpg")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll("copies", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("copies", "same.jpg"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, false, "", nil, "embed", "-m", model, "imgs", "copies", "-o", "a", "--text", "red dress"); r.code != 0 {
		t.Fatalf("embed: exit %d: %s", r.code, r.stderr)
	}
	want := idxRead(t, "a")

	t.Run("jsonl to stdout", func(t *testing.T) {
		r := runCLI(t, false, "", nil, "index", "export", "a", "-o", "-", "--format", "jsonl")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		sc := bufio.NewScanner(strings.NewReader(r.stdout))
		sc.Buffer(nil, 1<<20)
		n := 0
		for sc.Scan() {
			var row struct {
				ID, Path, Kind, Text string
				Embedding            []float32
			}
			if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
				t.Fatalf("line %d: %v", n+1, err)
			}
			key := index.PathKey(row.Path)
			if row.Kind == "text" {
				key = index.TextKey(row.Text)
			}
			e, ok := want[key]
			if !ok || row.ID != index.ItemID(e.item) || len(row.Embedding) != len(e.vec) {
				t.Fatalf("row %+v does not match the index (%v)", row, ok)
			}
			for i := range e.vec {
				if row.Embedding[i] != e.vec[i] {
					t.Fatalf("%s: embedding[%d] %v, index has %v", key, i, row.Embedding[i], e.vec[i])
				}
			}
			n++
		}
		if n != len(want) || !strings.Contains(r.stderr, "exported") {
			t.Errorf("%d rows for %d items; stderr %s", n, len(want), r.stderr)
		}
	})
	t.Run("parquet refuses an earlier export", func(t *testing.T) {
		if r := runCLI(t, false, "", nil, "index", "export", "a", "-o", "out"); r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		if _, err := os.Stat(filepath.Join("out", "part-00000.parquet")); err != nil {
			t.Fatal(err)
		}
		r := runCLI(t, false, "", nil, "index", "export", "a", "-o", "out")
		if r.code != cmdutil.ExitFatal || !strings.Contains(r.stderr, "--force") {
			t.Errorf("second export: exit %d: %s", r.code, r.stderr)
		}
		if r := runCLI(t, false, "", nil, "index", "export", "a", "-o", "out", "--force"); r.code != 0 {
			t.Errorf("--force: exit %d: %s", r.code, r.stderr)
		}
	})
	t.Run("dupes", func(t *testing.T) {
		r := runCLI(t, false, "", nil, "index", "dupes", "a", "--exact")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		var g struct {
			Group int
			Exact bool
			Paths []string
		}
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &g) != nil {
			t.Fatalf("want one group, got:\n%s", r.stdout)
		}
		if !g.Exact || len(g.Paths) != 2 || !strings.HasSuffix(g.Paths[0], "a_portrait_420.jpg") || !strings.HasSuffix(g.Paths[1], "same.jpg") {
			t.Errorf("group %+v", g)
		}
		r = runCLI(t, true, "", nil, "index", "dupes", "a", "--exact")
		if r.code != 0 || !strings.Contains(r.stdout, "exact") || !strings.Contains(r.stdout, "same.jpg") {
			t.Errorf("table: exit %d:\n%s%s", r.code, r.stdout, r.stderr)
		}
		r = runCLI(t, false, "", nil, "index", "dupes", "a", "-f", "tsv")
		if r.code != 0 || !strings.HasPrefix(r.stdout, "group\texact\t") || !strings.Contains(r.stdout, "\ttrue\t") {
			t.Errorf("tsv: exit %d:\n%s%s", r.code, r.stdout, r.stderr)
		}
		// The HTML report: the group with both thumbnails (the files are
		// read from the index's root, whatever the working folder).
		page := filepath.Join(t.TempDir(), "dupes.html")
		r = runCLI(t, false, "", nil, "index", "dupes", "a", "--exact", "--report", page)
		html, _ := os.ReadFile(page)
		if r.code != 0 || strings.Count(string(html), "/9j/") != 2 || !strings.Contains(string(html), "same.jpg") {
			t.Errorf("--report: exit %d, %d thumbnails:\n%s", r.code, strings.Count(string(html), "/9j/"), r.stderr)
		}
		r = runCLI(t, false, "", nil, "index", "dupes", "a", "--report", filepath.Join(t.TempDir(), "no", "such", "d.html"))
		if r.code != cmdutil.ExitFatal || !strings.Contains(r.stderr, "--report: ") || !strings.Contains(r.stderr, "does not exist") {
			t.Errorf("--report into a missing folder: exit %d: %s", r.code, r.stderr)
		}
	})
	t.Run("errors", func(t *testing.T) {
		tests := []struct {
			args []string
			code int
			want string
		}{
			{[]string{"index", "export", "a"}, cmdutil.ExitUsage, "-o OUT"},
			{[]string{"index", "export", "a", "-o", "x", "--format", "xml"}, cmdutil.ExitUsage, "--format"},
			{[]string{"index", "export", "a", "-o", "x", "--pg-type", "int", "--format", "pgvector"}, cmdutil.ExitUsage, "--pg-type"},
			{[]string{"index", "export", "imgs", "-o", "x"}, cmdutil.ExitFatal, "imgs"},
			{[]string{"index", "dupes", "a", "--threshold", "1.5"}, cmdutil.ExitUsage, "--threshold"},
			{[]string{"index", "dupes", "a", "-f", "csv"}, cmdutil.ExitUsage, "csv"},
			{[]string{"index", "dupes", "a", "--exact", "--threshold", "0.9"}, cmdutil.ExitUsage, "--exact"},
		}
		for _, tt := range tests {
			r := runCLI(t, false, "", nil, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("%v: exit %d, stderr %q; want %d mentioning %q", tt.args, r.code, r.stderr, tt.code, tt.want)
			}
		}
	})
}
