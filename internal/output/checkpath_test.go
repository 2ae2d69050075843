package output

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckWritable(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	readOnly := filepath.Join(dir, "ro")
	os.Mkdir(readOnly, 0o555)
	cases := []struct {
		path, want string // want: "" or in the error
	}{
		{filepath.Join(dir, "report.html"), ""},
		{file, ""}, // replaced later
		{filepath.Join(dir, "no", "such", "r.html"), "does not exist"},
		{filepath.Join(file, "r.html"), "is not a folder"},
		{dir, "is a folder"},
	}
	if os.Geteuid() != 0 { // root writes anywhere
		cases = append(cases, struct{ path, want string }{filepath.Join(readOnly, "r.html"), "cannot write in"})
	}
	for _, c := range cases {
		err := CheckWritable(c.path)
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("CheckWritable(%s) = %v, want %q", c.path, err, c.want)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*probe")); len(left) != 0 {
		t.Errorf("probes left behind: %v", left)
	}
}
