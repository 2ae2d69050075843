package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fashionclip/fashionclip/internal/cmd/embedcmd"
	"github.com/fashionclip/fashionclip/internal/cmdutil"
	"github.com/fashionclip/fashionclip/internal/index"
	"github.com/fashionclip/fashionclip/internal/source"
	"github.com/fashionclip/fashionclip/internal/testutil"
)

// Images whose reference embeddings Pillow computes differently (CMYK
// conversion, 16-bit grey); the parity checks skip them.
var indexParitySkip = deviatingImages

// idxModelDir is the reference kit's tiny combined model (skips without it
// or without ONNX Runtime).
func idxModelDir(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(testutil.ReferenceDir(t), "models", name)
	testutil.ORTLibrary(t)
	return dir
}

// idxImagesCopy copies the reference images into a fresh folder "imgs" under
// a temp working directory and enters it, so that paths are short and the
// test may change files.
func idxImagesCopy(t *testing.T) {
	t.Helper()
	src := filepath.Join(testutil.ReferenceDir(t), "images")
	work := t.TempDir()
	chdir(t, work)
	if err := os.Mkdir("imgs", 0o755); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("imgs", e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

type idxEntry struct {
	item index.Item
	vec  []float32
}

// idxRead returns the live items by key, failing on duplicates.
func idxRead(t *testing.T, dir string) map[string]idxEntry {
	t.Helper()
	ix, err := index.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	out := map[string]idxEntry{}
	err = ix.Each(func(it index.Item, vec []float32) error {
		if _, dup := out[it.Key()]; dup {
			return fmt.Errorf("%s is live twice", it.Key())
		}
		out[it.Key()] = idxEntry{it, append([]float32(nil), vec...)}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var idxRunSummary = regexp.MustCompile(`(\d+) added, (\d+) replaced, (\d+) removed, (\d+) unchanged, (\d+) texts? added; (\d+) items?, (\d+) garbage rows?`)

// idxSummary parses embed -o's closing note into its seven numbers.
func idxSummary(t *testing.T, stderr string) [7]int {
	t.Helper()
	m := idxRunSummary.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no summary in stderr:\n%s", stderr)
	}
	var out [7]int
	for i := range out {
		out[i], _ = strconv.Atoi(m[i+1])
	}
	return out
}

func TestEmbedIndexIncremental(t *testing.T) {
	model := idxModelDir(t, "tiny-optimum")
	idxImagesCopy(t)
	embed := func(extra ...string) cliResult {
		t.Helper()
		r := runCLI(t, false, "", nil, append([]string{"embed", "-m", model, "imgs", "-o", "idx", "--commit-every", "4"}, extra...)...)
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		return r
	}
	all, _ := filepath.Glob("imgs/*")
	n := len(all)
	later := time.Now().Add(time.Hour)
	steps := []struct {
		name   string
		change func(t *testing.T)
		flags  []string
		// added, replaced, removed, unchanged, texts, items, garbage
		want [7]int
	}{
		{"first run", nil, []string{"--text", "red dress"}, [7]int{n, 0, 0, 0, 1, n + 1, 0}},
		{"rerun does nothing", nil, []string{"--text", "red dress"}, [7]int{0, 0, 0, n, 0, n + 1, 0}},
		{"touched mtime", func(t *testing.T) { os.Chtimes("imgs/a_portrait_420.jpg", later, later) }, nil,
			[7]int{0, 1, 0, n - 1, 0, n + 1, 1}},
		{"changed size", func(t *testing.T) { idxAppendBytes(t, "imgs/i_rgb.png", "trailing bytes after IEND") }, nil,
			[7]int{0, 1, 0, n - 1, 0, n + 1, 2}},
		{"deleted file", func(t *testing.T) { os.Remove("imgs/d_gray.jpg") }, nil,
			[7]int{0, 0, 1, n - 1, 0, n, 3}},
		{"new file", func(t *testing.T) { idxCopyFile(t, "imgs/f_exif6.jpg", "imgs/z_new.jpg") }, nil,
			[7]int{1, 0, 0, n - 1, 0, n + 1, 3}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.change != nil {
				st.change(t)
			}
			if got := idxSummary(t, embed(st.flags...).stderr); got != st.want {
				t.Errorf("added, replaced, removed, unchanged, texts, items, garbage = %v, want %v", got, st.want)
			}
			got := idxRead(t, "idx")
			files, _ := filepath.Glob("imgs/*")
			for _, p := range files {
				e, ok := got[index.PathKey(p)]
				st, _ := os.Stat(p)
				if !ok || e.item.Size != st.Size() || !e.item.MTime.Equal(st.ModTime()) {
					t.Errorf("%s: not in the index with its current size and mtime", p)
				}
			}
			if _, ok := got[index.TextKey("red dress")]; !ok {
				t.Error("the text is gone")
			}
			if len(got) != len(files)+1 {
				t.Errorf("%d items for %d files and a text", len(got), len(files))
			}
		})
	}

	t.Run("another folder leaves the rows of this one", func(t *testing.T) {
		os.Mkdir("more", 0o755)
		idxCopyFile(t, "imgs/c_progressive.jpg", "more/x.jpg")
		r := runCLI(t, false, "", nil, "embed", "-m", model, "more", "-o", "idx")
		if got := idxSummary(t, r.stderr); got[0] != 1 || got[2] != 0 {
			t.Errorf("idxSummary %v", got)
		}
	})
	t.Run("compact then search still finds everything", func(t *testing.T) {
		before := idxRead(t, "idx")
		if r := runCLI(t, false, "", nil, "index", "compact", "idx"); r.code != 0 {
			t.Fatal(r.stderr)
		}
		after := idxRead(t, "idx")
		if len(after) != len(before) {
			t.Fatalf("%d items after compact, %d before", len(after), len(before))
		}
		m, _ := index.ReadManifest("idx")
		if m.Garbage() != 0 {
			t.Errorf("garbage %d after compact", m.Garbage())
		}
	})
}

func idxAppendBytes(t *testing.T, path, s string) {
	t.Helper()
	fh, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fh.WriteString(s)
	fh.Close()
}

func idxCopyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestEmbedIndexHash(t *testing.T) {
	model := idxModelDir(t, "tiny-optimum")
	idxImagesCopy(t)
	run := func() [7]int {
		t.Helper()
		r := runCLI(t, false, "", nil, "embed", "-m", model, "imgs", "-o", "idx", "--hash")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		return idxSummary(t, r.stderr)
	}
	n, _ := filepath.Glob("imgs/*")
	if got := run(); got[0] != len(n) {
		t.Fatalf("first run %v", got)
	}
	// New mtimes, same bytes (a restored backup): nothing to embed.
	later := time.Now().Add(time.Hour)
	for _, p := range n {
		os.Chtimes(p, later, later)
	}
	if got := run(); got[0] != 0 || got[1] != 0 || got[3] != len(n) {
		t.Errorf("touching every file: %v, want all unchanged", got)
	}
	idxAppendBytes(t, "imgs/h_small_60x80.jpg", "x")
	if got := run(); got[1] != 1 {
		t.Errorf("changing a file's bytes: %v, want one replaced", got)
	}
	e := idxRead(t, "idx")[index.PathKey("imgs/h_small_60x80.jpg")]
	if len(e.item.SHA256) != 64 {
		t.Errorf("sha256 column holds %q", e.item.SHA256)
	}
}

// The vectors reached through the tables are the reference embeddings.
func TestEmbedIndexParity(t *testing.T) {
	ref := testutil.ReferenceDir(t)
	model := idxModelDir(t, "tiny-optimum")
	expected := testutil.LoadReferenceEmbeddings(t)
	textFile := filepath.Join(t.TempDir(), "texts.txt")
	var texts []string
	fh, err := os.Open(filepath.Join(ref, "texts.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		var s string
		if json.Unmarshal(sc.Bytes(), &s) == nil && strings.TrimSpace(s) == s && s != "" && !strings.Contains(s, "\n") {
			texts = append(texts, s)
		}
	}
	fh.Close()
	os.WriteFile(textFile, []byte(strings.Join(texts, "\n")+"\n"), 0o644)

	for _, dtype := range []string{"float32", "float16"} {
		t.Run(dtype, func(t *testing.T) {
			idx := filepath.Join(t.TempDir(), "idx")
			r := runCLI(t, false, "", nil, "embed", "-m", model, filepath.Join(ref, "images"), "--text-file", textFile, "-o", idx, "--dtype", dtype)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			got := idxRead(t, idx)
			minCos := 0.99999
			if dtype == "float16" {
				minCos = 0.9999 // halves keep 11 significant bits
			}
			checked := 0
			for name, want := range expected.Images {
				if indexParitySkip[name] {
					continue
				}
				e, ok := got[index.PathKey(filepath.Join(ref, "images", name))]
				if !ok {
					t.Errorf("%s is not in the index", name)
					continue
				}
				if c := testutil.Cosine(e.vec, want); c < minCos {
					t.Errorf("%s: idxCosine %.7f with the reference", name, c)
				}
				checked++
			}
			for _, s := range texts {
				want, ok := expected.Texts[s]
				if !ok {
					continue
				}
				e, ok := got[index.TextKey(s)]
				if !ok {
					t.Errorf("text %q is not in the index", s)
					continue
				}
				if c := testutil.Cosine(e.vec, want); c < minCos {
					t.Errorf("text %q: idxCosine %.7f with the reference", s, c)
				}
				checked++
			}
			if checked < 10 {
				t.Errorf("only %d vectors checked", checked)
			}
		})
	}
}

func TestEmbedIndexShardsMerge(t *testing.T) {
	model := idxModelDir(t, "tiny-optimum")
	idxImagesCopy(t)
	embed := func(out string, env map[string]string, extra ...string) {
		t.Helper()
		args := append([]string{"embed", "-m", model, "imgs", "--text", "red dress", "-o", out}, extra...)
		if r := runCLI(t, false, "", env, args...); r.code != 0 {
			t.Fatalf("%v: exit %d: %s", args, r.code, r.stderr)
		}
	}
	embed("all", nil)
	const n = 3
	var parts []string
	for k := range n {
		out := fmt.Sprintf("shard-%d", k)
		switch k {
		case 0:
			embed(out, nil, "--shard", "0/3")
		case 1:
			embed(out, map[string]string{embedcmd.EnvJobIndex: "1"}, "--shards", "3")
		case 2:
			embed(out, map[string]string{embedcmd.EnvSlurmTaskID: "7", embedcmd.EnvSlurmTaskMin: "5", embedcmd.EnvSlurmTaskCount: "3"})
		}
		parts = append(parts, out)
		sh := source.Shard{Index: k, Of: n}
		for key, e := range idxRead(t, out) {
			if !e.item.IsText && !sh.Keeps(strings.TrimPrefix(e.item.Path, "imgs/")) {
				t.Errorf("%s holds %s, which belongs to another shard", out, key)
			}
		}
	}
	r := runCLI(t, false, "", nil, append([]string{"index", "merge", "-o", "merged"}, parts...)...)
	if r.code != 0 {
		t.Fatalf("merge: exit %d: %s", r.code, r.stderr)
	}
	want, got := idxRead(t, "all"), idxRead(t, "merged")
	if len(got) != len(want) {
		t.Fatalf("merged index has %d items, the one-shot one %d", len(got), len(want))
	}
	for k, e := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s missing from the merge", k)
			continue
		}
		// Batches differ between the runs; the model is not bit-stable across them.
		if c := testutil.Cosine(g.vec, e.vec); c < 0.99999 {
			t.Errorf("%s: idxCosine %.7f between merged and one-shot", k, c)
		}
	}
}

func TestEmbedIndexErrors(t *testing.T) {
	work := t.TempDir()
	chdir(t, work)
	os.WriteFile("a.jpg", []byte("not an image"), 0o644)
	usage := []struct {
		name string
		args []string
		want string
	}{
		{"bad dtype", []string{"embed", "a.jpg", "-o", "idx", "--dtype", "int8"}, "--dtype"},
		{"bad shard", []string{"embed", "a.jpg", "-o", "idx", "--shard", "3/3"}, "--shard"},
		{"--hash without -o", []string{"embed", "a.jpg", "--hash"}, "only applies with -o"},
		{"--shard without -o", []string{"embed", "a.jpg", "--shard", "0/2"}, "only applies with -o"},
		{"--commit-every 0", []string{"embed", "a.jpg", "-o", "idx", "--commit-every", "0"}, "--commit-every"},
	}
	for _, tt := range usage {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, false, "", nil, tt.args...)
			if r.code != cmdutil.ExitUsage || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d mentioning %q", r.code, r.stderr, cmdutil.ExitUsage, tt.want)
			}
		})
	}
	if _, err := os.Stat("idx"); err == nil {
		t.Error("a usage error created the index")
	}
}

