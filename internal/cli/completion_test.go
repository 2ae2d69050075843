package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fashionclip/fashionclip/internal/testutil"
)

// completeLines runs `fashionclip __complete ARGS...` and returns the
// candidates (descriptions cut off) and the directive line.
func completeLines(t *testing.T, env map[string]string, args ...string) ([]string, string) {
	t.Helper()
	r := runCLI(t, false, "", env, append([]string{"__complete"}, args...)...)
	if r.code != 0 {
		t.Fatalf("__complete %q: exit %d: %s", args, r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	var out []string
	for _, l := range lines[:len(lines)-1] {
		v, _, _ := strings.Cut(l, "\t")
		out = append(out, v)
	}
	return out, lines[len(lines)-1]
}

func TestCompleteFlagValues(t *testing.T) {
	cache := fakeCache(t, "acme/clip", "patrickjohncyh/fashion-clip")
	// A tag besides main: offered once an @ is typed.
	tagRef := filepath.Join(cache, "models--acme--clip", "refs", "v1")
	if err := os.WriteFile(tagRef, []byte(strings.Repeat("ab", 20)), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"HF_HUB_CACHE": cache}
	const (
		noFile     = ":4"  // ShellCompDirectiveNoFileComp
		filterDirs = ":16" // ShellCompDirectiveFilterDirs
	)
	cases := []struct {
		name      string
		env       map[string]string
		args      []string
		want      string // candidates joined by spaces
		directive string
	}{
		{"cached model ids", env, []string{"--model", ""}, "acme/clip patrickjohncyh/fashion-clip", noFile},
		{"model ids after a command", env, []string{"classify", "-m", "pat"}, "patrickjohncyh/fashion-clip", noFile},
		{"revisions after @", env, []string{"--model", "acme/clip@"}, "acme/clip@main acme/clip@v1", noFile},
		{"a path means folders", env, []string{"--model", "./"}, "", filterDirs},
		{"no cached match means folders", env, []string{"--model", "zzz"}, "", filterDirs},
		{"empty cache means folders", map[string]string{"HF_HUB_CACHE": t.TempDir()}, []string{"--model", ""}, "", filterDirs},
		{"device", nil, []string{"embed", "--device", ""}, "cpu cuda coreml", noFile},
		{"variant", nil, []string{"--variant", ""}, "fp32 fp16 quantized int8 uint8 q4", noFile},
		{"classify formats", nil, []string{"classify", "--format", ""}, "table jsonl json tsv csv", noFile},
		{"version formats", nil, []string{"version", "-f", ""}, "table json", noFile},
		{"doctor formats", nil, []string{"doctor", "--format", ""}, "table json", noFile},
		{"datasets", nil, []string{"bench", "accuracy", "--dataset", ""}, "fmnist kagl deepfashion folder csv", noFile},
		{"dtype", nil, []string{"embed", "--dtype", ""}, "float32 float16", noFile},
		{"data pull", nil, []string{"data", "pull", ""}, "fmnist kagl deepfashion", noFile},
		{"model rm takes cached ids", env, []string{"model", "rm", "ac"}, "acme/clip", noFile},
		{"model path takes cached ids", env, []string{"model", "path", ""}, "acme/clip patrickjohncyh/fashion-clip", noFile},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, directive := completeLines(t, c.env, c.args...)
			if strings.Join(got, " ") != c.want || directive != c.directive {
				t.Errorf("got %q %s, want %q %s", got, directive, c.want, c.directive)
			}
		})
	}
}

func TestFormatChoices(t *testing.T) {
	cases := []struct{ usage, want string }{
		{"table, jsonl, json, tsv or csv (default: table on a terminal, jsonl otherwise)", "table jsonl json tsv csv"},
		{"table or json", "table json"},
		{"npy or parquet (default npy)", "npy parquet"},
		{"output format", "table jsonl json tsv csv"}, // not a list: every output format
	}
	for _, c := range cases {
		if got := strings.Join(formatChoices(c.usage), " "); got != c.want {
			t.Errorf("formatChoices(%q) = %q, want %q", c.usage, got, c.want)
		}
	}
}

// The committed scripts must be what `completion SHELL` prints now; `make
// completions` rewrites them.
func TestCompletionFilesUpToDate(t *testing.T) {
	dir := filepath.Join(testutil.ModuleRoot(t), "completions")
	cases := []struct{ shell, file string }{
		{"bash", "fashionclip.bash"},
		{"zsh", "_fashionclip"},
		{"fish", "fashionclip.fish"},
		{"powershell", "fashionclip.ps1"},
	}
	for _, c := range cases {
		t.Run(c.shell, func(t *testing.T) {
			r := runCLI(t, false, "", nil, "completion", c.shell)
			if r.code != 0 || r.stdout == "" {
				t.Fatalf("completion %s: exit %d, %d bytes: %s", c.shell, r.code, len(r.stdout), r.stderr)
			}
			want, err := os.ReadFile(filepath.Join(dir, c.file))
			if err != nil {
				t.Fatalf("%v (run make completions)", err)
			}
			if r.stdout != string(want) {
				t.Errorf("completions/%s is out of date: run make completions", c.file)
			}
		})
	}
}
