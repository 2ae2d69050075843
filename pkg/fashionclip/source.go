package fashionclip

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/fashionclip/fashionclip/internal/hub"
)

// HubOptions configure the Hugging Face Hub client used for repo ids. The
// cache is huggingface_hub's own ($HF_HUB_CACHE, $HF_HOME, ~/.cache/huggingface),
// shared with Python; HF_TOKEN and HF_ENDPOINT are honoured.
type HubOptions struct {
	// Offline never touches the network (also $HF_HUB_OFFLINE=1): the cache
	// must hold the model.
	Offline bool
	// Getenv reads the environment (nil: the Runtime's).
	Getenv func(string) string
	// Progress receives download progress; nil for none.
	Progress PullProgress
}

// PullProgress receives the progress of a model download.
type PullProgress = hub.Progress

// FileSize is one file of a download and its size (-1 when unknown).
type FileSize = hub.FileSize

// Source is where a model's files are.
type Source struct {
	Ref      string // what Load was given
	Dir      string // the local folder (a Hub snapshot for repo ids)
	Repo     string // owner/name, for repo ids
	Revision string // the revision asked for (default "main")
	Commit   string // the snapshot's commit, for repo ids
}

// IsRepoID reports whether ref is a Hub repo id owner/name[@revision].
func IsRepoID(ref string) bool {
	_, err := hub.ParseRef(ref)
	return err == nil
}

// ModelNotFoundError is a reference that is neither an existing path nor a repo id.
type ModelNotFoundError struct{ Ref string }

func (e *ModelNotFoundError) Error() string {
	return fmt.Sprintf("model %q is neither an existing folder nor a Hub repo id (owner/name[@revision])", e.Ref)
}

// Resolve finds a model's folder without loading it: an existing path as
// it is, a repo id through the Hub cache, pulling the variant's files when
// they are missing (and the Hub is allowed).
func Resolve(ctx context.Context, ref string, variant Variant, opts HubOptions, log *slog.Logger) (Source, error) {
	if _, err := os.Stat(ref); err == nil {
		return Source{Ref: ref, Dir: ref}, nil
	}
	if !IsRepoID(ref) {
		return Source{}, &ModelNotFoundError{Ref: ref}
	}
	r, err := hub.ParseRef(ref)
	if err != nil {
		return Source{}, err
	}
	snap, err := hub.NewClient(hub.NewConfig(opts.Getenv, opts.Offline)).Pull(ctx, r, hub.PullOptions{Variant: string(variant), Progress: opts.Progress})
	if err != nil {
		return Source{}, err
	}
	if log != nil {
		for _, w := range snap.Warnings {
			log.Warn(w)
		}
		if len(snap.Fetched) > 0 {
			log.Info(fmt.Sprintf("downloaded %s: %d files, %s, into %s", r, len(snap.Fetched), hub.FormatBytes(snap.Bytes), snap.Dir))
		}
	}
	return Source{Ref: ref, Dir: snap.Dir, Repo: r.Repo, Revision: r.Revision, Commit: snap.Commit}, nil
}

// Identity says which weights made an embedding: two models with the same
// identity give the same vectors. Indexes record it and refuse to mix.
type Identity struct {
	Repo     string  // Hub repo, when loaded from one
	Revision string  // the snapshot commit for Hub models
	Folder   string  // absolute folder, for local models
	Graph    string  // a sampled SHA-256 of the graph files (see Identity)
	Variant  Variant // the graph variant
	Recipe   string  // the derivation of the variant's graphs ("" when shipped; see Model.Recipe)
}

// Identity computes the model's identity. The graph part is a SHA-256 over
// each graph file's size and 16 evenly spaced 64 KiB blocks: different
// weights differ everywhere, and a 600 MB graph is not read in full.
func (m *Model) Identity() (Identity, error) {
	id := Identity{Variant: m.Variant(), Recipe: m.Recipe()}
	if m.source.Repo != "" {
		id.Repo, id.Revision = m.source.Repo, m.source.Commit
		if id.Revision == "" {
			id.Revision = m.source.Revision
		}
	} else if abs, err := filepath.Abs(m.source.Dir); err == nil {
		id.Folder = abs
	} else {
		id.Folder = m.source.Dir
	}
	g, err := sampledHash(m.layout.Graphs())
	if err != nil {
		return id, err
	}
	id.Graph = g
	return id, nil
}

func sampledHash(files []string) (string, error) {
	const blocks, block = 16, 64 << 10
	h := sha256.New()
	buf := make([]byte, block)
	for _, p := range files {
		if err := hashSampled(h, buf, p, blocks); err != nil {
			return "", err
		}
	}
	return "sha256-sampled:" + hex.EncodeToString(h.Sum(nil)), nil
}

func hashSampled(h io.Writer, buf []byte, path string, blocks int64) error {
	block := int64(len(buf))
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	fmt.Fprintf(h, "%d\n", size)
	for i := int64(0); i < blocks; i++ {
		off := (size - block) * i / (blocks - 1)
		if size <= block*blocks {
			off = i * block // small graphs are hashed whole
		}
		if off < 0 || off >= size {
			break
		}
		n, err := fh.ReadAt(buf, off)
		if err != nil && err != io.EOF {
			return err
		}
		h.Write(buf[:n])
	}
	return nil
}

// String names the identity for messages.
func (id Identity) String() string {
	var b strings.Builder
	switch {
	case id.Repo != "":
		b.WriteString(id.Repo)
		if id.Revision != "" {
			b.WriteString("@" + id.Revision)
		}
	default:
		b.WriteString(id.Folder)
	}
	if id.Variant != "" && id.Variant != FP32 {
		b.WriteString(" (" + string(id.Variant) + ")")
	}
	return b.String()
}
