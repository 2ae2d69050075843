package cmdutil

import (
	"fmt"
	"os"

	"github.com/fashionclip/fashionclip/internal/labels"
)

// ReadLinesFile reads a list file (labels, texts, templates): one entry a
// line; blank lines and # comments are skipped (labels.ReadLines).
func ReadLinesFile(path string) ([]string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	out, err := labels.ReadLines(fh)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no entry (blank lines and # comments do not count)", path)
	}
	return out, nil
}