func TestEmbedIndexModelMismatchAndCorruptFiles(t *testing.T) {
	combined := idxModelDir(t, "tiny-optimum")
	split := idxModelDir(t, "tiny-split")
	idxImagesCopy(t)
	os.WriteFile("imgs/zz_broken.jpg", []byte("\xff\xd8\xff not really a jpeg"), 0o644)
	r := runCLI(t, false, "", nil, "embed", "-m", combined, "imgs", "-o", "idx")
	if r.code != cmdutil.ExitPartial || !strings.Contains(r.stderr, "zz_broken.jpg") {
		t.Fatalf("a corrupt file: exit %d (want %d), stderr %s", r.code, cmdutil.ExitPartial, r.stderr)
	}
	got := idxRead(t, "idx")
	if _, ok := got[index.PathKey("imgs/zz_broken.jpg")]; ok {
		t.Error("the corrupt file is in the index")
	}
	if len(got) == 0 {
		t.Fatal("nothing indexed")
	}

	r = runCLI(t, false, "", nil, "embed", "-m", split, "imgs", "-o", "idx")
	if r.code != cmdutil.ExitFatal {
		t.Errorf("another model: exit %d, want %d", r.code, cmdutil.ExitFatal)
	}
	for _, s := range []string{"tiny-optimum", "tiny-split", "cannot be mixed"} {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("the mismatch error does not name %q: %s", s, r.stderr)
		}
	}
	if after := idxRead(t, "idx"); len(after) != len(got) {
		t.Error("the refused run changed the index")
	}

	os.WriteFile("notes.txt", []byte("x"), 0o644)
	r = runCLI(t, false, "", nil, "embed", "-m", combined, "imgs/a_portrait_420.jpg", "-o", ".")
	if r.code != cmdutil.ExitFatal || !strings.Contains(r.stderr, "not a fashionclip index") {
		t.Errorf("a folder with other files: exit %d, %s", r.code, r.stderr)
	}
}

