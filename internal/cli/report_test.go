package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/fashionclip/fashionclip/internal/cmdutil"
)

// classify --report writes one self-contained page beside the normal output.
func TestClassifyReport(t *testing.T) {
	model := tinyModel(t)
	img := sampleImages(t)
	out := filepath.Join(t.TempDir(), "r.html")
	r := runCLI(t, false, "", nil, "classify", img, "--labels", "boot,dress", "--model", model, "--report", out)
	if r.code != 0 || strings.Count(r.stdout, "\n") != 6 {
		t.Fatalf("exit %d, %d result lines: %s", r.code, strings.Count(r.stdout, "\n"), r.stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, name := range []string{"black-boot.jpg", "red-dress.jpg", "white-sneaker.png"} {
		if !strings.Contains(page, name) {
			t.Errorf("report lacks %s", name)
		}
	}
	if n := strings.Count(page, "/9j/"); !strings.Contains(page, "data:image/jpeg;base64,") || n < 6 { // a JPEG in base64 starts /9j/
		t.Errorf("%d inline thumbnails for 6 images", n)
	}
	if regexp.MustCompile(`(src|href)\s*=\s*["']?https?://|url\(\s*["']?https?://`).MatchString(page) {
		t.Error("the report references the network")
	}
	if r := runCLI(t, false, "", nil, "classify", img, "--labels", "a,b", "--report-assets", t.TempDir()); r.code != cmdutil.ExitUsage {
		t.Errorf("--report-assets alone: exit %d", r.code)
	}
}

// search --paths prints bare image paths; --report writes a page.
func TestSearchPathsAndReport(t *testing.T) {
	model := tinyModel(t)
	// The images sit inside the index's root, so the index stores them
	// relative to it, and the searches run from another folder.
	root := t.TempDir()
	img := filepath.Join(root, "catalog")
	entries, err := os.ReadDir(sampleImages(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		docCopyFile(t, filepath.Join(sampleImages(t), e.Name()), filepath.Join(img, e.Name()))
	}
	idx := filepath.Join(root, "idx")
	if r := runCLI(t, false, "", nil, "embed", img, "--text", "red dress", "-m", model, "-o", idx); r.code != 0 {
		t.Fatalf("embed: %s", r.stderr)
	}
	r := runCLI(t, false, "", nil, "search", idx, "dress", "-m", model, "-k", "3", "--paths")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || len(lines) < 2 || len(lines) > 3 {
		t.Fatalf("exit %d, %q", r.code, r.stdout)
	}
	for _, l := range lines {
		if _, err := os.Stat(l); err != nil {
			t.Errorf("--paths printed %q, not a path: %v", l, err)
		}
	}
	// One kind only: the text item ("red dress") or k images.
	for _, tc := range []struct {
		flag      string
		n         int
		want, not string
	}{{"--texts-only", 1, `"text":"red dress"`, `"path"`}, {"--images-only", 3, `"path"`, `"text"`}} {
		r := runCLI(t, false, "", nil, "search", idx, "red dress", "-m", model, "-k", "3", "-f", "jsonl", tc.flag)
		if got := strings.Count(r.stdout, "\n"); r.code != 0 || got != tc.n || !strings.Contains(r.stdout, tc.want) || strings.Contains(r.stdout, tc.not) {
			t.Errorf("%s: exit %d, %d results:\n%s%s", tc.flag, r.code, got, r.stdout, r.stderr)
		}
	}
	if r := runCLI(t, false, "", nil, "search", idx, "dress", "--images-only", "--texts-only"); r.code != cmdutil.ExitUsage {
		t.Errorf("--images-only with --texts-only: exit %d", r.code)
	}
	page := filepath.Join(t.TempDir(), "s.html")
	if r := runCLI(t, false, "", nil, "search", idx, "dress", "-m", model, "--report", page); r.code != 0 {
		t.Fatalf("--report: %s", r.stderr)
	}
	if b, _ := os.ReadFile(page); !strings.Contains(string(b), "/9j/") {
		t.Error("the search page has no thumbnail")
	}
	if r := runCLI(t, false, "", nil, "search", idx, "dress", "--paths", "-f", "json"); r.code != cmdutil.ExitUsage {
		t.Errorf("--paths with -f: exit %d", r.code)
	}
}
