// Package graphcache keeps graphs derived from model files — towers cut out
// of a combined graph, quantized towers, ONNX Runtime's optimized form —
// under fashionclip's user cache, never inside a model folder (which may be
// read-only). An entry is a folder built beside its final place and renamed
// in, so a crash or a concurrent process never sees half of one. Entries
// are named after their source, so removing a model can remove what was
// derived from it. Pure Go.
package graphcache

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Cache is a folder of entries.
type Cache struct{ Root string }

// entryFile records where an entry came from; its presence marks the entry complete.
const entryFile = "entry.json"

// Meta is what an entry records about itself.
type Meta struct {
	Source string    `json:"source"` // the file it was derived from
	Recipe string    `json:"recipe"` // what was derived, e.g. "split-v1", "int8-v1-standard"
	Built  time.Time `json:"built"`
	// Extra holds recipe-specific facts (e.g. a graph's logit scale).
	Extra json.RawMessage `json:"extra,omitempty"`
}

var sha256Name = regexp.MustCompile(`^[0-9a-f]{64}$`)

// SourceKey names a source file cheaply: a Hugging Face blob is already
// named by its sha256 ("blob-<sha>"); anything else is keyed by its real
// path, size and modification time ("file-<hash>"), never by hashing
// hundreds of megabytes at every start.
func SourceKey(path string) (string, error) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", err
	}
	if base := filepath.Base(real); sha256Name.MatchString(base) {
		return BlobKey(base), nil
	}
	abs, err := filepath.Abs(real)
	if err != nil {
		return "", err
	}
	st, err := os.Stat(abs)
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(fmt.Appendf(nil, "%s\x00%d\x00%d", abs, st.Size(), st.ModTime().UnixNano()))
	return "file-" + hex.EncodeToString(h[:12]), nil
}

// BlobKey is the source key of a Hugging Face blob named by its sha256.
func BlobKey(sha string) string { return "blob-" + sha }

// Key joins a source key and a recipe ("blob-…" + "int8-v1-standard.text"
// for one derived tower); the bare source key is the entry of the tower
// split.
func Key(source, recipe string) string {
	if recipe == "" {
		return source
	}
	return source + "." + recipe
}

// Dir is the folder of an entry.
func (c Cache) Dir(key string) string { return filepath.Join(c.Root, key) }

// Lookup returns a complete entry's folder and meta.
func (c Cache) Lookup(key string) (string, Meta, bool) {
	dir := c.Dir(key)
	b, err := os.ReadFile(filepath.Join(dir, entryFile))
	if err != nil {
		return "", Meta{}, false
	}
	var m Meta
	if json.Unmarshal(b, &m) != nil {
		return "", Meta{}, false
	}
	return dir, m, true
}

// Build returns the entry's folder, calling build to fill a fresh folder
// first when the entry is missing. The built folder is renamed into place
// with its meta only when build succeeds; a concurrent builder's complete
// entry is used as it is. built reports whether this call built it.
func (c Cache) Build(key string, meta Meta, build func(dir string) error) (dir string, built bool, err error) {
	if d, _, ok := c.Lookup(key); ok {
		return d, false, nil
	}
	if err := os.MkdirAll(c.Root, 0o755); err != nil {
		return "", false, err
	}
	tmp, err := os.MkdirTemp(c.Root, key+".tmp-")
	if err != nil {
		return "", false, err
	}
	defer os.RemoveAll(tmp)
	if err := build(tmp); err != nil {
		return "", false, err
	}
	if meta.Built.IsZero() {
		meta.Built = time.Now().UTC()
	}
	b, err := json.Marshal(meta)
	if err != nil {
		return "", false, err
	}
	if err := os.WriteFile(filepath.Join(tmp, entryFile), b, 0o644); err != nil {
		return "", false, err
	}
	final := c.Dir(key)
	if err := os.Rename(tmp, final); err != nil {
		if d, _, ok := c.Lookup(key); ok {
			return d, false, nil // another process won the race
		}
		// An incomplete leftover (a crash before entry.json): replace it.
		if rerr := os.RemoveAll(final); rerr == nil && os.Rename(tmp, final) == nil {
			return final, true, nil
		}
		return "", false, err
	}
	return final, true, nil
}

// Entry is one cached entry.
type Entry struct {
	Key   string
	Dir   string
	Meta  Meta
	Bytes int64
	// Complete is false for a leftover of an interrupted build.
	Complete bool
}

// Entries lists the cache's entries (and leftovers), sorted by key.
func (c Cache) Entries() ([]Entry, error) {
	des, err := os.ReadDir(c.Root)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, de := range des {
		if !de.IsDir() {
			continue
		}
		e := Entry{Key: de.Name(), Dir: c.Dir(de.Name())}
		if _, m, ok := c.Lookup(e.Key); ok {
			e.Meta, e.Complete = m, true
		}
		e.Bytes = treeSize(e.Dir)
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Stale reports whether an entry is garbage: a leftover of an interrupted
// build, or derived from a source that is gone or has changed since.
func (e Entry) Stale() bool {
	if !e.Complete {
		return true
	}
	key, err := SourceKey(e.Meta.Source)
	return err != nil || key != e.SourceKey()
}

// SourceKey is the source part of the entry's key.
func (e Entry) SourceKey() string {
	k, _, _ := strings.Cut(e.Key, ".")
	return k
}

// RemoveSources deletes every entry derived from the given source keys and
// returns the bytes freed.
func (c Cache) RemoveSources(sources ...string) (int64, error) {
	entries, err := c.Entries()
	if err != nil {
		return 0, err
	}
	var freed int64
	for _, e := range entries {
		for _, s := range sources {
			if e.Key == s || strings.HasPrefix(e.Key, s+".") {
				if err := os.RemoveAll(e.Dir); err != nil {
					return freed, err
				}
				freed += e.Bytes
				break
			}
		}
	}
	return freed, nil
}

// Remove deletes the given entries and returns the bytes freed.
func (c Cache) Remove(entries []Entry) (int64, error) {
	var freed int64
	for _, e := range entries {
		if err := os.RemoveAll(e.Dir); err != nil {
			return freed, err
		}
		freed += e.Bytes
	}
	return freed, nil
}

func treeSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
