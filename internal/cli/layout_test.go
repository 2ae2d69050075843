package cli

import (
	"bytes"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/fashionclip/fashionclip/internal/testutil"
)

// The command layer's limits (docs/architecture.md): internal/cli stays
// the command tree, each command stays small, and none of them grows its
// own engine code, cgo or init() wiring.
const (
	maxCLILines     = 3000
	maxCommandLines = 350
)

// enginePackages are the internals a command never reaches past the
// library for: the ONNX Runtime sessions, the graph surgery, the stream's
// stages and the vector maths.
var enginePackages = []string{"internal/ort", "internal/onnxgraph", "internal/pipeline", "internal/vecmath"}

func TestCommandLayerLayout(t *testing.T) {
	root := testutil.ModuleRoot(t)
	dirs := []string{filepath.Join(root, "internal", "cli"), filepath.Join(root, "internal", "cmdutil")}
	cmds, err := filepath.Glob(filepath.Join(root, "internal", "cmd", "*"))
	if err != nil || len(cmds) < 10 {
		t.Fatalf("command packages under internal/cmd: %v %v", cmds, err)
	}
	dirs = append(dirs, cmds...)
	cliLines := 0
	for _, dir := range dirs {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			rel, _ := filepath.Rel(root, path)
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			lines := bytes.Count(src, []byte("\n"))
			if filepath.Dir(rel) == filepath.Join("internal", "cli") {
				cliLines += lines
			}
			if lines > maxCommandLines {
				t.Errorf("%s has %d lines (at most %d: split the command or move its logic into a library package)", rel, lines, maxCommandLines)
			}
			f, err := parser.ParseFile(token.NewFileSet(), path, src, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range f.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				if p == "C" {
					t.Errorf("%s uses cgo", rel)
				}
				for _, e := range enginePackages {
					if strings.HasSuffix(p, "/"+e) {
						t.Errorf("%s imports %s: go through pkg/fashionclip", rel, e)
					}
				}
			}
			if bytes.Contains(src, []byte("\nfunc init()")) {
				t.Errorf("%s has an init(): register commands in root.go", rel)
			}
		}
	}
	if cliLines > maxCLILines {
		t.Errorf("internal/cli has %d non-test lines (at most %d)", cliLines, maxCLILines)
	}
}
