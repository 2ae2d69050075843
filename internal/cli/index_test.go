package cli

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fashionclip/fashionclip/internal/cmd/indexcmd"
	"github.com/fashionclip/fashionclip/internal/cmdutil"
	"github.com/fashionclip/fashionclip/internal/index"
)

func TestIndexCommands(t *testing.T) {
	model := idxModelDir(t, "tiny-optimum")
	idxImagesCopy(t)
	for _, args := range [][]string{
		{"embed", "-m", model, "imgs", "-o", "a", "--text", "red dress", "--commit-every", "3"},
		{"embed", "-m", model, "imgs/a_portrait_420.jpg", "imgs/c_progressive.jpg", "-o", "b", "--text", "blue jeans"},
	} {
		if r := runCLI(t, false, "", nil, args...); r.code != 0 {
			t.Fatalf("%v: exit %d: %s", args, r.code, r.stderr)
		}
	}
	idxAppendBytes(t, "imgs/f_exif6.jpg", "x") // one replaced row: garbage in a
	if r := runCLI(t, false, "", nil, "embed", "-m", model, "imgs", "-o", "a"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	items := len(idxRead(t, "a"))

	info := func(dir string) indexcmd.InfoRecord {
		t.Helper()
		r := runCLI(t, false, "", nil, "index", "info", dir, "-f", "json")
		var rec indexcmd.InfoRecord
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &rec) != nil {
			t.Fatalf("index info: exit %d: %s %s", r.code, r.stdout, r.stderr)
		}
		return rec
	}
	t.Run("info", func(t *testing.T) {
		rec := info("a")
		if rec.Items != items || rec.Texts != 1 || rec.Images != items-1 || rec.Garbage != 1 ||
			rec.DType != "float32" || rec.Dim != 32 || !strings.Contains(rec.Model.Folder, "tiny-optimum") ||
			!strings.HasPrefix(rec.Model.Graph, "sha256-sampled:") || rec.Chunks < 2 {
			t.Errorf("%+v", rec)
		}
		r := runCLI(t, true, "", nil, "index", "info", "a")
		if !strings.Contains(r.stdout, "garbage") || !strings.Contains(r.stdout, "1 row (") {
			t.Errorf("table:\n%s", r.stdout)
		}
		// In a pipe: plain lines for grep, not JSON (gh's rule for listings).
		if p := runCLI(t, false, "", nil, "index", "info", "a"); !strings.HasPrefix(p.stdout, "index\ta\n") || !strings.Contains(p.stdout, "\ndtype\tfloat32\n") {
			t.Errorf("in a pipe:\n%s", p.stdout)
		}
		if cwd, _ := os.Getwd(); rec.Root != cwd || !strings.Contains(r.stdout, cwd) {
			t.Errorf("root %q, want the folder holding the index, %s", rec.Root, cwd)
		}
	})
	t.Run("info warns about a damaged chunk", func(t *testing.T) {
		if err := os.CopyFS("damaged", os.DirFS("b")); err != nil {
			t.Fatal(err)
		}
		m, _ := index.ReadManifest("damaged")
		chunk := filepath.Join("damaged", m.Chunks[0].Chunk)
		os.Chmod(chunk, 0o644)
		if err := os.Truncate(chunk, 100); err != nil {
			t.Fatal(err)
		}
		r := runCLI(t, false, "", nil, "index", "info", "damaged")
		if r.code != 0 || !strings.Contains(r.stderr, "warning: "+chunk+": ") || info("damaged").Items != 3 {
			t.Errorf("exit %d, stderr %q", r.code, r.stderr)
		}
	})
	t.Run("compact", func(t *testing.T) {
		r := runCLI(t, false, "", nil, "index", "compact", "a", "--dtype", "float16")
		if r.code != 0 || !strings.Contains(r.stderr, "with 1 garbage row)") || r.stdout != "" {
			t.Fatalf("exit %d: %s %s", r.code, r.stdout, r.stderr)
		}
		rec := info("a")
		if rec.Items != items || rec.Garbage != 0 || rec.Chunks != 1 || rec.DType != "float16" {
			t.Errorf("after compact: %+v", rec)
		}
		// The search still works on the converted index.
		r = runCLI(t, false, "", nil, "search", "a", "red dress", "-k", "1")
		if r.code != 0 || !strings.Contains(r.stdout, `"text":"red dress"`) {
			t.Errorf("search after compact: exit %d: %s %s", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("merge", func(t *testing.T) {
		r := runCLI(t, false, "", nil, "index", "merge", "a", "b", "-o", "ab")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		// b's two images are in a too: kept once, from b.
		if !strings.Contains(r.stderr, "2 items found in more than one input") || !strings.Contains(r.stderr, "from 2 indexes") || r.stdout != "" {
			t.Errorf("stderr: %s", r.stderr)
		}
		got := idxRead(t, "ab")
		if len(got) != items+1 {
			t.Errorf("%d items, want %d", len(got), items+1)
		}
		if _, ok := got[index.TextKey("blue jeans")]; !ok {
			t.Error("b's text is missing")
		}
		if info("ab").DType != "float16" {
			t.Error("a new OUT should take the first input's dtype")
		}
	})
	t.Run("errors", func(t *testing.T) {
		tests := []struct {
			args []string
			code int
			want string
		}{
			{[]string{"index", "merge", "a", "b"}, cmdutil.ExitUsage, "-o OUT"},
			{[]string{"index", "merge", "a", "-o", "x", "--dtype", "f8"}, cmdutil.ExitUsage, "--dtype"},
			{[]string{"index", "compact", "a", "--chunk-rows", "0"}, cmdutil.ExitUsage, "--chunk-rows"},
			{[]string{"index", "info"}, cmdutil.ExitUsage, "accepts 1 arg"},
			{[]string{"index", "info", "imgs"}, cmdutil.ExitFatal, "not a fashionclip index"},
			{[]string{"index", "merge", "a", "-o", "a"}, cmdutil.ExitFatal, "also an input"},
		}
		for _, tt := range tests {
			r := runCLI(t, false, "", nil, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("%v: exit %d, stderr %q; want %d mentioning %q", tt.args, r.code, r.stderr, tt.code, tt.want)
			}
		}
	})
}

// A chunk damaged into a NaN row (issue 13: JSON output then failed naming
// no file): search leaves the row out and its output parses, commands that
// copy vectors out refuse the chunk by name, and verify --deep names it.
func TestIndexNaNRow(t *testing.T) {
	model := idxModelDir(t, "tiny-optimum")
	idxImagesCopy(t)
	if r := runCLI(t, false, "", nil, "embed", "-m", model, "imgs", "-o", "idx", "--text", "red dress"); r.code != 0 {
		t.Fatalf("embed: exit %d: %s", r.code, r.stderr)
	}
	items := len(idxRead(t, "idx"))
	man, _ := index.ReadManifest("idx")
	chunk := filepath.Join("idx", man.Chunks[0].Chunk)
	data, err := os.ReadFile(chunk)
	if err != nil {
		t.Fatal(err)
	}
	// The data starts at a 64-byte boundary after the header; row 0 first.
	off := (10 + int(binary.LittleEndian.Uint16(data[8:10])) + 63) / 64 * 64
	binary.LittleEndian.PutUint32(data[off:], math.Float32bits(float32(math.NaN())))
	os.Chmod(chunk, 0o644)
	if err := os.WriteFile(chunk, data, 0o644); err != nil {
		t.Fatal(err)
	}

	for _, format := range []string{"jsonl", "json"} {
		r := runCLI(t, false, "", nil, "search", "idx", "red dress", "-k", "100", "-f", format)
		if r.code != 0 {
			t.Fatalf("search -f %s: exit %d: %s", format, r.code, r.stderr)
		}
		var hits []map[string]any
		if format == "json" {
			err = json.Unmarshal([]byte(r.stdout), &hits)
		} else {
			for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
				var h map[string]any
				if err = json.Unmarshal([]byte(line), &h); err != nil {
					break
				}
				hits = append(hits, h)
			}
		}
		if err != nil || len(hits) != items-1 {
			t.Errorf("search -f %s: %d hits for %d items, one damaged (%v):\n%s", format, len(hits), items, err, r.stdout)
		}
	}
	for _, args := range [][]string{
		{"index", "export", "idx", "-o", "-", "--format", "jsonl"},
		{"index", "compact", "idx"},
		{"index", "merge", "idx", "-o", "merged"},
	} {
		r := runCLI(t, false, "", nil, args...)
		if r.code != cmdutil.ExitFatal || !strings.Contains(r.stderr, chunk+": row 0 is not finite") {
			t.Errorf("%v: exit %d, want %d naming %s: %s", args, r.code, cmdutil.ExitFatal, chunk, r.stderr)
		}
	}
	r := runCLI(t, false, "", nil, "index", "verify", "idx", "--deep")
	if r.code != cmdutil.ExitFatal || !strings.HasPrefix(r.stdout, chunk+": SHA-256") {
		t.Errorf("verify --deep: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
}
