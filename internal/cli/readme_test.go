package cli

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/fashionclip/fashionclip/internal/cmdutil"
	"github.com/fashionclip/fashionclip/internal/testutil"
	"github.com/fashionclip/fashionclip/pkg/fashionclip"
)

// The documentation's example commands are run against the tiny model so
// the README cannot rot: every line of a fenced code block that runs
// fashionclip must succeed (exit 0, or the status its comment documents,
// e.g. "# exit 3"). The lines of one block share a working folder, in order,
// as they would in a terminal. Lines that cannot run here are skipped for a
// stated reason; mark others with a trailing "# needs network".

// docCommand is one example command line.
type docCommand struct {
	file string
	line int
	text string
}

// docBlock is a fenced code block's commands.
type docBlock []docCommand

var (
	fenceLine   = regexp.MustCompile("^\\s*(```|~~~)")
	runsCLI     = regexp.MustCompile(`^(bin/)?fashionclip\s|\|\s*(bin/)?fashionclip\s`)
	exitComment = regexp.MustCompile(`\bexit (\d+)\b`)
)

// docBlocks reads the example commands of README.md and docs/*.md.
func docBlocks(t *testing.T, root string) []docBlock {
	t.Helper()
	files := []string{filepath.Join(root, "README.md")}
	more, _ := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	files = append(files, more...)
	var blocks []docBlock
	for _, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, path)
		var cur docBlock
		inFence := false
		pending, start := "", 0
		sc := bufio.NewScanner(bytes.NewReader(b))
		for n := 1; sc.Scan(); n++ {
			line := sc.Text()
			if fenceLine.MatchString(line) {
				if inFence && len(cur) > 0 {
					blocks = append(blocks, cur)
				}
				inFence, cur = !inFence, nil
				continue
			}
			if !inFence {
				continue
			}
			// A trailing backslash continues the command on the next line.
			if pending == "" {
				start = n
			}
			if s, ok := strings.CutSuffix(line, "\\"); ok {
				pending += s
				continue
			}
			line = strings.TrimPrefix(strings.TrimSpace(pending+line), "$ ")
			pending = ""
			if runsCLI.MatchString(line) {
				cur = append(cur, docCommand{file: rel, line: start, text: line})
			}
		}
	}
	return blocks
}

// shellWords splits a line as the shell would for a simple command. shell
// reports what only a shell can run: pipes, redirections, substitutions,
// variables, environment assignments. comment is the text after an
// unquoted #.
func shellWords(line string) (words []string, comment string, shell bool) {
	var cur strings.Builder
	inWord := false
	end := func() {
		if inWord {
			words = append(words, cur.String())
		}
		cur.Reset()
		inWord = false
	}
	rs := []rune(line)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == ' ' || r == '\t':
			end()
		case r == '#' && !inWord:
			comment = strings.TrimSpace(string(rs[i+1:]))
			i = len(rs)
		case r == '\'':
			inWord = true
			for i++; i < len(rs) && rs[i] != '\''; i++ {
				cur.WriteRune(rs[i])
			}
		case r == '"':
			inWord = true
			for i++; i < len(rs) && rs[i] != '"'; i++ {
				if rs[i] == '\\' && i+1 < len(rs) && strings.ContainsRune("$`\"\\", rs[i+1]) {
					i++
				} else if rs[i] == '$' || rs[i] == '`' {
					shell = true
				}
				cur.WriteRune(rs[i])
			}
		case r == '\\' && i+1 < len(rs):
			inWord = true
			i++
			cur.WriteRune(rs[i])
		default:
			if strings.ContainsRune("|&;<>()$`*?", r) {
				shell = true
			}
			inWord = true
			cur.WriteRune(r)
		}
	}
	end()
	if len(words) > 0 && strings.Contains(words[0], "=") {
		shell = true // VAR=value fashionclip ...
	}
	return words, comment, shell
}

// docSkips are the lines a test cannot run, with the reason.
var docSkips = []struct {
	re  *regexp.Regexp
	why string
}{
	{regexp.MustCompile(`#\s*needs network`), "marked # needs network"},
	{regexp.MustCompile(`#\s*needs a running \w+`), "marked # needs a running service"},
	{regexp.MustCompile(`\bfashionclip\s+(model\s+pull|data\s+pull|runtime\s+install|serve)\b`), "downloads, or runs a server"},
	{regexp.MustCompile(`\bbench\s+accuracy\b`), "needs a data set fetched by data pull"},
	{regexp.MustCompile(`\bvit-b-32\b`), "writes the 605 MB synthetic ViT-B/32"},
	{regexp.MustCompile(`\bHF_TOKEN=`), "needs a Hub token"},
	{regexp.MustCompile(`(^|\s)\[|\w\.\.\.(\s|$)`), "a synopsis with placeholders, not a command"},
}

