// Package fuzzseed writes seed corpora for Go's native fuzzing in the
// format `go test` reads from testdata/fuzz/FuzzName/, so that packages can
// regenerate their committed seeds from their own fixtures with one call.
package fuzzseed

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

var write = flag.Bool("write-seeds", false, "regenerate testdata/fuzz seed corpora from the fixtures")

// SkipUnlessWriting skips t unless the test binary runs with -write-seeds:
// the seed writers are tests run on demand, e.g.
//
//	go test -run WriteFuzzSeeds -write-seeds ./pkg/npy
func SkipUnlessWriting(t interface{ Skip(...any) }) {
	if !*write {
		t.Skip("run with -write-seeds to regenerate testdata/fuzz")
	}
}

// Encode returns the corpus file for one entry whose arguments are []byte
// or string values, in the order of the fuzz function's parameters.
func Encode(args ...any) ([]byte, error) {
	var b strings.Builder
	b.WriteString("go test fuzz v1\n")
	for _, a := range args {
		switch v := a.(type) {
		case []byte:
			fmt.Fprintf(&b, "[]byte(%q)\n", v)
		case string:
			fmt.Fprintf(&b, "string(%q)\n", v)
		default:
			return nil, fmt.Errorf("fuzzseed: unsupported argument type %T", a)
		}
	}
	return []byte(b.String()), nil
}

// Write stores one entry under dir/target (usually testdata/fuzz), named
// name-<hash> (name reduced to letters, digits, - and _) so that regenerating keeps file names stable.
func Write(dir, target, name string, args ...any) error {
	data, err := Encode(args...)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	folder := filepath.Join(dir, target)
	if err := os.MkdirAll(folder, 0o755); err != nil {
		return err
	}
	safe := strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			return r
		}
		return '_'
	}, name)
	return os.WriteFile(filepath.Join(folder, safe+"-"+hex.EncodeToString(sum[:4])), data, 0o644)
}
