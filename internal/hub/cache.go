package hub

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Snapshot is a model revision available on disk.
type Snapshot struct {
	Repo     string   `json:"repo"`
	Revision string   `json:"revision"`
	Commit   string   `json:"commit"`
	Dir      string   `json:"path"`          // the snapshot folder: hand it to fashionclip.Load
	Layout   string   `json:"layout"`        // "combined" or "split"
	Graphs   []string `json:"graphs"`        // repo paths of the variant's graph(s)
	Files    []string `json:"files"`         // repo paths the model uses
	Fetched  []string `json:"fetched"`       // files downloaded by this call
	Bytes    int64    `json:"fetched_bytes"` // bytes downloaded by this call
	Network  bool     `json:"network"`       // whether the Hub was contacted
	Warnings []string `json:"warnings,omitempty"`
}

func (c *Client) repoDir(repo string) string {
	return filepath.Join(c.cfg.CacheDir, RepoFolderName(repo))
}

func snapshotDir(repoDir, commit string) string {
	return filepath.Join(repoDir, "snapshots", commit)
}

func refPath(repoDir, rev string) string {
	return filepath.Join(repoDir, "refs", filepath.FromSlash(rev))
}

// readRef returns the commit a refs/ file names. huggingface_hub writes the
// bare hash; surrounding space is tolerated.
func readRef(repoDir, rev string) (string, error) {
	b, err := os.ReadFile(refPath(repoDir, rev))
	if err != nil {
		return "", err
	}
	commit := strings.TrimSpace(string(b))
	if !IsCommitHash(commit) {
		return "", fmt.Errorf("%s does not hold a commit hash", refPath(repoDir, rev))
	}
	return commit, nil
}

// writeRef records rev -> commit, without a newline (as huggingface_hub,
// which reads the file verbatim), replacing the file atomically.
func writeRef(repoDir, rev, commit string) error {
	p := refPath(repoDir, rev)
	if old, err := readRef(repoDir, rev); err == nil && old == commit {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o777); err != nil {
		return err
	}
	tmp := p + ".tmp-" + randomSuffix()
	if err := os.WriteFile(tmp, []byte(commit), 0o666); err != nil {
		return err
	}
	if err := os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// localCommit resolves a revision with the cache alone.
func localCommit(repoDir, rev string) (string, error) {
	if commit, err := readRef(repoDir, rev); err == nil {
		return commit, nil
	}
	if IsCommitHash(rev) {
		if st, err := os.Stat(snapshotDir(repoDir, rev)); err == nil && st.IsDir() {
			return rev, nil
		}
	}
	return "", fmt.Errorf("no cached snapshot for revision %q", rev)
}

// snapshotFiles lists the files of a snapshot whose blobs are really there
// (a dangling link does not count), as slash paths.
func snapshotFiles(dir string) (map[string]bool, error) {
	have := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		have[filepath.ToSlash(rel)] = true
		return nil
	})
	return have, err
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Local finds the variant in the cache without any network: refs/{rev} (or
// a commit hash given as revision) names the snapshot, which must hold the
// variant's graphs and a tokenizer. The ErrNotCached error says what is
// missing; its Ref and Variant are what a pull would need.
func (c *Client) Local(ref Ref, variant string) (*Snapshot, error) {
	if _, err := VariantSuffix(variant); err != nil {
		return nil, err
	}
	notCached := func(cause error, format string, args ...any) error {
		e := newError(ErrNotCached, format, args...).withRef(ref, variant)
		e.Cause = cause
		return e
	}
	repoDir := c.repoDir(ref.Repo)
	if _, err := os.Stat(repoDir); err != nil {
		return nil, notCached(nil, "%s is not in the Hugging Face cache (%s)", ref.Repo, c.cfg.CacheDir)
	}
	commit, err := localCommit(repoDir, ref.Revision)
	if err != nil {
		msg := fmt.Sprintf("%s@%s is not in the Hugging Face cache (%s): no refs/%s", ref.Repo, ref.Revision, repoDir, ref.Revision)
		if revs := refNames(repoDir); len(revs) > 0 {
			msg += " (cached revisions: " + strings.Join(revs, ", ") + ")"
		}
		return nil, notCached(nil, "%s", msg)
	}
	dir := snapshotDir(repoDir, commit)
	have, err := snapshotFiles(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	sel, err := SelectFiles(keys(have), variant)
	if err != nil {
		if errors.Is(err, ErrNoGraph) {
			return nil, notCached(err, "cached snapshot %s of %s is missing the model graphs: %v", short(commit), ref, err)
		}
		return nil, err
	}
	graphDir := ""
	if i := strings.LastIndex(sel.Graphs[0], "/"); i >= 0 {
		graphDir = sel.Graphs[0][:i+1]
	}
	if !hasTokenizer(have, graphDir) {
		return nil, notCached(nil, "cached snapshot %s of %s is missing the tokenizer (tokenizer.json, or vocab.json + merges.txt)", short(commit), ref)
	}
	return &Snapshot{Repo: ref.Repo, Revision: ref.Revision, Commit: commit, Dir: dir,
		Layout: sel.Kind, Graphs: sel.Graphs, Files: sel.Files}, nil
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}

// refNames lists the refs/ names of a cached repo.
func refNames(repoDir string) []string {
	var out []string
	base := filepath.Join(repoDir, "refs")
	filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.Contains(d.Name(), ".tmp-") {
			if rel, err := filepath.Rel(base, p); err == nil {
				out = append(out, filepath.ToSlash(rel))
			}
		}
		return nil
	})
	sort.Strings(out)
	return out
}

