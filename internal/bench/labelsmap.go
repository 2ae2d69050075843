package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// LabelsMap renames dataset classes into the words the prompts use
// (Kaggle's "Tshirts" → "t-shirt").
type LabelsMap map[string]string

// ReadLabelsMap reads a labels map file in one of two forms:
//
//   - a JSON object {"Tshirts": "t-shirt", ...} (the file's first non-blank
//     character is '{');
//   - text, one mapping a line: "from<TAB>to", or "from=to" when the line
//     has no tab. Blank lines and lines starting with '#' are ignored;
//     spaces around both sides are trimmed.
//
// A class named twice is an error, as is an empty name on either side.
func ReadLabelsMap(path string) (LabelsMap, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := ParseLabelsMap(data)
	if err != nil {
		return nil, fmt.Errorf("labels map %s: %w", path, err)
	}
	return m, nil
}

// ParseLabelsMap parses the contents of a labels map file (see ReadLabelsMap).
func ParseLabelsMap(data []byte) (LabelsMap, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // spreadsheet exports add a BOM
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '{' {
		return parseJSONMap(t)
	}
	m := LabelsMap{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		sep := "\t"
		if !strings.Contains(line, sep) {
			sep = "="
		}
		from, to, ok := strings.Cut(line, sep)
		if !ok {
			return nil, fmt.Errorf("line %d: want from<TAB>to or from=to, got %q", n, line)
		}
		if err := m.add(strings.TrimSpace(from), strings.TrimSpace(to)); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("no mapping found")
	}
	return m, nil
}

func parseJSONMap(data []byte) (LabelsMap, error) {
	// Decoding key by key catches duplicates, which a plain map decode
	// would silently resolve to the last one.
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	m := LabelsMap{}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v string
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("value of %q: want a string: %w", k, err)
		}
		if err := m.add(k.(string), v); err != nil {
			return nil, err
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("no mapping found")
	}
	return m, nil
}

func (m LabelsMap) add(from, to string) error {
	if from == "" || to == "" {
		return fmt.Errorf("empty class name in mapping %q → %q", from, to)
	}
	if prev, dup := m[from]; dup {
		return fmt.Errorf("class %q mapped twice (%q and %q)", from, prev, to)
	}
	m[from] = to
	return nil
}
