package hub

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/fashionclip/fashionclip/internal/hub/hubtest"
)

var update = flag.Bool("update", false, "rewrite the generated fuzz seed corpora in testdata/fuzz")

// The fuzz targets cover every parser of bytes the Hub (or a mirror, or a
// user) controls: the model-info JSON, repo references and file names, and
// the Content-Range header. Seeds live in testdata/fuzz/<Target>/; the
// generated ones come from the fake Hub's own answers (TestFuzzSeeds, with
// -update to rewrite them). Crashers found by fuzzing are added there too.

func isLowerHex(s string, n int) bool { return isHex(s, n) && s == strings.ToLower(s) }

func FuzzParseModelInfo(f *testing.F) {
	ref := Ref{Repo: "acme/clip", Revision: "main"}
	f.Fuzz(func(t *testing.T, body []byte) {
		ri, err := parseModelInfo(ref, body)
		if err != nil {
			if ri != nil {
				t.Fatal("an error with a listing")
			}
			return
		}
		if !IsCommitHash(ri.Commit) || ri.Repo != ref.Repo || ri.Revision != ref.Revision {
			t.Fatalf("listing %+v for %s", ri, ref)
		}
		paths := make([]string, len(ri.Files))
		for i, rf := range ri.Files {
			paths[i] = rf.Path
			switch {
			case rf.Size < -1:
				t.Fatalf("%s: size %d", rf.Path, rf.Size)
			case rf.SHA256 != "" && !isLowerHex(rf.SHA256, 64):
				t.Fatalf("%s: sha256 %q", rf.Path, rf.SHA256)
			case rf.BlobID != "" && !isLowerHex(rf.BlobID, 40):
				t.Fatalf("%s: blob id %q", rf.Path, rf.BlobID)
			case rf.LFS != (rf.SHA256 != ""):
				t.Fatalf("%s: LFS %v with sha256 %q", rf.Path, rf.LFS, rf.SHA256)
			}
		}
		// Pull's next step over the listing: selection must not panic and
		// must only pick listed, safe names.
		for _, variant := range []string{"", "quantized"} {
			sel, err := SelectFiles(paths, variant)
			if err != nil {
				continue
			}
			listed := map[string]bool{}
			for _, p := range paths {
				listed[p] = true
			}
			for _, p := range sel.Files {
				if !listed[p] || CheckRepoPath(p) != nil {
					t.Fatalf("selected %q (listed %v)", p, listed[p])
				}
			}
		}
	})
}