func TestEmbedIndexStdinAndGlobs(t *testing.T) {
	model := idxModelDir(t, "tiny-optimum")
	idxImagesCopy(t)
	code := 0
	run := func(stdin string, args ...string) [7]int {
		t.Helper()
		r := runCLI(t, false, stdin, nil, append([]string{"embed", "-m", model, "-o", "idx"}, args...)...)
		if r.code != code {
			t.Fatalf("%v: exit %d, want %d: %s", args, r.code, code, r.stderr)
		}
		return idxSummary(t, r.stderr)
	}
	if got := run("imgs/a_portrait_420.jpg\nimgs/i_rgb.png\n", "-"); got[0] != 2 || got[5] != 2 {
		t.Errorf("paths on stdin: %v", got)
	}
	jpgs, _ := filepath.Glob("imgs/*.jpg")
	if got := run("", "imgs/*.jpg"); got[0] != len(jpgs)-1 || got[3] != 1 {
		t.Errorf("a glob over the same files: %v", got)
	}
	os.Remove("imgs/c_progressive.jpg")
	os.Remove("imgs/i_rgb.png")
	// The glob covers the deleted JPEG; the PNG was named on stdin only and
	// is not under this run's arguments, so its row stays.
	got := run("", "imgs/*.jpg")
	if got[2] != 1 {
		t.Errorf("deleted file under the glob: %v", got)
	}
	items := idxRead(t, "idx")
	if _, ok := items[index.PathKey("imgs/c_progressive.jpg")]; ok {
		t.Error("the deleted JPEG is still indexed")
	}
	if _, ok := items[index.PathKey("imgs/i_rgb.png")]; !ok {
		t.Error("a row outside the run's arguments was dropped")
	}
	code = cmdutil.ExitFatal // its only input is missing, yet the run drops its row
	if got := run("imgs/i_rgb.png\n", "-"); got[2] != 1 {
		t.Errorf("naming the deleted PNG again: %v", got)
	}
}

