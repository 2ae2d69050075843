package cli

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fashionclip/fashionclip/internal/hub/hubtest"
	"github.com/fashionclip/fashionclip/internal/synth"
)

// fashionCLIPLikeRepo lays a synthetic combined model out as
// patrickjohncyh/fashion-clip does: everything under onnx/.
func fashionCLIPLikeRepo(t *testing.T, id string) hubtest.Repo {
	t.Helper()
	dir := t.TempDir()
	if err := synth.WriteCombined(dir, synth.Tiny()); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"README.md": []byte("synthetic")}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			files["onnx/"+filepath.ToSlash(rel)], _ = os.ReadFile(p)
		}
		return nil
	})
	return hubtest.Repo{ID: id, Files: files}
}

// With HF_ENDPOINT pointing at a server in the Hub's layout, classify pulls,
// caches and classifies; a second run with HF_HUB_OFFLINE=1 needs no server.
func TestBinaryClassifyPullsFromHubThenRunsOffline(t *testing.T) {
	dir := sampleImages(t)
	for _, repo := range []hubtest.Repo{fashionCLIPLikeRepo(t, "acme/fashion-clip"), synthRepo(t, "acme/split-clip")} {
		t.Run(repo.ID, func(t *testing.T) {
			srv := hubtest.NewServer(t, repo)
			cache := t.TempDir()
			var env []string
			for k, v := range srv.Env(cache) {
				env = append(env, k+"="+v)
			}
			env = append(env, "FASHIONCLIP_CACHE="+t.TempDir())
			first := runBinary(t, dir, "", env, "classify", ".", "--model", repo.ID, "--labels", "dress,boot")
			if first.code != 0 || strings.Count(first.stdout, "\n") != 6 {
				t.Fatalf("first run: exit %d\nstdout:\n%s\nstderr:\n%s", first.code, first.stdout, first.stderr)
			}
			if srv.Count() == 0 {
				t.Fatal("the first run made no request to the Hub")
			}
			srv.Close()
			second := runBinary(t, dir, "", append(env, "HF_HUB_OFFLINE=1"), "classify", ".", "--model", repo.ID, "--labels", "dress,boot")
			if second.code != 0 || normaliseFloats(second.stdout) != normaliseFloats(first.stdout) {
				t.Fatalf("offline rerun: exit %d\n%s\n%s", second.code, second.stdout, second.stderr)
			}
		})
	}
}
