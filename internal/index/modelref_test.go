package index

import (
	"errors"
	"path/filepath"
	"testing"
)

func TestModelRef(t *testing.T) {
	dir := t.TempDir()
	gone := filepath.Join(dir, "moved-away")
	cases := []struct {
		name string
		info ModelInfo
		want string
		gone bool
	}{
		{"a folder that exists wins over the repo", ModelInfo{Folder: dir, Repo: "o/n", Revision: "abc"}, dir, false},
		{"a folder that is gone", ModelInfo{Folder: gone, Repo: "o/n"}, "", true},
		{"a repo at a revision", ModelInfo{Repo: "o/n", Revision: "abc"}, "o/n@abc", false},
		{"a repo", ModelInfo{Repo: "o/n"}, "o/n", false},
		{"nothing recorded", ModelInfo{Graph: "g"}, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ModelRef("cat.idx", c.info)
			var ge *ModelFolderGoneError
			if c.gone != errors.As(err, &ge) || got != c.want {
				t.Fatalf("ModelRef = %q, %v; want %q (folder gone: %v)", got, err, c.want, c.gone)
			}
			if c.gone && (ge.Folder != gone || ge.Index != "cat.idx") {
				t.Errorf("error %+v", ge)
			}
		})
	}
}
