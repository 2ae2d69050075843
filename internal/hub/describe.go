package hub

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/fashionclip/fashionclip/internal/modelfiles"
)

// Source says where a Description's file list came from.
type Source string

// The sources of a description.
const (
	SourceHub    Source = "hub"    // the Hub API; files may or may not be cached
	SourceCache  Source = "cache"  // the cache alone: offline, or the Hub unreachable
	SourceFolder Source = "folder" // a local model folder
)

// Description is a model as `model info` shows it: its files, which the
// variant needs and which are on disk, the layout found on disk and, when
// an inspector is given, the graphs' inputs and outputs.
type Description struct {
	Repo     string `json:"repo,omitempty"`
	Revision string `json:"revision,omitempty"`
	Commit   string `json:"commit,omitempty"`
	Variant  string `json:"variant"`
	Source   Source `json:"source"`
	// Snapshot is the local folder (snapshot or model folder), "" when
	// the revision is not cached.
	Snapshot string             `json:"snapshot,omitempty"`
	Layout   *DescribedLayout   `json:"layout,omitempty"`
	Files    []DescribedFile    `json:"files"`
	Graphs   []DescribedGraphIO `json:"graphs,omitempty"`
	// Notes are what could not be shown, and why; never advice.
	Notes []string `json:"notes,omitempty"`
}

// DescribedLayout is the layout internal/modelfiles finds on disk, as slash
// paths relative to Snapshot.
type DescribedLayout struct {
	Kind     string `json:"kind"` // "combined" or "split"
	Combined string `json:"combined,omitempty"`
	Text     string `json:"text,omitempty"`
	Vision   string `json:"vision,omitempty"`
}

// DescribedFile is one file of the model.
type DescribedFile struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"` // -1 when unknown
	LFS    bool   `json:"lfs"`
	SHA256 string `json:"sha256,omitempty"`
	Needed bool   `json:"needed"` // pulled for the variant
	Cached bool   `json:"cached"` // on disk in Snapshot
}

// DescribedGraphIO lists a graph's inputs and outputs.
type DescribedGraphIO struct {
	Path    string   `json:"path"` // relative to Snapshot
	Inputs  []IOName `json:"inputs"`
	Outputs []IOName `json:"outputs"`
}

// IOName is one graph input or output.
type IOName struct {
	Name  string  `json:"name"`
	Type  string  `json:"type"`
	Shape []int64 `json:"shape"`
}

// ErrInspectUnavailable, wrapped by an inspector's error, means no graph
// can be inspected at all (ONNX Runtime does not load): Describe notes it
// once and asks no more.
var ErrInspectUnavailable = errors.New("graph inputs/outputs not shown")

// DescribeOptions tune Describe.
type DescribeOptions struct {
	// Variant picks the graphs ("" is fp32).
	Variant string
	// Inspect lists the inputs and outputs of the graph file at path. The
	// caller backs it with ONNX Runtime, which opens the file itself; this
	// package never runs or reads graphs. nil leaves Graphs empty.
	Inspect func(path string) (inputs, outputs []IOName, err error)
}

// Describe describes target: a local model folder when target is an
// existing folder, else a repo reference (owner/name[@revision]). A repo is
// listed by the Hub when it answers, else (offline, or ErrUnreachable) by
// the cache, with a note. Failures that still leave something to show
// (no graph for the variant, a graph that cannot be inspected) are notes;
// the error is for a target that cannot be described at all: ErrInvalidRef,
// ErrNotCached (joined with the ErrUnreachable that forced the cache), or
// the Hub's answer (ErrNotFound, ErrGated, ...).
func (c *Client) Describe(ctx context.Context, target string, opts DescribeOptions) (*Description, error) {
	v, err := modelfiles.ParseVariant(opts.Variant)
	if err != nil {
		return nil, err
	}
	d := &Description{Variant: v.String()}
	if st, err := os.Stat(target); err == nil && st.IsDir() {
		d.Source, d.Snapshot = SourceFolder, target
		if err := d.listDisk(target); err != nil {
			return nil, err
		}
	} else if err := c.describeRepo(ctx, target, d); err != nil {
		return nil, err
	}
	// Without the variant's graphs in the listing there is no layout to
	// find on disk either: one note says so.
	if d.markNeeded(opts.Variant) && d.Snapshot != "" {
		d.detectLayout(v, opts.Inspect)
	}
	return d, nil
}

