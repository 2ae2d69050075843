package labels

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fashionclip/fashionclip/internal/fuzzseed"
	"github.com/fashionclip/fashionclip/internal/testutil"
	"github.com/fashionclip/fashionclip/pkg/tokenizer"
)

func TestSplit(t *testing.T) {
	cases := []struct {
		in   string
		want []string
		err  string
	}{
		{"dress,boot, sandal ", []string{"dress", "boot", "sandal"}, ""},
		{`3" heel,flat`, []string{`3" heel`, "flat"}, ""},
		{`boot 12"`, []string{`boot 12"`}, ""},
		{`"t-shirt, cotton",jeans`, []string{"t-shirt, cotton", "jeans"}, ""},
		{` "a ""quoted"" word" , b`, []string{`a "quoted" word`, "b"}, ""},
		{`"",a,,  ,b,`, []string{"a", "b"}, ""},
		{`x,"a, b`, nil, "never closed"},
		{`"a"b,c`, nil, "text after the quoted label"},
		{"", nil, ""},
	}
	for _, c := range cases {
		got, err := Split(c.in)
		if c.err != "" {
			var se *SyntaxError
			if !errors.As(err, &se) || !strings.Contains(err.Error(), c.err) {
				t.Errorf("Split(%q): err %v, want a SyntaxError with %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("Split(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestReadLines(t *testing.T) {
	in := "\xef\xbb\xbfdress\n\n  # a comment\n#another\nboot # not a comment\n  sandal  \r\n"
	got, err := ReadLines(strings.NewReader(in))
	if want := []string{"dress", "boot # not a comment", "sandal"}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("got %q, %v; want %q", got, err, want)
	}
}

func TestCheckDistinctUsesTheTokenizersNormalisation(t *testing.T) {
	tok, err := tokenizer.Load(filepath.Join(testutil.SharedDir(t), "clip-tokenizer"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		labels         []string
		label, earlier string // "" when distinct
	}{
		{[]string{"dress", "boot", "red dress"}, "", ""},
		{[]string{"dress", "boot", "dress"}, "dress", "dress"},
		{[]string{"Dress", "boot", "dress"}, "dress", "Dress"},
		{[]string{"red  dress", "red\tDRESS"}, "red\tDRESS", "red  dress"},
		{[]string{"t-shirt", "tshirt", "t shirt"}, "", ""},
	}
	for _, c := range cases {
		err := CheckDistinct(c.labels, tok.Encode)
		var de *DuplicateError
		switch {
		case c.label == "" && err != nil:
			t.Errorf("%q: %v, want distinct", c.labels, err)
		case c.label != "" && (!errors.As(err, &de) || de.Label != c.label || de.Earlier != c.earlier):
			t.Errorf("%q: %v, want %q repeating %q", c.labels, err, c.label, c.earlier)
		}
	}
}

// splitSeeds are the seeds of FuzzSplit (testdata/fuzz, -write-seeds):
// the cases of TestSplit.
var splitSeeds = []string{`dress,boot, sandal `, `3" heel,flat`, `"t-shirt, cotton",jeans`, ` "a ""quoted"" word" , b`, `"",a,,  ,b,`, `x,"a, b`, `"a"b,c`}

// linesSeeds are the seeds of FuzzReadLines: TestReadLines's file, and
// one with a long line and CRLF endings.
var linesSeeds = []string{"\xef\xbb\xbfdress\n\n  # a comment\n#another\nboot # not a comment\n  sandal  \r\n",
	"a\r\n\r\n#\r\n" + strings.Repeat("x", 5000) + "\r\nb"}

func TestWriteFuzzSeeds(t *testing.T) {
	fuzzseed.SkipUnlessWriting(t)
	for i, s := range splitSeeds {
		if err := fuzzseed.Write("testdata/fuzz", "FuzzSplit", fmt.Sprintf("list%d", i), s); err != nil {
			t.Fatal(err)
		}
	}
	for i, s := range linesSeeds {
		if err := fuzzseed.Write("testdata/fuzz", "FuzzReadLines", fmt.Sprintf("file%d", i), []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzReadLines: every entry is trimmed, non-empty and no comment, and
// reading the entries back as a file gives them again.
func FuzzReadLines(f *testing.F) {
	for _, s := range linesSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ReadLines(bytes.NewReader(data))
		if err != nil {
			return // a line over the scanner's limit
		}
		for _, l := range got {
			if l == "" || l != strings.TrimSpace(l) || strings.HasPrefix(l, "#") || strings.ContainsAny(l, "\n") {
				t.Fatalf("%q: entry %q", data, l)
			}
		}
		again, err := ReadLines(strings.NewReader(strings.Join(got, "\n")))
		if err != nil || !slices.Equal(again, got) {
			t.Fatalf("%q: %q read back as %q, %v", data, got, again, err)
		}
	})
}

// FuzzSplit: any list either fails with a SyntaxError or splits into
// trimmed, non-empty labels that split back to themselves once quoted.
func FuzzSplit(f *testing.F) {
	for _, s := range splitSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, list string) {
		got, err := Split(list)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("%q: %T %v", list, err, err)
			}
			return
		}
		quoted := make([]string, len(got))
		for i, l := range got {
			if l == "" || l != strings.TrimSpace(l) {
				t.Fatalf("%q: label %q is empty or untrimmed", list, l)
			}
			quoted[i] = `"` + strings.ReplaceAll(l, `"`, `""`) + `"`
		}
		again, err := Split(strings.Join(quoted, ","))
		if err != nil || !slices.Equal(again, got) {
			t.Fatalf("%q: %q quoted splits into %q, %v", list, got, again, err)
		}
	})
}

func TestTruncated(t *testing.T) {
	tok, err := tokenizer.Load(filepath.Join(testutil.SharedDir(t), "clip-tokenizer"))
	if err != nil {
		t.Fatal(err)
	}
	fits := strings.TrimSpace(strings.Repeat("red ", 75)) // 75 content tokens: exactly full
	long := fits + " dress"
	got := Truncated([]string{"a photo of a dress", fits, long}, tok)
	if !slices.Equal(got, []string{long}) {
		t.Fatalf("got %q, want only the 76-token text", got)
	}
	// A 30 MB one-word text (an unlimited encode of it ran 84 s) is
	// reported at the cost of what the limit keeps.
	if got := Truncated([]string{strings.Repeat("x", 30<<20)}, tok); len(got) != 1 {
		t.Fatalf("the 30 MB text is not reported")
	}
}
