package bench

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseLabelsMap(t *testing.T) {
	tests := []struct {
		name, in string
		want     LabelsMap
		err      string
	}{
		{"equals lines", "# Kaggle → prompts\nTshirts = t-shirt\n\nTrack Pants=track pants\n",
			LabelsMap{"Tshirts": "t-shirt", "Track Pants": "track pants"}, ""},
		{"tsv wins over equals", "a=b\tc\nx\ty\n", LabelsMap{"a=b": "c", "x": "y"}, ""},
		{"json", "\ufeff {\"Tshirts\": \"t-shirt\", \"Tops\": \"top\"}\n", LabelsMap{"Tshirts": "t-shirt", "Tops": "top"}, ""},
		{"json duplicate", `{"a": "x", "a": "y"}`, nil, "mapped twice"},
		{"json non-string", `{"a": 3}`, nil, "want a string"},
		{"text duplicate", "a=x\na=y\n", nil, "line 2: class \"a\" mapped twice"},
		{"no separator", "a=x\njust words\n", nil, "line 2"},
		{"empty side", "a=\n", nil, "empty class name"},
		{"empty file", "# nothing\n\n", nil, "no mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseLabelsMap([]byte(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReadLabelsMapNamesFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "map.txt")
	os.WriteFile(p, []byte("oops\n"), 0o644)
	if _, err := ReadLabelsMap(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Fatalf("err = %v, want the file named", err)
	}
}
