package searchcmd

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/fashionclip/fashionclip/internal/cmdutil/cmdtest"
	"github.com/fashionclip/fashionclip/internal/query"
)

// TestSearchFlags checks how search's arguments become query terms and
// which combinations are usage errors, through runF: no index is opened.
func TestSearchFlags(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "2:odd name.jpg") // exists, so never read as W:FILE
	if err := os.WriteFile(img, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		terms   []query.Term
		wantErr string // substring of a usage error
	}{
		{name: "text terms", args: []string{"idx", "white sneaker", "-", "logo", "+", "2:chunky sole"},
			terms: []query.Term{{Weight: 1, Text: "white sneaker"}, {Weight: -1, Text: "logo"}, {Weight: 2, Text: "chunky sole"}}},
		{name: "image first", args: []string{"idx", "--image", "-0.5:" + img, "-", "stripes"},
			terms: []query.Term{{Weight: -0.5, Image: img}, {Weight: -1, Text: "stripes"}}},
		{name: "an image named like a weight", args: []string{"idx", "--image", img},
			terms: []query.Term{{Weight: 1, Image: img}}},
		{name: "no query", args: []string{"idx"}, wantErr: "no query"},
		{name: "two terms without an operator", args: []string{"idx", "a", "b"}, wantErr: "+ or -"},
		{name: "kinds exclude each other", args: []string{"idx", "a", "--images-only", "--texts-only"}, wantErr: "exclude each other"},
		{name: "paths and texts", args: []string{"idx", "a", "--paths", "--texts-only"}, wantErr: "--paths"},
		{name: "paths and format", args: []string{"idx", "a", "--paths", "-f", "json"}, wantErr: "--paths"},
		{name: "zero k", args: []string{"idx", "a", "-k", "0"}, wantErr: "--top-k"},
		{name: "bad image weight", args: []string{"idx", "--image", "1e:nothing.jpg"}, wantErr: "--image"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := cmdtest.Parse(t, NewCmdSearch, nil, tc.args...)
			if tc.wantErr != "" {
				cmdtest.WantUsageError(t, err, tc.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Terms) != len(tc.terms) {
				t.Fatalf("terms %+v, want %+v", got.Terms, tc.terms)
			}
			for i := range tc.terms {
				if got.Terms[i] != tc.terms[i] {
					t.Errorf("term %d: %+v, want %+v", i, got.Terms[i], tc.terms[i])
				}
			}
		})
	}
}
