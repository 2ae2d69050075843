package output

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if got != string(want) {
		t.Errorf("differs from %s\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// The tables the first-hour report measured too wide for 80 columns, with
// values of the kinds they hold.
var wideTables = []struct {
	name   string
	header []string
	kinds  []ColumnKind
	rows   [][]string
}{
	{name: "index-info", header: []string{"FIELD", "VALUE"}, kinds: []ColumnKind{KeepColumn, TextColumn},
		rows: [][]string{
			{"index", "/home/alex/catalogs/summer-2024/women/dresses-and-skirts/fashionclip-index"},
			{"items", "48213 (48190 images, 23 texts)"},
			{"garbage", "12 rows (1.6 MB); 'fashionclip index compact' removes them"},
			{"model", "patrickjohncyh/fashion-clip @ 2e8dd07cc3a5e4d0b7c2a7c2d4e3f1a0b9c8d7e6 (/home/alex/.cache/huggingface/hub/models--patrickjohncyh--fashion-clip/snapshots/2e8dd07cc3a5)"},
			{"written by", "fashionclip v0.9.0"},
		}},
	{name: "model-list", header: []string{"REPO", "REVISIONS", "SNAPSHOTS", "SIZE", "PATH"},
		kinds: []ColumnKind{TextColumn, TextColumn, NumberColumn, NumberColumn, PathColumn},
		rows: [][]string{
			{"patrickjohncyh/fashion-clip", "main 2e8dd07", "1", "605.1 MB", "/home/alex/.cache/huggingface/hub/models--patrickjohncyh--fashion-clip"},
			{"Marqo/marqo-fashionSigLIP", "main", "2", "1.6 GB", "/home/alex/.cache/huggingface/hub/models--Marqo--marqo-fashionSigLIP"},
		}},
	{name: "confusion", header: []string{"TRUTH \\ PREDICTED", "t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"},
		kinds: []ColumnKind{TextColumn, NumberColumn, NumberColumn, NumberColumn, NumberColumn, NumberColumn, NumberColumn, NumberColumn, NumberColumn, NumberColumn, NumberColumn},
		rows: [][]string{
			{"t-shirt", "812", "3", "21", "48", "5", "1", "101", "0", "9", "0"},
			{"ankle boot", "0", "0", "0", "0", "0", "35", "0", "41", "2", "922"},
		}},
	{name: "classify-groups", header: []string{"PATH", "LABELS", "COLOUR", "TYPE"},
		kinds: []ColumnKind{PathColumn, TextColumn, TextColumn, TextColumn},
		rows: [][]string{
			{"catalog/2024/summer/women/dresses/red-dress-with-long-sleeves.jpg", "sneaker 0.7323, boot 0.2677", "black 0.5804, red 0.2381", "dress 0.6254, bag 0.3746"},
			{"images/white-sneaker.png", "sneaker 0.7380, boot 0.2620", "black 0.5877, red 0.2323", "dress 0.6236, bag 0.3764"},
		}},
}

func TestTablesFitTheTerminal(t *testing.T) {
	for _, tc := range wideTables {
		for _, width := range []int{80, 160} {
			t.Run(tc.name+"-"+strconv.Itoa(width), func(t *testing.T) {
				var b bytes.Buffer
				w := NewTable(&b, TableOptions{Width: width, Kinds: tc.kinds}, tc.header...)
				for _, r := range tc.rows {
					w.Append(r...)
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				for _, l := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
					if DisplayWidth(l) > width {
						t.Errorf("line of %d cells at %d columns: %s", DisplayWidth(l), width, l)
					}
				}
				golden(t, tc.name+"-"+strconv.Itoa(width), b.String())
			})
		}
	}
}

func TestTableWithoutWidthDrawsCellsWhole(t *testing.T) {
	tc := wideTables[3]
	var b bytes.Buffer
	w := NewTable(&b, TableOptions{Kinds: tc.kinds}, tc.header...)
	for _, r := range tc.rows {
		w.Append(r...)
	}
	w.Close()
	for _, r := range tc.rows {
		for _, c := range r {
			if !strings.Contains(b.String(), c) {
				t.Fatalf("cell %q cut with no width to fit:\n%s", c, b.String())
			}
		}
	}
}

// TestTableStreamsIntoOneTable: a long run flushed every few rows is one
// table (one header, one bottom border), not a new boxed table each time.
func TestTableStreamsIntoOneTable(t *testing.T) {
	var b bytes.Buffer
	w := NewTable(&b, TableOptions{Width: 60, Kinds: []ColumnKind{PathColumn, TextColumn}}, "PATH", "LABELS")
	for i := 0; i < 45; i++ {
		p := "images/a.jpg"
		if i == 30 { // longer than anything the widths were fixed from
			p = "images/later/a/much/longer/folder/name/than/before/x.jpg"
		}
		w.Append(p, "dress 0.9000, bag 0.1000")
		if w.Started() || w.Len() >= 20 {
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
		}
		if i == 19 && !strings.Contains(b.String(), "a.jpg") {
			t.Fatal("no row drawn after 20 rows")
		}
		if i == 25 && strings.Count(b.String(), "a.jpg") != 26 {
			t.Fatalf("rows not streamed once open: %d drawn", strings.Count(b.String(), "a.jpg"))
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, s := range []string{"┌", "PATH", "├", "└"} {
		if n := strings.Count(out, s); n != 1 {
			t.Fatalf("%q drawn %d times:\n%s", s, n, out)
		}
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	first := DisplayWidth(lines[0])
	for _, l := range lines {
		if DisplayWidth(l) != first {
			t.Fatalf("ragged table (a later, longer cell widened a row):\n%s", out)
		}
	}
	if !strings.Contains(out, "…/x.jpg") {
		t.Fatalf("the long path was not cut in the middle:\n%s", out)
	}
}

func TestTableEscapesControlCharacters(t *testing.T) {
	var b bytes.Buffer
	w := NewTableWriter(&b, "PATH")
	w.Append("new\nline\x1b[31m.jpg")
	w.Close()
	if strings.Count(b.String(), "\n") != 5 || strings.Contains(b.String(), "\x1b") || !strings.Contains(b.String(), `new\nline\x1b[31m.jpg`) {
		t.Fatalf("control characters drawn raw:\n%q", b.String())
	}
}

func TestPlainTable(t *testing.T) {
	var b bytes.Buffer
	w := NewTable(&b, TableOptions{Plain: true, Width: 20}, "FIELD", "VALUE")
	w.Append("index", "/a/very/long/path/that/is/not/cut/in/a/pipe")
	w.Append("note", "tab\there")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := "index\t/a/very/long/path/that/is/not/cut/in/a/pipe\nnote\ttab\\there\n"
	if b.String() != want {
		t.Fatalf("got %q, want %q", b.String(), want)
	}
}

func TestEmptyTableDrawsNothing(t *testing.T) {
	var b bytes.Buffer
	w := NewTableWriter(&b, "A", "B")
	if err := w.Close(); err != nil || b.Len() != 0 {
		t.Fatalf("%q, %v", b.String(), err)
	}
}

func TestTruncateMiddle(t *testing.T) {
	cases := []struct {
		in   string
		w    int
		want string
	}{
		{"images/a.jpg", 20, "images/a.jpg"},
		{"catalog/2024/summer/women/red-dress.jpg", 26, "catalog/202…/red-dress.jpg"},
		{"catalog/2024/red-dress.jpg", 15, "…/red-dress.jpg"},
		{"catalog/a-very-long-file-name.jpeg", 16, "…/a-very…me.jpeg"},
		{"catalog/a-very-long-file-name.jpeg", 10, "cata….jpeg"},
		{"a-very-long-file-name.jpeg", 11, "a-ver….jpeg"},
		{"日本語/写真/赤いドレス.jpg", 20, "日本…/赤いドレス.jpg"},
		{"x/y.jpg", 1, "…"},
		{"x/y.jpg", 0, ""},
	}
	for _, c := range cases {
		got := TruncateMiddle(c.in, c.w)
		if got != c.want || DisplayWidth(got) > max(c.w, 0) {
			t.Errorf("TruncateMiddle(%q, %d) = %q (%d cells), want %q", c.in, c.w, got, DisplayWidth(got), c.want)
		}
	}
}

func TestWrap(t *testing.T) {
	cases := []struct {
		in   string
		w    int
		want []string
	}{
		{"dress 0.9000, bag 0.1000", 30, []string{"dress 0.9000, bag 0.1000"}},
		{"dress 0.9000, bag 0.1000", 14, []string{"dress 0.9000,", "bag 0.1000"}},
		{"supercalifragilistic", 8, []string{"supercal", "ifragili", "stic"}},
		{"patrickjohncyh/fashion-clip", 17, []string{"patrickjohncyh/", "fashion-clip"}},
		{"日本語のラベル", 5, []string{"日本", "語の", "ラベ", "ル"}},
		{"", 5, []string{""}},
	}
	for _, c := range cases {
		got := Wrap(c.in, c.w)
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("Wrap(%q, %d) = %q, want %q", c.in, c.w, got, c.want)
		}
		for _, l := range got {
			if DisplayWidth(l) > c.w {
				t.Errorf("Wrap(%q, %d): line %q too wide", c.in, c.w, l)
			}
		}
	}
}

func TestDisplayWidth(t *testing.T) {
	cases := map[string]int{"abc": 3, "日本": 4, "e\u0301": 1, "👗": 2, "a\u200db": 2, "": 0}
	for s, want := range cases {
		if got := DisplayWidth(s); got != want {
			t.Errorf("DisplayWidth(%q) = %d, want %d", s, got, want)
		}
	}
}

// sizedWriter is a stream that knows its terminal's width, as iostreams'
// stdout does.
type sizedWriter struct {
	bytes.Buffer
	width int
}

func (s *sizedWriter) TermWidth() int { return s.width }

// A table on a stream that knows its width fits it with no option given;
// an explicit Width wins.
func TestTableTakesTheStreamsWidth(t *testing.T) {
	for _, tc := range []struct{ stream, option, want int }{{50, 0, 50}, {50, 70, 70}, {0, 0, 0}} {
		w := &sizedWriter{width: tc.stream}
		tab := NewTable(w, TableOptions{Width: tc.option}, "PATH", "LABELS")
		tab.Append(strings.Repeat("folder/", 12)+"image.jpg", "dress 0.9, boot 0.05, sandal 0.03, sneaker 0.01, bag 0.01")
		tab.Close()
		widest := 0
		for _, l := range strings.Split(strings.TrimSpace(w.String()), "\n") {
			widest = max(widest, DisplayWidth(l))
		}
		if tc.want > 0 && widest != tc.want || tc.want == 0 && widest <= 80 {
			t.Errorf("stream %d, option %d: widest line %d, want %d (0: drawn whole)\n%s", tc.stream, tc.option, widest, tc.want, w.String())
		}
	}
}
