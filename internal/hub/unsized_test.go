package hub

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fashionclip/fashionclip/internal/hub/hubtest"
)

// TestPullUnsizedFiles reproduces issue 13's Hub defects: a file served
// with no size and no hash, cut mid-body, was cached as complete (and the
// next pull said "up to date"); an unsized body was read without bound.
// A file is accepted only when a size or a hash proves it whole.
func TestPullUnsizedFiles(t *testing.T) {
	const lfsFile = "onnx/model.onnx"
	tests := []struct {
		name     string
		file     string // default lfsFile
		cut      int    // default 100_000
		faults   hubtest.FileFaults
		truncate bool // cut the first GET of file after `cut` bytes
		maxBytes int64
		wantErr  error // of the first pull; nil = success
		// the second pull (no cut) succeeds; false: it fails with wantErr again
		secondOK bool
	}{
		{name: "no size, no hash, cut mid-body", truncate: true,
			faults:  hubtest.FileFaults{NoSize: true, OpaqueETag: "mirror-7", Unhashed: true},
			wantErr: ErrUnverifiable},
		{name: "no size, no hash, whole body",
			faults:  hubtest.FileFaults{NoSize: true, OpaqueETag: "mirror-7", Unhashed: true},
			wantErr: ErrUnverifiable},
		{name: "no size, sha256 known, cut mid-body", truncate: true,
			faults:  hubtest.FileFaults{NoSize: true},
			wantErr: ErrChecksum, secondOK: true},
		{name: "no size, sha256 only in the listing, cut mid-body", truncate: true,
			faults:  hubtest.FileFaults{NoSize: true, OpaqueETag: "mirror-7"},
			wantErr: ErrChecksum, secondOK: true},
		{name: "no size, sha256 known, whole body",
			faults: hubtest.FileFaults{NoSize: true}},
		{name: "no size, sha256 known, endless body", maxBytes: 1 << 20,
			faults:  hubtest.FileFaults{NoSize: true, Endless: true},
			wantErr: ErrTooLarge},
		{name: "size known, no hash, cut mid-body: resumed", truncate: true,
			faults: hubtest.FileFaults{OpaqueETag: "mirror-7", Unhashed: true}},
		{name: "regular file, no size, opaque ETag: the listing's git blob id checks it", file: "tokenizer.json", cut: 10, truncate: true,
			faults:  hubtest.FileFaults{NoSize: true, OpaqueETag: "mirror-7"},
			wantErr: ErrChecksum, secondOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file, cut := tt.file, tt.cut
			if file == "" {
				file, cut = lfsFile, 100_000
			}
			repo := combinedRepo("acme/clip")
			srv := hubtest.NewServer(t, repo)
			srv.SetFaults(file, tt.faults)
			if tt.truncate {
				srv.TruncateNext(file, cut)
			}
			cache := t.TempDir()
			pull := func() (*Snapshot, error) {
				c := newTestClient(t, srv, cache, nil)
				if tt.maxBytes > 0 {
					c.MaxUnsizedFile = tt.maxBytes
				}
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				return c.Pull(ctx, mustRef(t, "acme/clip"), PullOptions{Refresh: true})
			}
			repoDir := filepath.Join(cache, "models--acme--clip")
			pointer := filepath.Join(repoDir, "snapshots", hubtest.CommitFor(repo), filepath.FromSlash(file))

			snap, err := pull()
			if tt.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				got, err := os.ReadFile(pointer)
				if err != nil || !bytes.Equal(got, repo.Files[file]) {
					t.Fatalf("%s: %d bytes (%v), want the %d of the original", file, len(got), err, len(repo.Files[file]))
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v (snapshot %+v), want %v", err, snap, tt.wantErr)
			}
			var he *Error
			if !errors.As(err, &he) || he.File != file || he.Ref.Repo != "acme/clip" {
				t.Errorf("error %#v does not name the file and repo", he)
			}
			if _, err := os.Lstat(pointer); err == nil {
				t.Errorf("%s was linked after %v", file, tt.wantErr)
			}
			if _, err := os.Lstat(filepath.Join(repoDir, "refs", "main")); err == nil {
				t.Error("refs/main written for a failed pull")
			}
			etag := tt.faults.OpaqueETag
			if etag == "" {
				etag = repo.ETag(file)
			}
			// Other files were cancelled and keep their partial bytes for a
			// resume; the refused one keeps nothing.
			for _, p := range []string{etag, etag + ".incomplete"} {
				if _, err := os.Lstat(filepath.Join(repoDir, "blobs", p)); err == nil {
					t.Errorf("blobs/%s kept after %v", p, tt.wantErr)
				}
			}
			if tt.maxBytes > 0 {
				// A bounded download stops near the bound, not at the test's timeout.
				if n := srv.FileBytesServed(file); n > 64*tt.maxBytes {
					t.Errorf("the server sent %d bytes for a bound of %d", n, tt.maxBytes)
				}
			}

			_, err = pull()
			if tt.secondOK {
				if err != nil {
					t.Fatalf("second pull: %v", err)
				}
				got, _ := os.ReadFile(pointer)
				if !bytes.Equal(got, repo.Files[file]) {
					t.Fatal("second pull linked other bytes than the original")
				}
			} else if !errors.Is(err, tt.wantErr) {
				t.Fatalf("second pull: err = %v, want %v again (never \"up to date\")", err, tt.wantErr)
			}
		})
	}
}