func FuzzParseRef(f *testing.F) {
	root := filepath.Join(string(filepath.Separator), "cache")
	f.Fuzz(func(t *testing.T, s string) {
		ref, err := ParseRef(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidRef) {
				t.Fatalf("ParseRef(%q): untyped error %v", s, err)
			}
			return
		}
		if ref.Revision == "" || ref.Explicit != strings.Contains(s, "@") {
			t.Fatalf("ParseRef(%q) = %+v", s, ref)
		}
		again, err := ParseRef(ref.String())
		if err != nil || again != ref {
			t.Fatalf("ParseRef(%q) = %+v, but its String %q parses as %+v, %v", s, ref, ref.String(), again, err)
		}
		// The repo's cache folder is one path element that maps back to it.
		folder := RepoFolderName(ref.Repo)
		if strings.ContainsAny(folder, `/\`) || folder == "." || folder == ".." {
			t.Fatalf("cache folder %q of %s", folder, ref.Repo)
		}
		if id, ok := repoFromFolderName(folder); !ok || id != ref.Repo {
			t.Fatalf("folder %q maps back to %q, %v; want %s", folder, id, ok, ref.Repo)
		}
		// refs/{revision} stays inside refs/.
		repoDir := filepath.Join(root, folder)
		rel, err := filepath.Rel(filepath.Join(repoDir, "refs"), refPath(repoDir, ref.Revision))
		if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			t.Fatalf("refs file of revision %q lands at %q", ref.Revision, rel)
		}
		// A snapshot folder of the repo names its repo and commit back.
		commit := strings.Repeat("0a", 20)
		for _, p := range []string{snapshotDir(repoDir, commit), filepath.Join(snapshotDir(repoDir, commit), "onnx", "model.onnx")} {
			if repo, c, ok := SnapshotCommit(p); !ok || repo != ref.Repo || c != commit {
				t.Fatalf("SnapshotCommit(%q) = %q, %q, %v", p, repo, c, ok)
			}
		}
	})
}

func FuzzCheckRepoPath(f *testing.F) {
	root := filepath.Join(string(filepath.Separator), "cache", "snapshot")
	f.Fuzz(func(t *testing.T, name string) {
		if err := CheckRepoPath(name); err != nil {
			if !errors.Is(err, ErrUnsafePath) {
				t.Fatalf("CheckRepoPath(%q): untyped error %v", name, err)
			}
			return
		}
		// An accepted name lands inside the snapshot, exactly where it says.
		joined := filepath.Join(root, filepath.FromSlash(name))
		rel, err := filepath.Rel(root, joined)
		if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.ToSlash(rel) != name {
			t.Fatalf("CheckRepoPath accepted %q, which lands at %q", name, rel)
		}
	})
}

func FuzzContentRange(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		start, total, ok := parseContentRange(s)
		if !ok {
			return
		}
		if start < 0 || total < -1 || (total >= 0 && total <= start) {
			t.Fatalf("parseContentRange(%q) = %d, %d", s, start, total)
		}
		if n := parseSize(s); n < -1 {
			t.Fatalf("parseSize(%q) = %d", s, n)
		}
	})
}

// seed is one generated corpus entry.
type seed struct{ name, value string }

// fuzzSeeds builds the generated seeds of each target from fixtures: the
// fake Hub's answers and the table tests' inputs.
func fuzzSeeds(t *testing.T) map[string][]seed {
	gated := combinedRepo("acme/gated")
	gated.Gated = true
	srv := hubtest.NewServer(t, combinedRepo("acme/clip"), splitRepo("acme/split"), gated)
	get := func(path string) string {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+srv.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %v", path, resp.StatusCode, err)
		}
		return string(b)
	}
	info := []seed{
		{"combined", get("/api/models/acme/clip/revision/main?blobs=true")},
		{"split", get("/api/models/acme/split/revision/main?blobs=true")},
		{"gated", get("/api/models/acme/gated/revision/main?blobs=true")},
		{"no-blobs", get("/api/models/acme/split/revision/main")},
	}
	srv.SetFaults("onnx/model.onnx", hubtest.FileFaults{NoSize: true})
	srv.SetFaults("tokenizer.json", hubtest.FileFaults{Unhashed: true})
	info = append(info, seed{"unsized-unhashed", get("/api/models/acme/clip/revision/main?blobs=true")})
	info = append(info,
		seed{"empty-object", `{}`},
		seed{"gated-manual-extra-fields", `{"_id":"x","id":"a/b","sha":"` + commitA + `","gated":"manual","private":true,"lastModified":"2024-01-01T00:00:00.000Z","cardData":{"license":"mit"},"siblings":[{"rfilename":"model.onnx","blobId":"` + strings.Repeat("ab", 20) + `","size":134,"lfs":{"sha256":"` + strings.Repeat("CD", 32) + `","size":1000,"pointerSize":134}}]}`})

	var refs, names []seed
	for i, s := range []string{"patrickjohncyh/fashion-clip", "a/b@v1.0", "a/b@refs/pr/3", "a/b@" + commitA, "a/b@", "a/b@../../x",
		"a/b@refs//x", "a/b@/abs", "fashion-clip", "a/b/c", "a--b/c", "../x", "a/..", " Xenova/clip-vit-base-patch32@main "} {
		refs = append(refs, seed{fmt.Sprintf("table-%02d", i), s})
	}
	for i, s := range []string{"config.json", "onnx/model.onnx", "a/b/c.txt", "..data", "../evil", "onnx/../../evil", "/etc/passwd",
		`onnx\model.onnx`, "C:/x", "a//b", "./a", "a/", "", "a/./b", "onnx/model.onnx_data"} {
		names = append(names, seed{fmt.Sprintf("table-%02d", i), s})
	}
	ranges := []seed{{"resume", "bytes 100000-299999/300000"}, {"star", "bytes 5-9/*"}, {"unsatisfied", "bytes */100"},
		{"signed", "bytes +5-9/10"}, {"backwards", "bytes 9-5/10"}, {"short-total", "bytes 0-99/50"}, {"size", "300000"}}
	return map[string][]seed{"FuzzParseModelInfo": info, "FuzzParseRef": refs, "FuzzCheckRepoPath": names, "FuzzContentRange": ranges}
}

// corpusFile is Go's fuzz corpus format for one value.
func corpusFile(target, value string) string {
	typ := "string"
	if target == "FuzzParseModelInfo" {
		typ = "[]byte"
	}
	return "go test fuzz v1\n" + typ + "(" + strconv.Quote(value) + ")\n"
}

// TestFuzzSeeds keeps the generated seed corpora in step with the fixtures
// they come from, and checks that the fake Hub's listings parse (a corpus
// of refusals would leave the parser's success path unfuzzed).
func TestFuzzSeeds(t *testing.T) {
	for target, seeds := range fuzzSeeds(t) {
		dir := filepath.Join("testdata", "fuzz", target)
		for _, s := range seeds {
			path := filepath.Join(dir, "seed-"+s.name)
			want := corpusFile(target, s.value)
			if *update {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if got, err := os.ReadFile(path); err != nil || string(got) != want {
				t.Errorf("%s is missing or stale (%v): run go test -run TestFuzzSeeds -update ./internal/hub", path, err)
			}
		}
	}
	for _, s := range fuzzSeeds(t)["FuzzParseModelInfo"] {
		if s.name == "empty-object" {
			continue
		}
		if _, err := parseModelInfo(Ref{Repo: "acme/clip", Revision: "main"}, []byte(s.value)); err != nil {
			t.Errorf("seed %s: %v", s.name, err)
		}
	}
}