// linkPointer makes snapshots/{commit}/{path} a relative symlink to the blob
// (../../blobs/{etag}, one more ../ per folder level), as huggingface_hub
// does, so the cache still works when moved. The link is replaced
// atomically. Where symlinks are not allowed (Windows without developer
// mode) the blob is copied instead.
func linkPointer(blob, pointer string) error {
	if err := os.MkdirAll(filepath.Dir(pointer), 0o777); err != nil {
		return err
	}
	rel, err := filepath.Rel(filepath.Dir(pointer), blob)
	if err != nil {
		return err
	}
	if cur, err := os.Readlink(pointer); err == nil && cur == rel {
		return nil
	}
	tmp := pointer + ".tmp-" + randomSuffix()
	if err := os.Symlink(rel, tmp); err != nil {
		if err := copyFile(blob, tmp); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, pointer); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(dst)
		return err
	}
	return out.Close()
}

func randomSuffix() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// CachedRepo is one model repo found in the cache.
type CachedRepo struct {
	Repo      string            `json:"repo"`
	Dir       string            `json:"path"`
	Refs      map[string]string `json:"refs"` // revision -> commit
	Snapshots []CachedSnapshot  `json:"snapshots"`
	// Size counts every blob the snapshots use once, as huggingface_hub's
	// scan-cache does.
	Size         int64     `json:"size"`
	LastModified time.Time `json:"last_modified"`
}

// CachedSnapshot is one commit of a cached repo.
type CachedSnapshot struct {
	Commit string   `json:"commit"`
	Refs   []string `json:"refs,omitempty"`
	Dir    string   `json:"path"`
	Files  int      `json:"files"`
	Size   int64    `json:"size"`
}

// repoFolders lists the model repo folders (models--*) of a hub cache,
// sorted by name. A missing cache has none.
func repoFolders(cacheDir string) ([]string, error) {
	entries, err := os.ReadDir(cacheDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), "models--") {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// List reads every model repo of a hub cache. A missing cache is empty.
func List(cacheDir string) ([]CachedRepo, error) {
	folders, err := repoFolders(cacheDir)
	if err != nil {
		return nil, err
	}
	var out []CachedRepo
	for _, name := range folders {
		r, err := scanRepo(filepath.Join(cacheDir, name))
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Repo < out[j].Repo })
	return out, nil
}

