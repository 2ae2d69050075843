package index

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fashionclip/fashionclip/internal/source"
)

// writeFile creates base/name holding content, with a fixed mtime so that
// only a content change (a new size) changes the file.
func writeFile(t *testing.T, base, name, content string) {
	t.Helper()
	p := filepath.Join(base, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	mt := time.Unix(1_700_000_000, 0)
	if err := os.Chtimes(p, mt, mt); err != nil {
		t.Fatal(err)
	}
}

// fakeEmbed stands for the model: the vector of a file is a function of its
// bytes; a file starting with "bad" does not decode; "nan" embeds as NaN.
func fakeEmbed(name string) ([]float32, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	switch {
	case strings.HasPrefix(string(b), "bad"):
		return nil, errors.New("unsupported image format")
	case strings.HasPrefix(string(b), "nan"):
		v := vecFor(string(b), 0, 8)
		v[3] = float32(math.NaN())
		return v, nil
	}
	return vecFor(string(b), 0, 8), nil
}

// syncRun is what embed -o does: walk, plan, embed, apply, finish. It
// returns the stats and the input errors reported.
func syncRun(t *testing.T, dir string, args, texts []string, rule ChangeRule) (SyncStats, []string) {
	t.Helper()
	return syncRunWalk(t, dir, args, texts, rule, source.Options{MaxDepth: -1})
}

// syncRunWalk is syncRun with the walk's options.
func syncRunWalk(t *testing.T, dir string, args, texts []string, rule ChangeRule, walk source.Options) (SyncStats, []string) {
	t.Helper()
	w := openW(t, dir, Options{CommitEvery: 2})
	defer w.Close()
	m0 := w.Manifest()
	before := m0.Items()
	var walked []source.Item
	if err := source.Walk(context.Background(), args, walk, func(it source.Item) error {
		walked = append(walked, it)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	s, err := NewSync(context.Background(), w, walked, texts, SyncOptions{Rule: rule, Args: args, Walk: walk})
	if err != nil {
		t.Fatal(err)
	}
	var reported []string
	for _, e := range s.Failed() {
		reported = append(reported, e.Error())
	}
	for _, f := range s.Files() {
		vec, err := fakeEmbed(f.Name)
		err = s.Apply(f.Name, vec, err)
		var ie *InputError
		if errors.As(err, &ie) {
			reported = append(reported, err.Error())
		} else if err != nil {
			t.Fatal(err)
		}
	}
	for _, text := range s.Texts() {
		if err := s.ApplyText(text, vecFor(text, 0, 8)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Finish(); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	m1 := w.Manifest()
	if after := m1.Items(); after != before+st.Added+st.Texts-st.Removed() {
		t.Errorf("counts do not add up: %d items before, %d after, stats %+v", before, after, st)
	}
	if len(reported) != st.Failed {
		t.Errorf("%d input errors reported, %d counted: %v", len(reported), st.Failed, reported)
	}
	mustClose(t, w)
	return st, reported
}

// indexedPaths maps each live image's item path to the content its vector
// was made from (checked against the files' current bytes by the caller).
func indexedPaths(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, e := range contents(t, dir) {
		if e.it.IsText {
			out = append(out, "text:"+e.it.Text)
		} else {
			out = append(out, e.it.Path)
		}
	}
	slices.Sort(out)
	return out
}

func TestSyncIncremental(t *testing.T) {
	base := t.TempDir()
	work := filepath.Join(base, "work")
	writeFile(t, work, "shop/a.jpg", "a1")
	writeFile(t, work, "shop/b.jpg", "b1")
	writeFile(t, work, "shop/sub/c.jpg", "c1")
	writeFile(t, work, "other/d.jpg", "d1")
	dir := filepath.Join(work, "shop.idx") // root: work
	steps := []struct {
		name   string
		cwd    string // relative to work
		before func()
		args   []string
		texts  []string
		want   SyncStats
		items  []string
		errors []string // substrings of the reported input errors
	}{
		{name: "first run", args: []string{"shop"},
			want:  SyncStats{Added: 3},
			items: []string{"shop/a.jpg", "shop/b.jpg", "shop/sub/c.jpg"}},
		{name: "rerun", args: []string{"shop"},
			want:  SyncStats{Unchanged: 3},
			items: []string{"shop/a.jpg", "shop/b.jpg", "shop/sub/c.jpg"}},
		{name: "change b, delete c, add e", args: []string{"shop"},
			before: func() {
				writeFile(t, work, "shop/b.jpg", "b2-longer")
				os.Remove(filepath.Join(work, "shop/sub/c.jpg"))
				writeFile(t, work, "shop/e.jpg", "e1")
			},
			want:  SyncStats{Added: 1, Replaced: 1, Unchanged: 1, Vanished: 1},
			items: []string{"shop/a.jpg", "shop/b.jpg", "shop/e.jpg"}},
		{name: "another folder leaves shop's rows alone", args: []string{"other"},
			before: func() { os.Remove(filepath.Join(work, "shop/a.jpg")) },
			want:   SyncStats{Added: 1},
			items:  []string{"other/d.jpg", "shop/a.jpg", "shop/b.jpg", "shop/e.jpg"}},
		{name: "a pattern covers the files it would match", args: []string{"shop/*.jpg"},
			want:  SyncStats{Unchanged: 2, Vanished: 1},
			items: []string{"other/d.jpg", "shop/b.jpg", "shop/e.jpg"}},
		{name: "a changed file that no longer decodes loses its row", args: []string{"shop"},
			before: func() { writeFile(t, work, "shop/b.jpg", "bad bytes!") },
			want:   SyncStats{Unchanged: 1, Unreadable: 1, Failed: 1},
			items:  []string{"other/d.jpg", "shop/e.jpg"},
			errors: []string{"shop/b.jpg: unsupported image format"}},
		{name: "from another working folder the same files are the same items", cwd: "shop", args: []string{"."},
			want:   SyncStats{Unchanged: 1, Failed: 1}, // b.jpg still fails, and has no row to lose
			items:  []string{"other/d.jpg", "shop/e.jpg"},
			errors: []string{"b.jpg: unsupported image format"}},
		{name: "absolute arguments too", args: []string{filepath.Join(work, "other")},
			want:  SyncStats{Unchanged: 1},
			items: []string{"other/d.jpg", "shop/e.jpg"}},
		{name: "a NaN embedding is refused and the stale row dropped", args: []string{"shop/e.jpg"},
			before: func() { writeFile(t, work, "shop/e.jpg", "nan please") },
			want:   SyncStats{Unreadable: 1, Failed: 1},
			items:  []string{"other/d.jpg"},
			errors: []string{"shop/e.jpg: embedding value 3 (NaN) is not finite"}},
		{name: "texts once each", texts: []string{"red dress", "shoe", "red dress"},
			want:  SyncStats{Texts: 2},
			items: []string{"other/d.jpg", "text:red dress", "text:shoe"}},
		{name: "texts already indexed", texts: []string{"shoe"},
			items: []string{"other/d.jpg", "text:red dress", "text:shoe"}},
		{name: "a named file that is gone", args: []string{"other/d.jpg"},
			before: func() { os.Remove(filepath.Join(work, "other/d.jpg")) },
			want:   SyncStats{Vanished: 1, Failed: 1},
			items:  []string{"text:red dress", "text:shoe"},
			errors: []string{"other/d.jpg"}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			t.Chdir(filepath.Join(work, st.cwd))
			if st.before != nil {
				st.before()
			}
			got, reported := syncRun(t, dir, st.args, st.texts, BySizeMTime)
			if got != st.want {
				t.Errorf("stats %+v, want %+v", got, st.want)
			}
			if items := indexedPaths(t, dir); !slices.Equal(items, st.items) {
				t.Errorf("items %q, want %q", items, st.items)
			}
			if len(reported) != len(st.errors) {
				t.Errorf("reported %q, want %q", reported, st.errors)
			}
			for i := range min(len(reported), len(st.errors)) {
				if !strings.Contains(reported[i], st.errors[i]) {
					t.Errorf("reported %q, want %q", reported[i], st.errors[i])
				}
			}
			// Every image row holds the vector of the file's bytes when planned.
			for _, e := range contents(t, dir) {
				if e.it.IsText {
					continue
				}
				b, err := os.ReadFile(filepath.Join(work, e.it.Path))
				if err == nil && !slices.Equal(e.vec, vecFor(string(b), 0, 8)) {
					t.Errorf("%s holds a stale vector", e.it.Path)
				}
			}
		})
	}

	t.Run("a moved tree keeps its items", func(t *testing.T) {
		moved := filepath.Join(base, "moved")
		if err := os.Rename(work, moved); err != nil {
			t.Fatal(err)
		}
		writeFile(t, moved, "shop/e.jpg", "e3")
		t.Chdir(moved)
		dir := filepath.Join(moved, "shop.idx")
		if st, _ := syncRun(t, dir, []string{"shop"}, nil, BySizeMTime); st != (SyncStats{Added: 1, Failed: 1}) {
			t.Errorf("stats %+v", st)
		}
		ix, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer ix.Close()
		if ix.Root() != moved || ix.FilePath("shop/e.jpg") != filepath.Join(moved, "shop/e.jpg") {
			t.Errorf("root %s", ix.Root())
		}
	})
}

// A vanished file loses its row only when this run's walk would have found
// it, by every rule of the walk, not just by where it is.
func TestSyncVanishedByTheWalksRules(t *testing.T) {
	files := []string{"shop/a.jpg", "shop/.h.jpg", "shop/deep/x.jpg", "shop/notes.txt", "shop/.hid/y.jpg"}
	images := []string{"shop/a.jpg", "shop/.h.jpg", "shop/deep/x.jpg", "shop/.hid/y.jpg"}
	var shards [2][]string
	for _, f := range images {
		for k := range shards {
			if (source.Shard{Index: k, Of: 2}).Keeps(strings.TrimPrefix(f, "shop/")) {
				shards[k] = append(shards[k], f)
			}
		}
	}
	if len(shards[0]) == 0 || len(shards[1]) == 0 {
		t.Fatalf("shards %q: pick names that fall in both", shards)
	}
	tests := []struct {
		name string
		args []string
		walk source.Options
		gone []string // the rows dropped
	}{
		{"a plain walk skips hidden names and other extensions", []string{"shop"}, source.Options{MaxDepth: -1},
			[]string{"shop/a.jpg", "shop/deep/x.jpg"}},
		{"hidden names", []string{"shop"}, source.Options{MaxDepth: -1, Hidden: true},
			[]string{"shop/.h.jpg", "shop/.hid/y.jpg", "shop/a.jpg", "shop/deep/x.jpg"}},
		{"depth", []string{"shop"}, source.Options{MaxDepth: 0, Hidden: true},
			[]string{"shop/.h.jpg", "shop/a.jpg"}},
		{"a named file whatever its extension", []string{"shop/notes.txt"}, source.Options{MaxDepth: -1},
			[]string{"shop/notes.txt"}},
		{"a pattern", []string{"shop/*.txt"}, source.Options{MaxDepth: -1}, []string{"shop/notes.txt"}},
		{"shard 0 covers its own files only", []string{"shop"}, source.Options{MaxDepth: -1, Hidden: true, Shard: source.Shard{Index: 0, Of: 2}}, shards[0]},
		{"shard 1 too", []string{"shop"}, source.Options{MaxDepth: -1, Hidden: true, Shard: source.Shard{Index: 1, Of: 2}}, shards[1]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			work := t.TempDir()
			t.Chdir(work)
			for _, f := range files {
				writeFile(t, work, f, f)
			}
			dir := filepath.Join(work, "idx")
			if st, _ := syncRunWalk(t, dir, []string{"shop", "shop/notes.txt"}, nil, BySizeMTime,
				source.Options{MaxDepth: -1, Hidden: true}); st.Added != len(files) {
				t.Fatalf("first run %+v", st)
			}
			for _, f := range files {
				os.Remove(f)
			}
			st, _ := syncRunWalk(t, dir, tt.args, nil, BySizeMTime, tt.walk)
			var gone []string
			left := indexedPaths(t, dir)
			for _, f := range files {
				if !slices.Contains(left, f) {
					gone = append(gone, f)
				}
			}
			slices.Sort(gone)
			want := slices.Sorted(slices.Values(tt.gone))
			if !slices.Equal(gone, want) || st.Vanished != len(want) {
				t.Errorf("dropped %q (%d vanished), want %q", gone, st.Vanished, want)
			}
		})
	}
}

func TestSyncChangeRule(t *testing.T) {
	tests := []struct {
		name   string
		rule   ChangeRule
		change func(t *testing.T, p string)
		want   SyncStats
	}{
		{"size and mtime: touched", BySizeMTime, func(t *testing.T, p string) {
			os.Chtimes(p, time.Now(), time.Now())
		}, SyncStats{Replaced: 1}},
		{"size and mtime: same size, mtime restored", BySizeMTime, func(t *testing.T, p string) {
			writeFile(t, filepath.Dir(p), filepath.Base(p), "A1")
		}, SyncStats{Unchanged: 1}},
		{"sha256: touched", BySHA256, func(t *testing.T, p string) {
			os.Chtimes(p, time.Now(), time.Now())
		}, SyncStats{Unchanged: 1}},
		{"sha256: same size, mtime restored", BySHA256, func(t *testing.T, p string) {
			writeFile(t, filepath.Dir(p), filepath.Base(p), "A1")
		}, SyncStats{Replaced: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			work := t.TempDir()
			t.Chdir(work)
			writeFile(t, work, "a.jpg", "a1")
			dir := filepath.Join(work, "idx")
			if st, _ := syncRun(t, dir, []string{"a.jpg"}, nil, tt.rule); st != (SyncStats{Added: 1}) {
				t.Fatalf("first run %+v", st)
			}
			if tt.rule == BySHA256 {
				it := contents(t, dir)[PathKey("a.jpg")].it
				if sum := sha256.Sum256([]byte("a1")); it.SHA256 != hex.EncodeToString(sum[:]) {
					t.Errorf("sha256 column %q", it.SHA256)
				}
			}
			tt.change(t, filepath.Join(work, "a.jpg"))
			if st, _ := syncRun(t, dir, []string{"a.jpg"}, nil, tt.rule); st != tt.want {
				t.Errorf("stats %+v, want %+v", st, tt.want)
			}
		})
	}
}

// Inputs that are not regular files are failed inputs at once: a FIFO
// would block the stat-and-hash pass, /dev/zero would never end.
func TestSyncRefusesSpecialFiles(t *testing.T) {
	work := t.TempDir()
	t.Chdir(work)
	if err := syscall.Mkfifo("pipe.jpg", 0o644); err != nil {
		t.Skip(err)
	}
	if err := os.Symlink("/dev/zero", "zero.jpg"); err != nil {
		t.Skip(err)
	}
	writeFile(t, work, "ok.jpg", "fine")
	for _, rule := range []ChangeRule{BySizeMTime, BySHA256} {
		done := make(chan struct{})
		var st SyncStats
		var reported []string
		go func() {
			defer close(done)
			st, reported = syncRun(t, filepath.Join(work, "idx"), []string{"pipe.jpg", "zero.jpg", "ok.jpg"}, nil, rule)
		}()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("planning blocked on a special file")
		}
		if st.Failed != 2 || len(reported) != 2 || !strings.Contains(reported[0], "pipe.jpg: not a regular file") ||
			!strings.Contains(reported[1], "zero.jpg: not a regular file") {
			t.Errorf("rule %d: %+v %q", rule, st, reported)
		}
	}
}

func TestSyncContract(t *testing.T) {
	work := t.TempDir()
	t.Chdir(work)
	writeFile(t, work, "a.jpg", "a1")
	writeFile(t, work, "b.jpg", "b1")
	w := openW(t, filepath.Join(work, "idx"), Options{})
	defer w.Close()
	walked := []source.Item{{Path: "a.jpg", Arg: "a.jpg", Rel: "a.jpg"}, {Path: "./b.jpg", Arg: "./b.jpg", Rel: "./b.jpg"},
		{Path: "b.jpg", Arg: "b.jpg", Rel: "b.jpg"}}
	s, err := NewSync(context.Background(), w, walked, nil, SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if names := slices.Collect(func(yield func(string) bool) {
		for _, f := range s.Files() {
			if !yield(f.Name + "=" + f.Item.Path) {
				return
			}
		}
	}); !slices.Equal(names, []string{"a.jpg=a.jpg", "./b.jpg=b.jpg"}) {
		t.Errorf("planned %q: one file, one item, whatever its spelling", names)
	}
	if err := s.Apply("c.jpg", vecFor("c", 0, 8), nil); err == nil {
		t.Error("an unplanned file was applied")
	}
	if err := s.Apply("a.jpg", vecFor("a", 0, 8), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Apply("a.jpg", vecFor("a", 0, 8), nil); err == nil {
		t.Error("a file was applied twice")
	}
	if err := s.Finish(); err == nil || !strings.Contains(err.Error(), "./b.jpg") {
		t.Errorf("Finish with a file not applied: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := NewSync(ctx, w, walked, nil, SyncOptions{Rule: BySHA256}); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled plan: %v", err)
	}
}