// skipReason says why a command cannot run in a test, or "".
func skipReason(text string, words []string) string {
	for _, s := range docSkips {
		if s.re.MatchString(text) {
			return s.why
		}
	}
	for i, w := range words {
		if strings.HasPrefix(w, "/") {
			return "names an absolute path (" + w + ") outside the test's folder"
		}
		if i > 0 && (words[i-1] == "--model" || words[i-1] == "-m") && fashionclip.IsRepoID(w) {
			return "uses the Hub model " + w
		}
		if i > 1 && words[i-2] == "model" && (words[i-1] == "info" || words[i-1] == "rm" || words[i-1] == "path") && fashionclip.IsRepoID(w) {
			return "asks the Hub about " + w
		}
	}
	return ""
}

var (
	docImageExt = regexp.MustCompile(`(?i)\.(jpe?g|png|gif|webp|bmp|tiff?)$`)
	// Flags whose value is a file the command writes.
	docOutputFlags = map[string]bool{"-o": true, "--out": true, "--output": true, "--plot": true, "--to": true}
)

// docFixtures creates what a command reads and the test folder lacks:
// image files, folders of images (name/ or ./name), label files (.txt).
func docFixtures(t *testing.T, dir, samples string, words []string) {
	t.Helper()
	for i, w := range words {
		if i == 0 || strings.HasPrefix(w, "-") || docOutputFlags[words[i-1]] || strings.ContainsAny(w, "=,{}") {
			continue
		}
		if strings.ContainsAny(w, "*?") { // a glob: its folder must exist
			w = filepath.Dir(w) + "/"
			if w == "./" {
				continue
			}
		}
		p := filepath.Join(dir, w)
		if _, err := os.Stat(p); err == nil {
			continue // made by an earlier command of the block
		}
		switch {
		case docImageExt.MatchString(w):
			src := "red-dress.jpg"
			if strings.EqualFold(filepath.Ext(w), ".png") {
				src = "white-sneaker.png"
			}
			docCopyFile(t, filepath.Join(samples, src), p)
		case strings.HasSuffix(w, ".txt"):
			docWriteFile(t, p, "dress\nshirt\nsneaker\n")
		case (strings.HasSuffix(w, "/") || strings.HasPrefix(w, "./")) && filepath.Ext(w) == "" && filepath.Clean(w) != ".":
			entries, err := os.ReadDir(samples)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				docCopyFile(t, filepath.Join(samples, e.Name()), filepath.Join(p, e.Name()))
			}
		}
	}
}

func docCopyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	docWriteFile(t, dst, string(b))
}

func docWriteFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// docMissingTool names a program of a pipeline that is not installed (jq...).
func docMissingTool(text string) string {
	words, _, _ := shellWords(text)
	first := true // the next word starts a command
	for _, w := range words {
		switch {
		case w == "|" || w == "&&" || w == "||" || w == ";":
			first = true
		case first && strings.Contains(w, "="): // VAR=value before the program
		case first:
			first = false
			if !strings.HasSuffix(w, "fashionclip") {
				if _, err := exec.LookPath(w); err != nil {
					return w
				}
			}
		}
	}
	return ""
}

func TestReadmeCommands(t *testing.T) {
	root := testutil.ModuleRoot(t)
	blocks := docBlocks(t, root)
	if len(blocks) == 0 {
		t.Fatal("no example commands found in README.md: did the extraction break?")
	}
	model := tinyModel(t)
	bin := buildBinary(t)
	samples := sampleImages(t)
	GraphCache := t.TempDir() // shared: the tiny graph is split once

	ran := 0
	for _, block := range blocks {
		dir := t.TempDir()
		// `find . -name '*.jpg'` and friends see the samples too.
		docFixtures(t, dir, samples, []string{"", "images/"})
		// "bin/fashionclip ..." as written after `make`.
		if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(bin, filepath.Join(dir, "bin", "fashionclip")); err != nil {
			t.Fatal(err)
		}
		env := []string{cmdutil.EnvModel + "=" + model, "HF_HUB_OFFLINE=1", "HF_HUB_CACHE=" + filepath.Join(dir, ".hf"),
			"FASHIONCLIP_CACHE=" + GraphCache, "HOME=" + dir, "NO_COLOR=1",
			"PATH=" + filepath.Dir(bin) + string(os.PathListSeparator) + os.Getenv("PATH")}
		for _, c := range block {
			t.Run(fmt.Sprintf("%s:%d", c.file, c.line), func(t *testing.T) {
				words, comment, shell := shellWords(c.text)
				if why := skipReason(c.text, words); why != "" {
					t.Skipf("%s: %s", why, c.text)
				}
				want := cmdutil.ExitOK
				if m := exitComment.FindStringSubmatch(comment); m != nil {
					want, _ = strconv.Atoi(m[1])
				}
				docFixtures(t, dir, samples, words)
				var r cliResult
				if shell {
					if tool := docMissingTool(c.text); tool != "" {
						t.Skipf("%s is not installed: %s", tool, c.text)
					}
					cmd := exec.Command("bash", "-o", "pipefail", "-c", c.text)
					cmd.Dir = dir
					cmd.Env = append(os.Environ(), env...)
					var out, errOut bytes.Buffer
					cmd.Stdout, cmd.Stderr = &out, &errOut
					err := cmd.Run()
					r = cliResult{out.String(), errOut.String(), cmd.ProcessState.ExitCode()}
					if err != nil && r.code == 0 {
						t.Fatal(err)
					}
				} else {
					r = runBinary(t, dir, "", env, words[1:]...)
				}
				if r.code != want {
					t.Errorf("%s:%d: %s\nexit %d, want %d\nstdout:\n%s\nstderr:\n%s", c.file, c.line, c.text, r.code, want, r.stdout, r.stderr)
				}
			})
			ran++
		}
	}
	if ran == 0 {
		t.Fatal("no example command ran")
	}
}