func (c *Client) describeRepo(ctx context.Context, target string, d *Description) error {
	ref, err := ParseRef(target)
	if err != nil {
		return err
	}
	d.Repo, d.Revision = ref.Repo, ref.Revision
	var remote *RepoInfo
	var unreachable error
	if !c.cfg.Offline {
		remote, err = c.Info(ctx, ref)
		switch {
		case err == nil:
		case errors.Is(err, ErrUnreachable) && ctx.Err() == nil:
			unreachable = err
			d.Notes = append(d.Notes, fmt.Sprintf("%v; showing the cache", err))
		default:
			return err
		}
	}
	if remote == nil {
		commit, dir, _, err := c.LocalSnapshot(ref)
		if err != nil {
			var he *Error
			if errors.As(err, &he) && unreachable != nil {
				he.Cause = unreachable
				he.Msg += "; " + unreachable.Error()
			}
			return err
		}
		d.Source, d.Commit, d.Snapshot = SourceCache, commit, dir
		return d.listDisk(dir)
	}
	d.Source, d.Commit = SourceHub, remote.Commit
	dir := c.SnapshotDir(ref.Repo, remote.Commit)
	local := map[string]bool{}
	if st, err := os.Stat(dir); err == nil && st.IsDir() {
		d.Snapshot = dir
		if local, err = snapshotFiles(dir); err != nil {
			return err
		}
	} else if cached, err := localCommit(c.repoDir(ref.Repo), ref.Revision); err == nil && cached != remote.Commit {
		d.Notes = append(d.Notes, fmt.Sprintf("the cache holds commit %s of %s; the Hub's is %s", short(cached), ref, short(remote.Commit)))
	}
	for _, rf := range remote.Files {
		d.Files = append(d.Files, DescribedFile{Path: rf.Path, Size: rf.Size, LFS: rf.LFS, SHA256: rf.SHA256, Cached: local[rf.Path]})
	}
	return nil
}

// listDisk lists the usable files of a folder (dangling links left out),
// with sizes. A Hub blob named by a sha256 is an LFS file with that hash.
func (d *Description) listDisk(dir string) error {
	have, err := snapshotFiles(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for _, p := range keys(have) {
		full := filepath.Join(dir, filepath.FromSlash(p))
		f := DescribedFile{Path: p, Size: -1, Cached: true}
		if st, err := os.Stat(full); err == nil {
			f.Size = st.Size()
		}
		if real, err := filepath.EvalSymlinks(full); err == nil && real != full && isLowerHex64(filepath.Base(real)) {
			f.LFS, f.SHA256 = true, filepath.Base(real)
		}
		d.Files = append(d.Files, f)
	}
	return nil
}

func isLowerHex64(s string) bool { return isHex(s, 64) && s == strings.ToLower(s) }

// markNeeded flags the files a pull of the variant takes; false (and a
// note) when the files hold no graph of the variant.
func (d *Description) markNeeded(variant string) bool {
	names := make([]string, len(d.Files))
	for i, f := range d.Files {
		names[i] = f.Path
	}
	sel, err := SelectFiles(names, variant)
	if err != nil {
		d.Notes = append(d.Notes, err.Error())
		return false
	}
	needed := map[string]bool{}
	for _, f := range sel.Files {
		needed[f] = true
	}
	for i := range d.Files {
		d.Files[i].Needed = needed[d.Files[i].Path]
	}
	return true
}

// detectLayout finds the variant's graphs among the files on disk, by the
// loader's rules, and inspects them.
func (d *Description) detectLayout(v modelfiles.Variant, inspect func(string) ([]IOName, []IOName, error)) {
	have := map[string]bool{}
	for _, f := range d.Files {
		if f.Cached {
			have[f.Path] = true
		}
	}
	g, err := modelfiles.FindGraphs(func(p string) bool { return have[p] }, v)
	if err != nil {
		d.Notes = append(d.Notes, fmt.Sprintf("model folder %s: %v", d.Snapshot, err))
		return
	}
	d.Layout = &DescribedLayout{Kind: string(g.Kind), Combined: g.Combined, Text: g.Text, Vision: g.Vision}
	if inspect == nil {
		return
	}
	for _, rel := range g.Files() {
		in, out, err := inspect(filepath.Join(d.Snapshot, filepath.FromSlash(rel)))
		if errors.Is(err, ErrInspectUnavailable) {
			d.Notes = append(d.Notes, err.Error())
			return
		}
		if err != nil {
			d.Notes = append(d.Notes, fmt.Sprintf("%s: cannot read the graph's inputs/outputs: %v", rel, err))
			continue
		}
		d.Graphs = append(d.Graphs, DescribedGraphIO{Path: rel, Inputs: in, Outputs: out})
	}
}