// The same file is the same item whichever working folder a run starts
// from (paths are stored relative to the index's root, docs/index.md
// "Paths"), and a run over a narrower walk keeps the rows it did not see.
func TestEmbedIndexFromAnotherFolder(t *testing.T) {
	model := idxModelDir(t, "tiny-optimum")
	idxImagesCopy(t)
	work, _ := os.Getwd()
	all, _ := filepath.Glob("imgs/*")
	run := func(dir string, args ...string) [7]int {
		t.Helper()
		chdir(t, filepath.Join(work, dir))
		r := runCLI(t, false, "", nil, append([]string{"embed", "-m", model}, args...)...)
		if r.code != 0 {
			t.Fatalf("%s: %v: exit %d: %s", dir, args, r.code, r.stderr)
		}
		return idxSummary(t, r.stderr)
	}
	if got := run("imgs", ".", "-o", "../idx"); got[0] != len(all) {
		t.Fatalf("first run from imgs/: %v", got)
	}
	if got := run(".", "imgs", "-o", "idx"); got != [7]int{0, 0, 0, len(all), 0, len(all), 0} {
		t.Errorf("rerun from the parent: %v, want everything unchanged", got)
	}
	if got := run(".", filepath.Join(work, "imgs"), "-o", filepath.Join(work, "idx")); got[3] != len(all) {
		t.Errorf("rerun with absolute paths: %v, want everything unchanged", got)
	}
	for key := range idxRead(t, filepath.Join(work, "idx")) {
		if !strings.HasPrefix(key, index.PathKey("imgs/")) {
			t.Errorf("item %s is not stored relative to the root", key)
		}
	}
	// A hidden file indexed with --hidden and then deleted stays in the
	// index after a run without --hidden: that walk would not have seen it.
	idxCopyFile(t, "imgs/f_exif6.jpg", "imgs/.hidden.jpg")
	if got := run(".", "imgs", "-o", "idx", "--hidden"); got[0] != 1 {
		t.Fatalf("--hidden run: %v", got)
	}
	os.Remove("imgs/.hidden.jpg")
	if got := run("imgs", ".", "-o", "../idx"); got[2] != 0 || got[5] != len(all)+1 {
		t.Errorf("a run that skips hidden files: %v, want the hidden row kept", got)
	}
	if got := run("imgs", ".", "-o", "../idx", "--hidden"); got[2] != 1 || got[5] != len(all) {
		t.Errorf("a --hidden run: %v, want the hidden row dropped", got)
	}
}

