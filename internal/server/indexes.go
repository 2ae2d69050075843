package server

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fashionclip/fashionclip/internal/index"
)

// IndexSpec is one index to serve: its folder and the name requests use.
type IndexSpec struct {
	Name string
	Dir  string
}

// ExpandIndexes reads serve's index arguments: PATH or NAME=PATH. A PATH
// holding a manifest is one index named after its folder; a folder without
// one serves every index folder directly inside it. Names must be unique:
// they are part of every result id.
func ExpandIndexes(args []string) ([]IndexSpec, error) {
	var specs []IndexSpec
	for _, a := range args {
		name, dir := "", a
		if _, err := os.Stat(a); err != nil {
			if n, d, ok := strings.Cut(a, "="); ok && n != "" {
				name, dir = n, d
			}
		}
		if isIndexDir(dir) {
			specs = append(specs, IndexSpec{Name: name, Dir: dir})
			continue
		}
		if name != "" {
			return nil, fmt.Errorf("%s: %w", dir, index.ErrNotIndex)
		}
		ents, err := os.ReadDir(dir)
		if err != nil {
			return nil, err
		}
		found := 0
		for _, e := range ents {
			if sub := filepath.Join(dir, e.Name()); e.IsDir() && isIndexDir(sub) {
				specs = append(specs, IndexSpec{Dir: sub})
				found++
			}
		}
		if found == 0 {
			return nil, fmt.Errorf("%s is neither an index nor a folder of indexes (no manifest.json in it or its subfolders)", dir)
		}
	}
	seen := map[string]string{}
	for i := range specs {
		if specs[i].Name == "" {
			specs[i].Name = filepath.Base(filepath.Clean(specs[i].Dir))
		}
		n := specs[i].Name
		if err := checkIndexName(n); err != nil {
			return nil, err
		}
		if prev, dup := seen[n]; dup {
			return nil, &DuplicateIndexError{Name: n, Dirs: [2]string{prev, specs[i].Dir}}
		}
		seen[n] = specs[i].Dir
	}
	return specs, nil
}

// DuplicateIndexError is two served indexes with one name.
type DuplicateIndexError struct {
	Name string
	Dirs [2]string
}

func (e *DuplicateIndexError) Error() string {
	return fmt.Sprintf("two indexes are named %q (%s and %s): name them apart as NAME=PATH", e.Name, e.Dirs[0], e.Dirs[1])
}

func isIndexDir(dir string) bool {
	st, err := os.Stat(filepath.Join(dir, "manifest.json"))
	return err == nil && st.Mode().IsRegular()
}

func checkIndexName(n string) error {
	if n == "" || n == "." || n == ".." || strings.ContainsAny(n, "/\\:?#%") || strings.TrimSpace(n) != n {
		return fmt.Errorf("index name %q: names may not be empty or hold / \\ : ? # %% or outer spaces", n)
	}
	return nil
}

// IndexOptions tune OpenIndexes.
type IndexOptions struct {
	// Model, when its Graph is set, is the served model: an index made by
	// another model is refused with an *index.MismatchError, one made by
	// another variant of it with an *index.VariantMismatchError.
	Model index.ModelInfo
	// AllowVariantMismatch serves indexes made by another variant of the
	// model all the same (their scores are close to, not equal to, the
	// served variant's), with a note in Logf.
	AllowVariantMismatch bool
	// Workers scan each search in parallel (default GOMAXPROCS).
	Workers int
	// Logf receives notes (an index that failed to reload); nil discards them.
	Logf func(format string, args ...any)
}

// Indexes is the set of indexes a server searches. Each is a snapshot that
// is replaced by the index's next committed generation: every search first
// checks the manifest file (one stat), so an answer never comes from a
// generation older than the newest one committed before the search began.
// Snapshots still in use by a search stay open until it ends. Safe for
// concurrent use.
type Indexes struct {
	list   []*servedIndex
	byName map[string]*servedIndex
	opts   IndexOptions
}

