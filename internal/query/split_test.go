package query

import (
	"reflect"
	"strings"
	"testing"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{"white sneaker", []string{"white sneaker"}, ""},
		{"  red   floral dress ", []string{"red   floral dress"}, ""},
		{"white sneaker - logo + 2:chunky sole", []string{"white sneaker", "-", "logo", "+", "2:chunky sole"}, ""},
		{`"white sneaker" - "logo" + 2:"chunky sole"`, []string{"white sneaker", "-", "logo", "+", "2:chunky sole"}, ""},
		{"3-pack crew socks", []string{"3-pack crew socks"}, ""},
		{"t-shirt +jeans", []string{"t-shirt +jeans"}, ""},
		{`"a - b" + c`, []string{"a - b", "+", "c"}, ""},
		{`"+"`, []string{"+"}, ""},
		{`\- x`, []string{"- x"}, ""},
		{`say \"hi\"`, []string{`say "hi"`}, ""},
		{`1:"12:30 watch"`, []string{"1:12:30 watch"}, ""},
		{"women's boho dress", []string{"women's boho dress"}, ""},
		{"a\t-\tb", []string{"a", "-", "b"}, ""},
		{`a - ""`, []string{"a", "-", ""}, ""},
		{"- a", []string{"-", "a"}, ""},
		{"a - - b", []string{"a", "-", "-", "b"}, ""},
		{"", nil, ""},
		{`"unclosed`, nil, "unbalanced"},
	}
	for _, tt := range tests {
		got, err := Split(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Split(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Split(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// Split then Parse must give the terms the CLI gives for the same query
// typed as separate shell arguments.
func TestSplitThenParseMatchesTheCLI(t *testing.T) {
	none := func(string) bool { return false }
	for _, c := range []struct {
		typed string
		args  []string
	}{
		{`"white sneaker" - "logo" + 2:"chunky sole"`, []string{"white sneaker", "-", "logo", "+", "2:chunky sole"}},
		{"red dress - 0.5:stripes", []string{"red dress", "-", "0.5:stripes"}},
	} {
		args, err := Split(c.typed)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Parse(args, nil, none)
		if err != nil {
			t.Fatal(err)
		}
		want, err := Parse(c.args, nil, none)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%q: terms %+v, the CLI's %+v", c.typed, got, want)
		}
	}
}

func FuzzSplit(f *testing.F) {
	for _, s := range []string{`"white sneaker" - "logo" + 2:"chunky sole"`, `a \" b`, `"x`, "a - - b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		args, err := Split(s)
		if err != nil {
			return
		}
		for _, a := range args {
			if a != strings.TrimSpace(a) && a != "+" && a != "-" && !strings.ContainsAny(s, `"\`) {
				t.Fatalf("Split(%q): untrimmed term %q", s, a)
			}
		}
		// Parse must never panic on what Split gives.
		Parse(args, nil, func(string) bool { return false })
	})
}
