package hub

import (
	"context"
	"errors"
	"os"
	"path/filepath"
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
		wantErr     error
	}{
		{"acme/clip@v2", []string{c2}, 250_000, false, nil},
		{"acme/clip@v2", nil, 0, false, ErrNotCached},
		{"acme/clip", []string{c1}, clip.Size - 250_000, true, nil},
		{"acme/clip", nil, 0, false, ErrNotCached},
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