type servedIndex struct {
	name, dir string
	opts      *IndexOptions

	mu  sync.Mutex // guards cur, and serialises reloads
	cur *snapshot
}

// snapshot is one opened generation with a count of its users; the set
// holds one reference while it is current.
type snapshot struct {
	ix    *index.Index
	gen   int64
	stamp fileStamp
	refs  int // guarded by servedIndex.mu
}

// fileStamp tells whether manifest.json was replaced: a commit renames a
// new file over it, which changes the inode (and, in practice, the mtime).
type fileStamp struct {
	ino   uint64
	size  int64
	mtime time.Time
}

func stampOf(path string) (fileStamp, error) {
	st, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	s := fileStamp{size: st.Size(), mtime: st.ModTime()}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		s.ino = uint64(sys.Ino)
	}
	return s, nil
}

// OpenIndexes opens every index of specs at its current generation.
func OpenIndexes(specs []IndexSpec, o IndexOptions) (*Indexes, error) {
	if len(specs) == 0 {
		return nil, errors.New("no index to serve")
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	x := &Indexes{byName: map[string]*servedIndex{}, opts: o}
	for _, sp := range specs {
		if err := checkIndexName(sp.Name); err != nil {
			x.Close()
			return nil, err
		}
		if _, dup := x.byName[sp.Name]; dup {
			x.Close()
			return nil, &DuplicateIndexError{Name: sp.Name, Dirs: [2]string{x.byName[sp.Name].dir, sp.Dir}}
		}
		si := &servedIndex{name: sp.Name, dir: sp.Dir, opts: &x.opts}
		snap, err := si.open()
		if err != nil {
			x.Close()
			return nil, err
		}
		si.cur = snap
		x.list = append(x.list, si)
		x.byName[sp.Name] = si
	}
	return x, nil
}

// UseModel makes m the served model once it is known (a server that
// listens while its model loads opens its indexes first): every index made
// by another model is refused with an *index.MismatchError, now and at each
// reload, and one made by another variant of it with an
// *index.VariantMismatchError unless AllowVariantMismatch. Call it before
// the server answers searches (before Ready).
func (x *Indexes) UseModel(m index.ModelInfo) error {
	x.opts.Model = m
	for _, si := range x.list {
		si.mu.Lock()
		var have index.ModelInfo
		if si.cur != nil {
			have = si.cur.ix.Manifest().Model
		}
		si.mu.Unlock()
		if err := x.opts.checkModel(si.dir, have); err != nil {
			return err
		}
		if x.opts.Model.Graph != "" && have.Graph != "" && !have.Same(m) {
			x.opts.Logf("index %s was built with another variant of the model (%s, serving %s); serving it all the same: its scores are close to, not equal to, the index's own",
				si.name, have, m)
		}
	}
	return nil
}

// checkModel is index.CheckModel for an index made by has, with a variant
// mismatch let through when allowed.
func (o IndexOptions) checkModel(dir string, has index.ModelInfo) error {
	if o.Model.Graph == "" || has.Graph == "" {
		return nil
	}
	err := index.CheckModel(dir, has, o.Model)
	var vm *index.VariantMismatchError
	if errors.As(err, &vm) && o.AllowVariantMismatch {
		return nil
	}
	return err
}

// open reads the index's current generation.
func (si *servedIndex) open() (*snapshot, error) {
	stamp, err := stampOf(filepath.Join(si.dir, "manifest.json"))
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", si.dir, err)
	}
	ix, err := index.Open(si.dir)
	if err != nil {
		return nil, err
	}
	man := ix.Manifest()
	if err := si.opts.checkModel(si.dir, man.Model); err != nil {
		ix.Close()
		return nil, err
	}
	return &snapshot{ix: ix, gen: man.Generation, stamp: stamp, refs: 1}, nil
}

