package output

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// CheckWritable tells, before a long run, whether a file can be written at
// path later: its folder exists, is a folder, and takes a new file; path
// itself is not a folder. The check leaves nothing behind.
func CheckWritable(path string) error {
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("%s: the folder %s does not exist", path, dir)
	}
	if !st.IsDir() {
		return fmt.Errorf("%s: %s is not a folder", path, dir)
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return fmt.Errorf("%s is a folder", path)
	}
	probe, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.probe")
	if err != nil {
		return fmt.Errorf("%s: cannot write in %s: %w", path, dir, errors.Unwrap(err))
	}
	probe.Close()
	return os.Remove(probe.Name())
}