func TestShellWords(t *testing.T) {
	cases := []struct {
		line    string
		words   string // joined by |
		comment string
		shell   bool
	}{
		{`fashionclip classify ./shoes --labels "sneaker,boot,sandal"`, "fashionclip|classify|./shoes|--labels|sneaker,boot,sandal", "", false},
		{`fashionclip tokenize "a photo"   # {"ids":[1]}`, "fashionclip|tokenize|a photo", `{"ids":[1]}`, false},
		{`fashionclip search x.idx 2:"chunky sole" 'it''s'`, "fashionclip|search|x.idx|2:chunky sole|its", "", false},
		{`fashionclip a\ b "q\"uote"`, `fashionclip|a b|q"uote`, "", false},
		{`fashionclip version --format json | jq -r .v`, "fashionclip|version|--format|json|||jq|-r|.v", "", true},
		{`HF_TOKEN=x fashionclip model pull a/b`, "HF_TOKEN=x|fashionclip|model|pull|a/b", "", true},
		{`fashionclip embed "$DIR"`, "fashionclip|embed|$DIR", "", true},
		{`fashionclip classify 'shoes/*.jpg' --labels a,b`, "fashionclip|classify|shoes/*.jpg|--labels|a,b", "", false},
	}
	for _, c := range cases {
		words, comment, shell := shellWords(c.line)
		if strings.Join(words, "|") != c.words || comment != c.comment || shell != c.shell {
			t.Errorf("shellWords(%q) = %q, %q, %v; want %q, %q, %v", c.line, strings.Join(words, "|"), comment, shell, c.words, c.comment, c.shell)
		}
	}
}

func TestSkipReason(t *testing.T) {
	cases := []struct {
		line string
		skip bool
	}{
		{"fashionclip classify img.jpg --labels a,b", false},
		{"fashionclip classify img.jpg --labels a,b # needs network", true},
		{"fashionclip model pull", true},
		{"fashionclip serve -m ./x", true},
		{"fashionclip classify --model Xenova/clip-vit-base-patch32 --labels a x.jpg", true},
		{"fashionclip classify --model ./my-model --labels a x.jpg", false},
		{"fashionclip model info acme/clip", true},
		{"fashionclip model list", false},
		{"fashionclip search INDEX [QUERY...] [--image FILE]...", true},
		{"fashionclip embed /data/catalog -o out", true},
		{"fashionclip bench accuracy --dataset fmnist --data data/fmnist", true},
	}
	for _, c := range cases {
		words, _, _ := shellWords(c.line)
		if got := skipReason(c.line, words); (got != "") != c.skip {
			t.Errorf("skipReason(%q) = %q, want skip %v", c.line, got, c.skip)
		}
	}
}

func TestDocMissingTool(t *testing.T) {
	cases := []struct{ line, want string }{
		{`fashionclip doctor --format json | jq -r '.checks[] | select(.x) | .fix'`, ""},
		{`find . -name '*.jpg' | fashionclip classify - | no-such-tool-xyz -r .`, "no-such-tool-xyz"},
		{`X=1 no-such-tool-xyz && fashionclip version`, "no-such-tool-xyz"},
	}
	if _, err := exec.LookPath("jq"); err != nil {
		cases[0].want = "jq"
	}
	for _, c := range cases {
		if got := docMissingTool(c.line); got != c.want {
			t.Errorf("docMissingTool(%q) = %q, want %q", c.line, got, c.want)
		}
	}
}