// acquire returns the snapshot of the newest committed generation, opening
// it when the manifest changed. Call release when done with it. When the
// new generation cannot be opened, the previous one keeps serving (noted in
// Logf): a broken commit must not take the index down.
func (si *servedIndex) acquire() (*snapshot, error) {
	stamp, err := stampOf(filepath.Join(si.dir, "manifest.json"))
	si.mu.Lock()
	defer si.mu.Unlock()
	if si.cur == nil {
		return nil, errIndexesClosed
	}
	if err == nil && stamp != si.cur.stamp {
		si.refresh(stamp)
	} else if err != nil {
		si.opts.Logf("index %s: %v (still serving generation %d)", si.name, err, si.cur.gen)
	}
	si.cur.refs++
	return si.cur, nil
}

var errIndexesClosed = errors.New("the indexes are closed")

// refresh moves to the generation behind a changed manifest. Called with mu held.
func (si *servedIndex) refresh(stamp fileStamp) {
	man, err := index.ReadManifest(si.dir)
	if err == nil && man.Generation == si.cur.gen {
		si.cur.stamp = stamp // rewritten, not recommitted
		return
	}
	next, err := si.open()
	if err != nil {
		si.opts.Logf("index %s: cannot open its new generation: %v (still serving generation %d)", si.name, err, si.cur.gen)
		return
	}
	old := si.cur
	si.cur = next
	si.releaseLocked(old)
}

func (si *servedIndex) release(s *snapshot) {
	si.mu.Lock()
	defer si.mu.Unlock()
	si.releaseLocked(s)
}

func (si *servedIndex) releaseLocked(s *snapshot) {
	s.refs--
	if s.refs == 0 {
		s.ix.Close()
	}
}

// Close closes the current snapshots; searches still running keep theirs
// until they end.
func (x *Indexes) Close() error {
	for _, si := range x.list {
		si.mu.Lock()
		if si.cur != nil {
			si.releaseLocked(si.cur)
			si.cur = nil
		}
		si.mu.Unlock()
	}
	return nil
}

// IndexInfo describes a served index at its current generation.
type IndexInfo struct {
	Name       string          `json:"name"`
	Dir        string          `json:"-"`
	Items      int             `json:"items"`
	Dim        int             `json:"dim"`
	DType      string          `json:"dtype"`
	Generation int64           `json:"generation"`
	Model      index.ModelInfo `json:"model"`
}

// Info describes every served index, each at its newest generation.
func (x *Indexes) Info() []IndexInfo {
	out := make([]IndexInfo, len(x.list))
	for i, si := range x.list {
		s, err := si.acquire()
		if err != nil {
			return nil
		}
		m := s.ix.Manifest()
		out[i] = IndexInfo{Name: si.name, Dir: si.dir, Items: m.Items(), Dim: m.Dim, DType: m.DType, Generation: m.Generation, Model: m.Model}
		si.release(s)
	}
	return out
}

// Kind filters results by what the items are (the index's rule).
type Kind = index.Kind

// The kinds of items a search may be limited to.
const (
	AnyKind    = index.AnyKind
	ImagesOnly = index.ImagesOnly
	TextsOnly  = index.TextsOnly
)

// SearchHit is one result of Indexes.Search.
type SearchHit struct {
	ID    string
	Index string
	Item  index.Item
	Score float64
}

// ErrUnknownIndex is a search or id naming no served index.
var ErrUnknownIndex = errors.New("no such index")

// Search returns the k best items for q in the named index, or in all of
// them (name "") merged by score, ties kept in served order. The results of
// one index are exactly internal/index's, as the CLI's search prints them.
func (x *Indexes) Search(q []float32, name string, kind Kind, k int, minScore *float64) ([]SearchHit, error) {
	targets := x.list
	if name != "" {
		si, ok := x.byName[name]
		if !ok {
			return nil, fmt.Errorf("%w %q", ErrUnknownIndex, name)
		}
		targets = []*servedIndex{si}
	}
	var all []SearchHit
	for _, si := range targets {
		hits, err := si.search(q, kind, k, minScore, x.opts.Workers)
		if err != nil {
			return nil, fmt.Errorf("index %s: %w", si.name, err)
		}
		all = append(all, hits...)
	}
	// Stable: equal scores keep index order, then each index's own order.
	sort.SliceStable(all, func(a, b int) bool { return all[a].Score > all[b].Score })
	if len(all) > k {
		all = all[:k]
	}
	return all, nil
}

