package output

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
)

func TestFormatRules(t *testing.T) {
	listing := []Format{Table, JSON}
	cases := []struct {
		name    string
		rule    FormatRule
		flag    string
		tty     bool
		allowed []Format
		want    Format
		wantErr bool
	}{
		{"results on a terminal", Results, "", true, nil, Table, false},
		{"results in a pipe", Results, "", false, nil, JSONL, false},
		{"results without JSON Lines", Results, "", false, []Format{Table, JSON}, JSON, false},
		{"results, asked", Results, "TSV", true, nil, TSV, false},
		{"results, unknown", Results, "xml", false, nil, "", true},
		{"listing on a terminal", Listing, "", true, listing, Table, false},
		// gh's rule: text in a pipe, so `| grep` works; JSON only when asked.
		{"listing in a pipe", Listing, "", false, listing, Plain, false},
		{"listing, JSON asked", Listing, "json", false, listing, JSON, false},
		{"listing, table asked in a pipe", Listing, "table", false, listing, Table, false},
		{"listing, JSON first in the list", Listing, "", false, []Format{JSON, Table}, Plain, false},
		{"listing, plain is no flag value", Listing, "plain", false, listing, "", true},
	}
	for _, c := range cases {
		got, err := c.rule.Resolve(c.flag, c.tty, c.allowed...)
		if (err != nil) != c.wantErr || got != c.want {
			t.Errorf("%s: Resolve(%q, %v) = %q, %v; want %q (error %v)", c.name, c.flag, c.tty, got, err, c.want, c.wantErr)
		}
	}
}

func TestPlural(t *testing.T) {
	cases := []struct {
		n    int
		noun string
		want string
	}{
		{1, "chunk", "1 chunk"}, {0, "chunk", "0 chunks"}, {2, "item", "2 items"}, {3, "index", "3 indexes"},
		{2, "class", "2 classes"}, {2, "entry", "2 entries"}, {2, "stale entry", "2 stale entries"},
		{2, "key", "2 keys"}, {2, "snapshot", "2 snapshots"}, {1, "snapshot", "1 snapshot"}, {2, "match", "2 matches"},
	}
	for _, c := range cases {
		if got := Plural(c.n, c.noun); got != c.want {
			t.Errorf("Plural(%d, %q) = %q, want %q", c.n, c.noun, got, c.want)
		}
	}
	if got := PluralNoun(3, "input"); got != "inputs" {
		t.Errorf("PluralNoun = %q", got)
	}
}

func TestFormatBytes(t *testing.T) {
	cases := map[int64]string{0: "0 B", 999: "999 B", 1000: "1.0 kB", 605_100_000: "605.1 MB", 3 << 30: "3.2 GB"}
	for n, want := range cases {
		if got := FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestRowWriterKeepsAwkwardNamesOnOneRow(t *testing.T) {
	names := []string{"plain.jpg", "tab\there.jpg", "new\nline.jpg", `back\slash.jpg`, `comma, "quoted".jpg`, "cr\r.jpg"}
	t.Run("tsv", func(t *testing.T) {
		var b bytes.Buffer
		w := NewRowWriter(&b, TSV)
		for _, n := range names {
			if err := w.Write(n, "", "label", "0.5"); err != nil {
				t.Fatal(err)
			}
		}
		lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
		if len(lines) != len(names) {
			t.Fatalf("%d names gave %d lines:\n%s", len(names), len(lines), b.String())
		}
		unescape := strings.NewReplacer(`\\`, "\\", `\t`, "\t", `\n`, "\n", `\r`, "\r")
		for i, l := range lines {
			fields := strings.Split(l, "\t")
			if len(fields) != 4 {
				t.Fatalf("line %q has %d fields", l, len(fields))
			}
			if got := unescape.Replace(fields[0]); got != names[i] {
				t.Fatalf("round trip %q -> %q", names[i], got)
			}
		}
	})
	t.Run("csv", func(t *testing.T) {
		var b bytes.Buffer
		w := NewRowWriter(&b, CSV)
		for _, n := range names {
			if err := w.Write(n, "g", "label", "0.5"); err != nil {
				t.Fatal(err)
			}
		}
		rows, err := csv.NewReader(&b).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range rows {
			// encoding/csv folds \r\n inside quotes; a lone \r is kept.
			if r[0] != names[i] || len(r) != 4 {
				t.Fatalf("row %d = %q, want %q", i, r, names[i])
			}
		}
	})
}

func TestRecordWriterArrayAndLines(t *testing.T) {
	for _, array := range []bool{false, true} {
		for _, n := range []int{0, 1, 3} {
			var b bytes.Buffer
			w := NewRecordWriter(&b, array)
			for i := 0; i < n; i++ {
				if err := w.Write(map[string]int{"i": i}); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if array {
				var got []map[string]int
				if err := json.Unmarshal(b.Bytes(), &got); err != nil || len(got) != n {
					t.Fatalf("array of %d: %q (%v)", n, b.String(), err)
				}
				continue
			}
			lines := strings.Split(strings.TrimSpace(b.String()), "\n")
			if n == 0 && b.Len() != 0 || n > 0 && len(lines) != n {
				t.Fatalf("jsonl of %d: %q", n, b.String())
			}
		}
	}
}

func TestTableWriter(t *testing.T) {
	var b bytes.Buffer
	tw := NewTableWriter(&b, "PATH", "LABELS")
	tw.Append("a.jpg", "sneaker 0.9100")
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"PATH", "LABELS", "a.jpg", "sneaker 0.9100"} {
		if !strings.Contains(b.String(), want) {
			t.Fatalf("table lacks %q:\n%s", want, b.String())
		}
	}
}

func TestRecordWriterDoesNotEscapeHTML(t *testing.T) {
	var b bytes.Buffer
	w := NewRecordWriter(&b, false)
	if err := w.Write(map[string]string{"text": "scarf & gloves <|endoftext|>"}); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), `{"text":"scarf & gloves <|endoftext|>"}`+"\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