// embed -o into an index with a damaged chunk fails naming the chunk and
// changes nothing, instead of counting the chunk's items as unchanged.
func TestEmbedIndexDamagedChunk(t *testing.T) {
	model := idxModelDir(t, "tiny-optimum")
	idxImagesCopy(t)
	if r := runCLI(t, false, "", nil, "embed", "-m", model, "imgs", "-o", "good", "--commit-every", "4"); r.code != 0 {
		t.Fatalf("embed: exit %d: %s", r.code, r.stderr)
	}
	man, err := index.ReadManifest("good")
	if err != nil {
		t.Fatal(err)
	}
	chunk := man.Chunks[0].Chunk
	data, err := os.ReadFile(filepath.Join("good", chunk))
	if err != nil {
		t.Fatal(err)
	}
	shape := fmt.Sprintf("(%d, %d)", man.Chunks[0].Rows, man.Dim)
	reshaped := fmt.Sprintf("(%d, %d)", man.Chunks[0].Rows*2, man.Dim/2) // same bytes, other shape
	if len(shape) != len(reshaped) || !strings.Contains(string(data), shape) {
		t.Fatalf("cannot reshape %q in the header", shape)
	}
	tests := []struct {
		name string
		data []byte // the chunk's new contents; nil removes it
		want string
	}{
		{"missing", nil, "no such file"},
		{"truncated", data[:len(data)-8], "truncated"},
		{"another dimension", []byte(strings.Replace(string(data), shape, reshaped, 1)), fmt.Sprintf("the manifest says %d", man.Dim)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := strings.ReplaceAll(tt.name, " ", "-")
			if err := os.CopyFS(dir, os.DirFS("good")); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, chunk)
			os.Chmod(path, 0o644)
			if tt.data == nil {
				os.Remove(path)
			} else if err := os.WriteFile(path, tt.data, 0o644); err != nil {
				t.Fatal(err)
			}
			before, _ := os.ReadFile(filepath.Join(dir, "manifest.json"))
			r := runCLI(t, false, "", nil, "embed", "-m", model, "imgs", "-o", dir)
			if r.code != cmdutil.ExitFatal || !strings.Contains(r.stderr, path) || !strings.Contains(r.stderr, tt.want) || strings.Contains(r.stderr, "unchanged") {
				t.Errorf("exit %d, want %d naming %s (%q):\n%s", r.code, cmdutil.ExitFatal, path, tt.want, r.stderr)
			}
			if after, _ := os.ReadFile(filepath.Join(dir, "manifest.json")); string(after) != string(before) {
				t.Error("the refused run changed the manifest")
			}
		})
	}
}

// A walk that finds no image is an error with -o as without it.
func TestEmbedIndexNoImages(t *testing.T) {
	model := idxModelDir(t, "tiny-optimum")
	chdir(t, t.TempDir())
	os.Mkdir("empty", 0o755)
	r := runCLI(t, false, "", nil, "embed", "-m", model, "empty", "-o", "idx", "--text", "red dress")
	if r.code != cmdutil.ExitFatal || !strings.Contains(r.stderr, "no image found") {
		t.Errorf("exit %d, want %d: %s", r.code, cmdutil.ExitFatal, r.stderr)
	}
	if _, ok := idxRead(t, "idx")[index.TextKey("red dress")]; !ok {
		t.Error("the text was not indexed")
	}
}