func (si *servedIndex) search(q []float32, kind Kind, k int, minScore *float64, workers int) ([]SearchHit, error) {
	s, err := si.acquire()
	if err != nil {
		return nil, err
	}
	defer si.release(s)
	if s.ix.Len() == 0 {
		return nil, nil
	}
	o := index.SearchOptions{K: k, Workers: workers, Kind: kind}
	if minScore != nil {
		o.MinScore, o.HasMinScore = *minScore, true
	}
	hits, err := s.ix.Search(q, o)
	if err != nil {
		return nil, err
	}
	out := make([]SearchHit, len(hits))
	for i, h := range hits {
		out[i] = SearchHit{ID: formatID(si.name, h.Chunk, h.Row), Index: si.name, Item: h.Item, Score: h.Score}
	}
	return out, nil
}

// A result id is INDEX:CHUNK:ROW, CHUNK being the number of the chunk file
// (emb-00003.npy → 3). It names a vector that is never rewritten; once its
// item changes or goes, the id stops resolving.
func formatID(name, chunk string, row int) string {
	n := strings.TrimSuffix(strings.TrimPrefix(chunk, "emb-"), ".npy")
	v, _ := strconv.Atoi(n)
	return name + ":" + strconv.Itoa(v) + ":" + strconv.Itoa(row)
}

// parseID reads an id back; only the exact form formatID writes is accepted.
func parseID(id string) (name, chunk string, row int, ok bool) {
	j := strings.LastIndexByte(id, ':')
	if j < 0 {
		return "", "", 0, false
	}
	i := strings.LastIndexByte(id[:j], ':')
	if i < 0 {
		return "", "", 0, false
	}
	c, err1 := strconv.Atoi(id[i+1 : j])
	r, err2 := strconv.Atoi(id[j+1:])
	if err1 != nil || err2 != nil || c < 0 || r < 0 || i == 0 {
		return "", "", 0, false
	}
	name, chunk = id[:i], fmt.Sprintf("emb-%05d.npy", c)
	if formatID(name, chunk, r) != id {
		return "", "", 0, false
	}
	return name, chunk, r, true
}

// Lookup resolves a result id at the index's newest generation: the item
// and its vector, or ok false when the id is not one of a live item.
func (x *Indexes) Lookup(id string) (it index.Item, vec []float32, ok bool, err error) {
	name, chunk, row, ok := parseID(id)
	if !ok {
		return index.Item{}, nil, false, nil
	}
	si, found := x.byName[name]
	if !found {
		return index.Item{}, nil, false, nil
	}
	s, err := si.acquire()
	if err != nil {
		return index.Item{}, nil, false, err
	}
	defer si.release(s)
	return s.ix.At(chunk, row)
}

// ImageFile is where the file of an image result id is, for reading it:
// the stored path resolved against its index's root (stored paths are
// relative to it). ok is false when id is not a live image of a served index.
func (x *Indexes) ImageFile(id string) (file string, ok bool, err error) {
	name, chunk, row, ok := parseID(id)
	if !ok {
		return "", false, nil
	}
	si, found := x.byName[name]
	if !found {
		return "", false, nil
	}
	s, err := si.acquire()
	if err != nil {
		return "", false, err
	}
	defer si.release(s)
	it, _, ok, err := s.ix.At(chunk, row)
	if err != nil || !ok || it.IsText {
		return "", false, err
	}
	return s.ix.FilePath(it.Path), true, nil
}
