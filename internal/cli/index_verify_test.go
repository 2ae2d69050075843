package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fashionclip/fashionclip/internal/cmdutil"
	"github.com/fashionclip/fashionclip/internal/index"
)

// TestIndexVerify runs the real binary's `index verify` on a healthy index
// and on copies damaged in ways only a deep check sees, in ways every check
// sees, and on a folder that is no index.
func TestIndexVerify(t *testing.T) {
	model := idxModelDir(t, "tiny-optimum")
	bin := buildBinary(t) // from the module, before the test leaves it
	idxImagesCopy(t)
	if r := runCLI(t, false, "", nil, "embed", "-m", model, "imgs", "-o", "good", "--text", "red dress", "--commit-every", "4"); r.code != 0 {
		t.Fatalf("embed: exit %d: %s", r.code, r.stderr)
	}
	man, err := index.ReadManifest("good")
	if err != nil || len(man.Chunks) < 2 {
		t.Fatalf("want an index of several chunks: %v %+v", err, man)
	}
	verify := func(args ...string) cliResult {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"index", "verify"}, args...)...)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return cliResult{out.String(), errOut.String(), cmd.ProcessState.ExitCode()}
	}
	// damaged copies good to name and lets damage change one of its files.
	damaged := func(name, file string, damage func(path string, data []byte) []byte) {
		t.Helper()
		if err := os.Mkdir(name, 0o755); err != nil {
			t.Fatal(err)
		}
		ents, _ := os.ReadDir("good")
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join("good", e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if e.Name() == file {
				b = damage(filepath.Join(name, file), b)
			}
			if b != nil {
				if err := os.WriteFile(filepath.Join(name, e.Name()), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	chunk, table := man.Chunks[0].Chunk, man.Chunks[0].Table
	damaged("flipped", chunk, func(_ string, b []byte) []byte {
		b[len(b)-3] ^= 0x40 // a vector byte: the header and the size stay right
		return b
	})
	damaged("truncated", chunk, func(_ string, b []byte) []byte { return b[:len(b)-8] })
	damaged("no-table", table, func(string, []byte) []byte { return nil })

	t.Run("healthy", func(t *testing.T) {
		for _, args := range [][]string{{"good"}, {"good", "--deep"}} {
			r := verify(args...)
			if r.code != 0 || r.stdout != "" || !strings.Contains(r.stderr, "good: healthy") {
				t.Errorf("%v: exit %d\nstdout %q\nstderr %q", args, r.code, r.stdout, r.stderr)
			}
		}
		r := verify("good", "--deep", "-f", "json")
		var rep index.Report
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &rep) != nil {
			t.Fatalf("json: exit %d: %q %s", r.code, r.stdout, r.stderr)
		}
		if !rep.Deep || rep.Items != man.Items() || rep.Chunks != len(man.Chunks) || rep.Hashed != 2*len(man.Chunks) || len(rep.Problems) != 0 {
			t.Errorf("report %+v", rep)
		}
	})
	t.Run("damaged", func(t *testing.T) {
		tests := []struct {
			args       []string
			code       int
			file, want string // the problem line: FILE: ...want...
		}{
			// A changed vector byte keeps every shape right: only --deep sees it.
			{[]string{"flipped"}, 0, "", ""},
			{[]string{"flipped", "--deep"}, cmdutil.ExitFatal, filepath.Join("flipped", chunk), "SHA-256"},
			{[]string{"truncated"}, cmdutil.ExitFatal, filepath.Join("truncated", chunk), ""},
			{[]string{"no-table"}, cmdutil.ExitFatal, filepath.Join("no-table", table), "missing"},
			{[]string{"imgs"}, cmdutil.ExitFatal, "imgs", "not a fashionclip index"},
		}
		for _, tt := range tests {
			r := verify(tt.args...)
			if r.code != tt.code {
				t.Errorf("%v: exit %d, want %d: %s%s", tt.args, r.code, tt.code, r.stdout, r.stderr)
			}
			if tt.file == "" {
				if r.stdout != "" {
					t.Errorf("%v: problems reported: %s", tt.args, r.stdout)
				}
				continue
			}
			lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], tt.file+": ") || !strings.Contains(lines[0], tt.want) {
				t.Errorf("%v: want one line %q…%q, got:\n%s", tt.args, tt.file+": ", tt.want, r.stdout)
			}
			if !strings.Contains(r.stderr, "is damaged") {
				t.Errorf("%v: stderr %s", tt.args, r.stderr)
			}
		}
	})
	t.Run("several", func(t *testing.T) {
		r := verify("good", "truncated", "imgs", "-f", "json")
		if r.code != cmdutil.ExitFatal || !strings.Contains(r.stderr, "2 of 3 indexes are damaged: truncated, imgs") {
			t.Errorf("exit %d: %s", r.code, r.stderr)
		}
		var healthy []bool
		for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
			var rep index.Report
			if err := json.Unmarshal([]byte(line), &rep); err != nil {
				t.Fatalf("%v: %q", err, line)
			}
			healthy = append(healthy, rep.Healthy())
		}
		if len(healthy) != 3 || !healthy[0] || healthy[1] || healthy[2] {
			t.Errorf("healthy %v, want [true false false]", healthy)
		}
	})
	t.Run("usage", func(t *testing.T) {
		for _, args := range [][]string{{}, {"good", "-f", "tsv"}} {
			if r := verify(args...); r.code != cmdutil.ExitUsage {
				t.Errorf("%v: exit %d, want %d: %s", args, r.code, cmdutil.ExitUsage, r.stderr)
			}
		}
	})
}
