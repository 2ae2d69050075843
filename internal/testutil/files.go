package testutil

import (
	"io/fs"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// ListFiles lists the files under dir (not folders), in walk order: tests
// compare it before and after a run to prove a folder was not written.
func ListFiles(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Median is the middle of ts (the upper one of an even count), for A/B
// benchmarks that report medians of alternated runs.
func Median(ts []time.Duration) time.Duration {
	s := slices.Clone(ts)
	slices.Sort(s)
	return s[len(s)/2]
}
