package hub

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fashionclip/fashionclip/internal/hub/hubtest"
)

func TestListAndRemove(t *testing.T) {
	main := combinedRepo("acme/clip")
	v2 := combinedRepo("acme/clip")
	v2.Revision = "v2"
	v2.Files["onnx/model.onnx"] = blob(99, 250_000) // the only file that changed
	srv := hubtest.NewServer(t, main, v2, splitRepo("acme/split"))
	cache := t.TempDir()
	c := newTestClient(t, srv, cache, nil)
	ctx := context.Background()
	for _, ref := range []string{"acme/clip", "acme/clip@v2", "acme/split@main"} {
		if _, err := c.Pull(ctx, mustRef(t, ref), PullOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	c1, c2 := hubtest.CommitFor(main), hubtest.CommitFor(v2)

	repos, err := List(cache)
	if err != nil {
		t.Fatal(err)
	}
	if len(repos) != 2 || repos[0].Repo != "acme/clip" || repos[1].Repo != "acme/split" {
		t.Fatalf("List = %+v", repos)
	}
	clip := repos[0]
	if clip.Refs["main"] != c1 || clip.Refs["v2"] != c2 || len(clip.Snapshots) != 2 {
		t.Errorf("refs %v, %d snapshots", clip.Refs, len(clip.Snapshots))
	}
	// Shared tokenizer blobs count once.
	shared := dirSize(filepath.Join(cache, "models--acme--clip", "blobs"))
	if clip.Size != shared {
		t.Errorf("size %d, want %d (each blob once)", clip.Size, shared)
	}
	for _, s := range clip.Snapshots {
		if s.Files != 8 {
			t.Errorf("snapshot %s has %d files, want 8", s.Commit, s.Files)
		}
	}

	tests := []struct {
		ref         string
		wantCommits []string
		wantFreed   int64
		wantWhole   bool
		wantBlobs   []string
		wantErr     error
	}{
		{"acme/clip@v2", []string{c2}, 250_000, false, []string{hubtest.SHA256(v2.Files["onnx/model.onnx"])}, nil},
		{"acme/clip@v2", nil, 0, false, nil, ErrNotCached},
		{"acme/clip", []string{c1}, clip.Size - 250_000, true, []string{hubtest.SHA256(main.Files["onnx/model.onnx"])}, nil},
		{"acme/clip", nil, 0, false, nil, ErrNotCached},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			got, err := Remove(cache, mustRef(t, tt.ref))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Commits) != len(tt.wantCommits) || got.Commits[0] != tt.wantCommits[0] || got.Freed != tt.wantFreed || got.Whole != tt.wantWhole {
				t.Errorf("Remove = %+v, want commits %v freed %d whole %v", got, tt.wantCommits, tt.wantFreed, tt.wantWhole)
			}
			if !slices.Equal(got.Blobs, tt.wantBlobs) {
				t.Errorf("Remove reports blobs %v, want %v", got.Blobs, tt.wantBlobs)
			}
		})
		if tt.ref == "acme/clip@v2" && tt.wantErr == nil {
			// main still works offline after v2 went.
			off := newTestClient(t, nil, cache, map[string]string{"HF_HUB_OFFLINE": "1"})
			if _, err := off.Local(mustRef(t, "acme/clip"), ""); err != nil {
				t.Errorf("main broken by removing v2: %v", err)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(cache, "models--acme--clip")); !os.IsNotExist(err) {
		t.Errorf("repo folder still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(cache, ".locks", "models--acme--clip")); !os.IsNotExist(err) {
		t.Errorf("locks still there: %v", err)
	}
	if repos, _ := List(cache); len(repos) != 1 || repos[0].Repo != "acme/split" {
		t.Errorf("List after rm = %+v", repos)
	}
	if repos, err := List(filepath.Join(cache, "absent")); err != nil || repos != nil {
		t.Errorf("List of a missing cache = %v, %v", repos, err)
	}
}

// TestRemoveReportsOrphanedBlobs: a blob hash is reported (so the graphs
// cut from it can go) only once no repo of the cache holds that file.
func TestRemoveReportsOrphanedBlobs(t *testing.T) {
	clip := combinedRepo("acme/clip")
	twin := combinedRepo("acme/twin") // the same files: the same blobs
	srv := hubtest.NewServer(t, clip, twin, splitRepo("acme/split"))
	cache := t.TempDir()
	for _, ref := range []string{"acme/clip", "acme/twin", "acme/split"} {
		if _, err := newTestClient(t, srv, cache, nil).Pull(context.Background(), mustRef(t, ref), PullOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	graph := hubtest.SHA256(clip.Files["onnx/model.onnx"])
	tests := []struct {
		ref  string
		want []string
	}{
		{"acme/clip", nil},             // acme/twin still holds onnx/model.onnx
		{"acme/twin", []string{graph}}, // now nobody does; tokenizer blobs (git sha1) are never reported
		{"acme/split@main", []string{hubtest.SHA256(splitRepo("").Files["onnx/text_model.onnx"]), hubtest.SHA256(splitRepo("").Files["onnx/vision_model.onnx"])}},
	}
	for _, tt := range tests {
		got, err := Remove(cache, mustRef(t, tt.ref))
		if err != nil {
			t.Fatal(err)
		}
		want := slices.Clone(tt.want)
		slices.Sort(want)
		if !slices.Equal(got.Blobs, want) {
			t.Errorf("rm %s: blobs %v, want %v", tt.ref, got.Blobs, want)
		}
	}
}

func TestCachedRepoIDsAndRevisions(t *testing.T) {
	main := combinedRepo("acme/clip")
	v2 := combinedRepo("acme/clip")
	v2.Revision = "v2"
	v2.Files["README.md"] = []byte("v2")
	srv := hubtest.NewServer(t, main, v2, splitRepo("acme/split"))
	cache := t.TempDir()
	c := newTestClient(t, srv, cache, nil)
	for _, ref := range []string{"acme/clip", "acme/clip@v2", "acme/split@" + hubtest.CommitFor(splitRepo("acme/split"))} {
		if _, err := c.Pull(context.Background(), mustRef(t, ref), PullOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// Folders that are no repo of ours: a legacy id without owner, a file,
	// huggingface_hub's other repo types.
	os.MkdirAll(filepath.Join(cache, "models--gpt2", "snapshots"), 0o755)
	os.MkdirAll(filepath.Join(cache, "datasets--acme--data"), 0o755)
	os.WriteFile(filepath.Join(cache, "models--acme--file"), nil, 0o644)

	ids, err := CachedRepoIDs(cache)
	if err != nil || !slices.Equal(ids, []string{"acme/clip", "acme/split"}) {
		t.Errorf("CachedRepoIDs = %v, %v", ids, err)
	}
	if ids, err := CachedRepoIDs(filepath.Join(cache, "absent")); err != nil || ids != nil {
		t.Errorf("CachedRepoIDs of a missing cache = %v, %v", ids, err)
	}
	tests := []struct {
		repo string
		want []string
	}{
		{"acme/clip", []string{"main", "v2"}},
		{"acme/split", []string{hubtest.CommitFor(splitRepo("acme/split"))}}, // pulled by commit: no ref
		{"acme/none", nil},
		{"../acme/clip", nil},
		{"acme/clip@main", nil},
	}
	for _, tt := range tests {
		if got := CachedRevisions(cache, tt.repo); !slices.Equal(got, tt.want) {
			t.Errorf("CachedRevisions(%s) = %v, want %v", tt.repo, got, tt.want)
		}
	}
	// List still shows the legacy folder, as huggingface-cli scan-cache does.
	repos, err := List(cache)
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, r := range repos {
		listed = append(listed, r.Repo)
	}
	if !slices.Equal(listed, []string{"acme/clip", "acme/split", "gpt2"}) {
		t.Errorf("List = %v", listed)
	}
}

func TestSnapshotCommit(t *testing.T) {
	commit := strings.Repeat("ab", 20)
	snap := filepath.Join("/home/u/.cache/huggingface/hub/models--acme--clip/snapshots", commit)
	tests := []struct {
		path         string
		repo, commit string
	}{
		{snap, "acme/clip", commit},
		{snap + "/", "acme/clip", commit},
		{filepath.Join(snap, "onnx"), "acme/clip", commit},
		{filepath.Join(snap, "onnx", "model.onnx"), "acme/clip", commit},
		{"models--acme--clip/snapshots/" + commit, "acme/clip", commit}, // relative
		{"/models/snapshots/" + commit, "", ""},                         // not a cache repo folder
		{"/x/models--acme--clip/snapshots/" + strings.ToUpper(commit), "", ""},
		{"/x/models--acme--clip/snapshots/main", "", ""},
		{"/x/models--gpt2/snapshots/" + commit, "", ""}, // no owner: not an id we can name
		{"/x/models--acme--clip/blobs/" + commit, "", ""},
		{"./my-model", "", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		repo, c, ok := SnapshotCommit(tt.path)
		if repo != tt.repo || c != tt.commit || ok != (tt.commit != "") {
			t.Errorf("SnapshotCommit(%q) = %q, %q, %v; want %q, %q", tt.path, repo, c, ok, tt.repo, tt.commit)
		}
	}
}