// CachedRepoIDs lists the owner/name ids of the model repos in a hub
// cache, sorted. Only folder names are read (no snapshot is walked), so it
// is cheap enough for shell completion. A missing cache is empty.
func CachedRepoIDs(cacheDir string) ([]string, error) {
	folders, err := repoFolders(cacheDir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, name := range folders {
		if id, ok := repoFromFolderName(name); ok {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out, nil
}

// CachedRevisions lists what can follow "repo@" for a cached repo: its
// refs/ names, then the commits of snapshots no ref names, each sorted.
// Cheap (two folder reads); nil when the repo is not cached or repo is no
// valid id (completion passes whatever was typed).
func CachedRevisions(cacheDir, repo string) []string {
	if ref, err := ParseRef(repo); err != nil || ref.Explicit {
		return nil
	}
	repoDir := filepath.Join(cacheDir, RepoFolderName(repo))
	out := refNames(repoDir)
	named := map[string]bool{}
	for _, rev := range out {
		if commit, err := readRef(repoDir, rev); err == nil {
			named[commit] = true
		}
	}
	snaps, _ := os.ReadDir(filepath.Join(repoDir, "snapshots"))
	for _, s := range snaps {
		if s.IsDir() && IsCommitHash(s.Name()) && !named[s.Name()] {
			out = append(out, s.Name())
		}
	}
	return out
}

func scanRepo(dir string) (CachedRepo, error) {
	id, _ := repoFromFolderName(filepath.Base(dir))
	r := CachedRepo{Repo: id, Dir: dir, Refs: map[string]string{}}
	for _, rev := range refNames(dir) {
		if commit, err := readRef(dir, rev); err == nil {
			r.Refs[rev] = commit
		}
	}
	snaps, err := os.ReadDir(filepath.Join(dir, "snapshots"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return r, err
	}
	seen := map[string]int64{}
	for _, s := range snaps {
		if !s.IsDir() {
			continue
		}
		cs := CachedSnapshot{Commit: s.Name(), Dir: filepath.Join(dir, "snapshots", s.Name())}
		for rev, commit := range r.Refs {
			if commit == cs.Commit {
				cs.Refs = append(cs.Refs, rev)
			}
		}
		sort.Strings(cs.Refs)
		mine := map[string]bool{}
		filepath.WalkDir(cs.Dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			real, err := filepath.EvalSymlinks(p)
			if err != nil {
				return nil // dangling: not a usable file
			}
			st, err := os.Stat(real)
			if err != nil {
				return nil
			}
			cs.Files++
			if !mine[real] {
				mine[real] = true
				cs.Size += st.Size()
			}
			seen[real] = st.Size()
			if st.ModTime().After(r.LastModified) {
				r.LastModified = st.ModTime()
			}
			return nil
		})
		r.Snapshots = append(r.Snapshots, cs)
	}
	for _, n := range seen {
		r.Size += n
	}
	return r, nil
}

// Removed reports what Remove deleted.
type Removed struct {
	Repo    string   `json:"repo"`
	Commits []string `json:"commits"`
	Whole   bool     `json:"whole_repo"`
	Freed   int64    `json:"freed_bytes"`
	// Blobs are the sha256 names of the deleted blobs (LFS files) that no
	// other repo of the cache still holds. Files derived from a blob and
	// keyed by its hash (the graphs cut from a combined model.onnx, cached
	// as graphs/blob-{sha256}) have lost their source and can go too.
	Blobs []string `json:"blobs,omitempty"`
}

// Remove deletes a cached repo. Without an explicit revision the whole repo
// folder goes (and its locks); with one, only that snapshot, the refs naming
// it and the blobs no other snapshot uses.
func Remove(cacheDir string, ref Ref) (*Removed, error) {
	repoDir := filepath.Join(cacheDir, RepoFolderName(ref.Repo))
	if _, err := os.Stat(repoDir); err != nil {
		return nil, newError(ErrNotCached, "%s is not in the Hugging Face cache (%s)", ref.Repo, cacheDir).withRef(ref, "")
	}
	info, err := scanRepo(repoDir)
	if err != nil {
		return nil, err
	}
	res := &Removed{Repo: ref.Repo}
	var gone []string // blob names deleted
	if !ref.Explicit {
		for _, s := range info.Snapshots {
			res.Commits = append(res.Commits, s.Commit)
		}
		blobs, _ := os.ReadDir(filepath.Join(repoDir, "blobs"))
		for _, b := range blobs {
			gone = append(gone, b.Name())
		}
		res.Whole, res.Freed = true, dirSize(filepath.Join(repoDir, "blobs"))
		if err := os.RemoveAll(repoDir); err != nil {
			return nil, err
		}
		os.RemoveAll(filepath.Join(cacheDir, ".locks", RepoFolderName(ref.Repo)))
		res.Blobs = orphanedHashes(cacheDir, ref.Repo, gone)
		return res, nil
	}
	commit, err := localCommit(repoDir, ref.Revision)
	if err != nil {
		return nil, newError(ErrNotCached, "%s@%s is not in the Hugging Face cache (%s)", ref.Repo, ref.Revision, cacheDir).withRef(ref, "")
	}
	res.Commits = []string{commit}
	if err := os.RemoveAll(snapshotDir(repoDir, commit)); err != nil {
		return nil, err
	}
	os.RemoveAll(filepath.Join(repoDir, ".no_exist", commit))
	for rev, c := range info.Refs {
		if c == commit {
			os.Remove(refPath(repoDir, rev))
		}
	}
	// Blobs still linked from another snapshot stay.
	used := map[string]bool{}
	filepath.WalkDir(filepath.Join(repoDir, "snapshots"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if real, err := filepath.EvalSymlinks(p); err == nil {
				used[filepath.Base(real)] = true
			}
		}
		return nil
	})
	blobs, _ := os.ReadDir(filepath.Join(repoDir, "blobs"))
	for _, b := range blobs {
		if used[b.Name()] || strings.HasSuffix(b.Name(), ".incomplete") {
			continue
		}
		if st, err := b.Info(); err == nil {
			if os.Remove(filepath.Join(repoDir, "blobs", b.Name())) == nil {
				res.Freed += st.Size()
				gone = append(gone, b.Name())
			}
		}
	}
	if left, _ := os.ReadDir(filepath.Join(repoDir, "snapshots")); len(left) == 0 {
		res.Whole = true
		os.RemoveAll(repoDir)
		os.RemoveAll(filepath.Join(cacheDir, ".locks", RepoFolderName(ref.Repo)))
	}
	res.Blobs = orphanedHashes(cacheDir, ref.Repo, gone)
	return res, nil
}

// orphanedHashes keeps, of the deleted blob names, the sha256 ones that no
// other repo of the cache holds (the same file may live in several repos).
func orphanedHashes(cacheDir, repo string, gone []string) []string {
	var others []string
	folders, _ := repoFolders(cacheDir)
	for _, name := range folders {
		if name != RepoFolderName(repo) {
			others = append(others, filepath.Join(cacheDir, name, "blobs"))
		}
	}
	var out []string
	for _, name := range gone {
		if !isHex(name, 64) || name != strings.ToLower(name) {
			continue
		}
		held := false
		for _, dir := range others {
			if st, err := os.Stat(filepath.Join(dir, name)); err == nil && st.Mode().IsRegular() {
				held = true
				break
			}
		}
		if !held {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if st, err := d.Info(); err == nil {
				n += st.Size()
			}
		}
		return nil
	})
	return n
}

// SnapshotDir is where the cache keeps a commit of repo (it may not exist).
func (c *Client) SnapshotDir(repo, commit string) string {
	return snapshotDir(c.repoDir(repo), commit)
}

// LocalSnapshot resolves ref with the cache alone, without checking that
// any particular file is there: the commit, its folder and the files whose
// blobs are present.
func (c *Client) LocalSnapshot(ref Ref) (commit, dir string, files []string, err error) {
	repoDir := c.repoDir(ref.Repo)
	commit, err = localCommit(repoDir, ref.Revision)
	if err != nil {
		return "", "", nil, newError(ErrNotCached, "%s is not in the Hugging Face cache (%s)", ref, c.cfg.CacheDir).withRef(ref, "")
	}
	dir = snapshotDir(repoDir, commit)
	have, err := snapshotFiles(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", "", nil, err
	}
	return commit, dir, keys(have), nil
}
