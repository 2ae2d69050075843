package index

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"

	"golang.org/x/sys/unix"
)

// DefaultCommitEvery is how many new rows a Writer gathers before it
// commits on its own.
const DefaultCommitEvery = 1024

// Options describe the index a Writer writes into.
type Options struct {
	// Model made the vectors; an existing index made by another model is
	// refused with a *MismatchError.
	Model ModelInfo
	// DType is DTypeFloat32 or DTypeFloat16 for a new index; empty means
	// float32 for a new index and the index's own for an existing one. An
	// existing index of another dtype is refused (compact converts).
	DType string
	// CommitEvery commits after this many added rows (default DefaultCommitEvery).
	CommitEvery int
	// Preprocess and ToolVersion are recorded in the manifest as given.
	Preprocess  json.RawMessage
	ToolVersion string
	// Root, for a new index, is the folder image paths are stored relative
	// to (relative to the working folder, or absolute); empty means the
	// folder holding the index. An existing index keeps its own.
	Root string
}

// Writer adds, replaces and removes items. Changes become visible, all at
// once, at each Commit; a crash loses at most the uncommitted ones. Only one
// Writer may have an index open at a time (an flock on INDEX/.lock).
// A Writer is not safe for concurrent use.
type Writer struct {
	dir   string
	lock  *os.File
	opts  Options
	man   Manifest
	paths pathRule

	pairs map[string]*pairState // by chunk file name
	keys  map[string]loc        // committed live items

	pending     []pendingRow
	pendingKeys map[string]int // key → index in pending
	pendingVecs []float32      // row i at [i*dim:(i+1)*dim]
	drops       map[string]struct{}
	dirty       bool // manifest fields changed without new rows
	closed      bool
}

type pairState struct {
	pair Pair
	rows []tableRow // the committed table, in row order
}

type loc struct {
	p   *pairState
	idx int // position in p.rows
}

type pendingRow struct {
	item Item
	dead bool
}

// OpenWriter opens the index in dir for writing, creating it (and dir)
// when there is none. Files left by an interrupted run are removed.
func OpenWriter(dir string, o Options) (*Writer, error) {
	if o.CommitEvery <= 0 {
		o.CommitEvery = DefaultCommitEvery
	}
	if o.DType != "" && o.DType != DTypeFloat32 && o.DType != DTypeFloat16 {
		return nil, fmt.Errorf("unknown dtype %q (want %s or %s)", o.DType, DTypeFloat32, DTypeFloat16)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	// Refuse someone's folder before leaving a lock file in it.
	if _, err := os.Stat(filepath.Join(dir, manifestName)); errors.Is(err, os.ErrNotExist) {
		if err := checkFreshDir(dir); err != nil {
			return nil, err
		}
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	w := &Writer{dir: dir, lock: lock, opts: o, pairs: map[string]*pairState{}, keys: map[string]loc{},
		pendingKeys: map[string]int{}, drops: map[string]struct{}{}}
	if err := w.load(); err != nil {
		lock.Close()
		return nil, err
	}
	return w, nil
}

func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("index %s is being written by another process", dir)
		}
		return nil, fmt.Errorf("lock index %s: %w", dir, err)
	}
	return f, nil
}

func (w *Writer) load() error {
	m, err := ReadManifest(w.dir)
	switch {
	case errors.Is(err, ErrNotIndex):
		if err := checkFreshDir(w.dir); err != nil {
			return err
		}
		root, err := rootFor(w.dir, w.opts.Root)
		if err != nil {
			return err
		}
		w.man = Manifest{Format: Format, Version: FormatVersion, Model: w.opts.Model,
			DType: w.opts.DType, Preprocess: w.opts.Preprocess, ToolVersion: w.opts.ToolVersion, Root: root}
		if w.man.DType == "" {
			w.man.DType = DTypeFloat32
		}
		if w.paths, err = newPathRule(w.dir, &w.man); err != nil {
			return err
		}
		if err := removeGarbage(w.dir, &w.man); err != nil {
			return err
		}
		// Commit the empty index at once, so that its model is fixed even if
		// the run adds nothing.
		_, err = writeManifest(w.dir, &w.man)
		return err
	case err != nil:
		return err
	}
	if err := CheckModel(w.dir, m.Model, w.opts.Model); err != nil {
		return err
	}
	if w.opts.DType != "" && w.opts.DType != m.DType {
		return &DTypeMismatchError{Index: w.dir, Has: m.DType, Want: w.opts.DType}
	}
	w.man = *m
	if w.paths, err = newPathRule(w.dir, m); err != nil {
		return err
	}
	if err := removeGarbage(w.dir, &w.man); err != nil {
		return err
	}
	for _, p := range m.Chunks {
		// A chunk that is missing, truncated or of another shape would
		// make every item of it look unchanged to a rerun.
		if err := statChunk(w.dir, m, p); err != nil {
			return err
		}
		rows, err := readTable(w.dir, p)
		if err != nil {
			return err
		}
		ps := &pairState{pair: p, rows: rows}
		w.pairs[p.Chunk] = ps
		for i := range rows {
			k := rows[i].key()
			if _, dup := w.keys[k]; dup {
				return corrupt(w.dir, p.Table, "%q is live twice", k[2:])
			}
			w.keys[k] = loc{ps, i}
		}
		// Numbers are never reused, even if a hand-edited next_file says so.
		w.man.NextFile = max(w.man.NextFile, fileNumber(p.Chunk)+1, fileNumber(p.Table)+1)
	}
	if w.opts.Preprocess != nil && !sameJSON(w.opts.Preprocess, m.Preprocess) {
		w.man.Preprocess, w.dirty = w.opts.Preprocess, true
	}
	if w.opts.ToolVersion != "" && w.opts.ToolVersion != m.ToolVersion {
		w.man.ToolVersion, w.dirty = w.opts.ToolVersion, true
	}
	return nil
}

// sameJSON compares two JSON texts ignoring layout (the manifest is
// indented, callers' records are not).
func sameJSON(a, b []byte) bool {
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return false
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}

// checkFreshDir refuses to turn a folder holding other things into an index.
func checkFreshDir(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !isIndexFile(e.Name()) {
			return fmt.Errorf("%s is not empty and is not a fashionclip index (found %s)", dir, e.Name())
		}
	}
	return nil
}

// removeGarbage deletes index files that m does not name: chunks and tables
// of commits that never happened, and ones that later commits replaced.
func removeGarbage(dir string, m *Manifest) error {
	keep := map[string]bool{}
	for _, p := range m.Chunks {
		keep[p.Chunk], keep[p.Table] = true, true
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		n := e.Name()
		if (chunkName.MatchString(n) || tableName.MatchString(n) || n == manifestTemp) && !keep[n] {
			if err := os.Remove(filepath.Join(dir, n)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

// Manifest returns a copy of the committed manifest.
func (w *Writer) Manifest() Manifest {
	m := w.man
	m.Chunks = slices.Clone(w.man.Chunks)
	return m
}

// Lookup returns the committed live item with the given key.
func (w *Writer) Lookup(key string) (Item, bool) {
	l, ok := w.keys[key]
	if !ok {
		return Item{}, false
	}
	return l.p.rows[l.idx].item(), true
}

// Keys calls fn for every committed live key (in no particular order).
func (w *Writer) Keys(fn func(key string, it Item)) {
	for k, l := range w.keys {
		fn(k, l.p.rows[l.idx].item())
	}
}

// ItemPath is the item path under which the index stores the file named
// file (relative to the working folder, or absolute).
func (w *Writer) ItemPath(file string) string { return w.paths.itemPath(file) }

// FilePath is where the file of an item path is: absolute, or as stored
// for a version 1 index.
func (w *Writer) FilePath(itemPath string) string { return w.paths.filePath(itemPath) }

// Root is the absolute folder that relative item paths start from; empty
// for a version 1 index, whose paths are as they were given.
func (w *Writer) Root() string { return w.paths.root }

// VectorError is returned by Add for a vector that cannot be stored: it
// holds a NaN or an infinity (or a value float16 cannot hold).
type VectorError struct {
	Item  string // the image path or the quoted text ("" when the caller names it)
	Index int    // the first bad component
	Value float32
	DType string
}

func (e *VectorError) Error() string {
	what := "is not finite"
	if !math.IsNaN(float64(e.Value)) && !math.IsInf(float64(e.Value), 0) {
		what = "is out of the range of " + e.DType
	}
	msg := fmt.Sprintf("embedding value %d (%g) %s; refusing to index it", e.Index, e.Value, what)
	if e.Item != "" {
		msg = e.Item + ": " + msg
	}
	return msg
}

// checkVector refuses vectors that would poison every search.
func checkVector(it Item, vec []float32, dtype string) error {
	const maxHalf = 65504
	for i, v := range vec {
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) || (dtype == DTypeFloat16 && math.Abs(f) > maxHalf) {
			return &VectorError{Item: it.name(), Index: i, Value: v, DType: dtype}
		}
	}
	return nil
}

// Add stores vec as it.Key()'s vector, replacing any live row of the same
// key at the next commit. it.Path is an item path (see ItemPath); it is
// stored in its canonical form. Vectors are stored as given: callers pass
// unit vectors (the model's embeddings already are); a vector that is not
// finite is refused with a *VectorError.
func (w *Writer) Add(it Item, vec []float32) error {
	if w.closed {
		return errors.New("index writer is closed")
	}
	if !it.IsText {
		if it.Path == "" {
			return errors.New("an image item without a path")
		}
		it.Path = w.paths.canonical(it.Path)
	}
	if err := checkVector(it, vec, w.man.DType); err != nil {
		return err
	}
	if w.man.Dim == 0 {
		if len(vec) == 0 {
			return fmt.Errorf("%s: empty vector", it.name())
		}
		if len(vec) > maxDim {
			return fmt.Errorf("%s: %d dimensions is more than the %d an index holds", it.name(), len(vec), maxDim)
		}
		w.man.Dim, w.dirty = len(vec), true
	}
	if len(vec) != w.man.Dim {
		return fmt.Errorf("%s: vector has %d dimensions, the index %d", it.name(), len(vec), w.man.Dim)
	}
	k := it.Key()
	delete(w.drops, k)
	if i, ok := w.pendingKeys[k]; ok {
		w.pending[i].item = it
		copy(w.pendingVecs[i*w.man.Dim:], vec)
	} else {
		w.pendingKeys[k] = len(w.pending)
		w.pending = append(w.pending, pendingRow{item: it})
		w.pendingVecs = append(w.pendingVecs, vec...)
	}
	if len(w.pendingKeys) >= w.opts.CommitEvery {
		return w.Commit()
	}
	return nil
}

// Remove drops the item with key at the next commit (a no-op for an
// unknown key).
func (w *Writer) Remove(key string) {
	if i, ok := w.pendingKeys[key]; ok {
		w.pending[i].dead = true
		delete(w.pendingKeys, key)
	}
	if _, ok := w.keys[key]; ok {
		w.drops[key] = struct{}{}
	}
}

// Pending is the number of rows added since the last commit.
func (w *Writer) Pending() int { return len(w.pendingKeys) }

// Commit makes every change since the last commit durable and visible:
// new rows go to a new chunk with its own table, tables that lose rows are
// rewritten under new names, then the manifest is swapped in one rename.
func (w *Writer) Commit() error {
	if w.closed {
		return errors.New("index writer is closed")
	}
	removed := map[*pairState]map[int]bool{}
	mark := func(k string) {
		if l, ok := w.keys[k]; ok {
			if removed[l.p] == nil {
				removed[l.p] = map[int]bool{}
			}
			removed[l.p][l.idx] = true
		}
	}
	for k := range w.drops {
		mark(k)
	}
	for k := range w.pendingKeys {
		mark(k)
	}
	if len(w.pendingKeys) == 0 && len(removed) == 0 && !w.dirty {
		return nil
	}

	next := w.man.NextFile
	var written []string
	fail := func(err error) error {
		for _, f := range written {
			os.Remove(filepath.Join(w.dir, f))
		}
		return err
	}

	var newPair *pairState
	if len(w.pendingKeys) > 0 {
		dim := w.man.Dim
		items := make([]Item, 0, len(w.pendingKeys))
		vecs := make([]float32, 0, len(w.pendingKeys)*dim)
		for i, p := range w.pending {
			if !p.dead {
				items = append(items, p.item)
				vecs = append(vecs, w.pendingVecs[i*dim:(i+1)*dim]...)
			}
		}
		chunk, table := chunkFile(next), tableFile(next)
		next++
		pair, rows, err := writePair(w.dir, chunk, table, w.man.DType, dim, items, vecs)
		written = append(written, chunk, table)
		if err != nil {
			return fail(err)
		}
		newPair = &pairState{pair: pair, rows: rows}
	}

	// Rewrite the tables that lose rows; a chunk left with no live row
	// leaves the manifest (its file becomes garbage).
	type rewrite struct {
		table string     // the new table's name, "" when the pair goes
		sha   string     // its SHA-256
		rows  []tableRow // what stays live
	}
	rewritten := map[*pairState]rewrite{}
	var obsolete []string
	for ps, gone := range removed {
		keep := make([]tableRow, 0, len(ps.rows)-len(gone))
		for i, r := range ps.rows {
			if !gone[i] {
				keep = append(keep, r)
			}
		}
		obsolete = append(obsolete, ps.pair.Table)
		if len(keep) == 0 {
			obsolete = append(obsolete, ps.pair.Chunk)
			rewritten[ps] = rewrite{}
			continue
		}
		table := tableFile(next)
		next++
		written = append(written, table)
		sha, err := writeTable(filepath.Join(w.dir, table), keep)
		if err != nil {
			return fail(err)
		}
		rewritten[ps] = rewrite{table, sha, keep}
	}

	man := w.man
	man.NextFile = next
	man.Generation++
	man.Chunks = make([]Pair, 0, len(w.man.Chunks)+1)
	for _, p := range w.man.Chunks {
		if rw, ok := rewritten[w.pairs[p.Chunk]]; ok {
			if rw.table == "" {
				continue
			}
			p.Table, p.TableSHA256, p.Items = rw.table, rw.sha, len(rw.rows)
		}
		man.Chunks = append(man.Chunks, p)
	}
	if newPair != nil {
		man.Chunks = append(man.Chunks, newPair.pair)
	}
	renamed, err := writeManifest(w.dir, &man)
	if !renamed {
		return fail(err)
	}

	// Committed (even if the final folder sync failed, which err reports):
	// bring the in-memory state in line.
	w.man = man
	for ps, rw := range rewritten {
		for _, r := range ps.rows {
			delete(w.keys, r.key())
		}
		if rw.table == "" {
			delete(w.pairs, ps.pair.Chunk)
			continue
		}
		ps.rows = rw.rows
		ps.pair.Table, ps.pair.TableSHA256, ps.pair.Items = rw.table, rw.sha, len(rw.rows)
		for i := range rw.rows {
			w.keys[rw.rows[i].key()] = loc{ps, i}
		}
	}
	if newPair != nil {
		w.pairs[newPair.pair.Chunk] = newPair
		for i := range newPair.rows {
			w.keys[newPair.rows[i].key()] = loc{newPair, i}
		}
	}
	w.pending, w.pendingVecs = w.pending[:0], w.pendingVecs[:0]
	clear(w.pendingKeys)
	clear(w.drops)
	w.dirty = false
	// Replaced files are garbage now; a reader still holding the previous
	// manifest either has them open already or retries with the new one.
	for _, f := range obsolete {
		os.Remove(filepath.Join(w.dir, f))
	}
	return err
}

// Close commits what is pending and releases the index.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	err := w.Commit()
	w.closed = true
	if cerr := w.lock.Close(); err == nil {
		err = cerr
	}
	return err
}

// writePair writes a chunk of vectors and the table describing its rows.
func writePair(dir, chunk, table, dtype string, dim int, items []Item, vecs []float32) (Pair, []tableRow, error) {
	p := Pair{Chunk: chunk, Table: table, Rows: len(items), Items: len(items)}
	var err error
	if p.SHA256, err = writeChunk(filepath.Join(dir, chunk), dtype, dim, vecs); err != nil {
		return p, nil, err
	}
	rows := make([]tableRow, len(items))
	for i, it := range items {
		rows[i] = rowFromItem(it, chunk, i)
	}
	if p.TableSHA256, err = writeTable(filepath.Join(dir, table), rows); err != nil {
		return p, nil, err
	}
	return p, rows, nil
}

// writeChunk writes vecs (rows of dim values) as a .npy file of dtype,
// encoding a slab at a time, and returns the file's SHA-256, computed as
// it is written.
func writeChunk(path, dtype string, dim int, vecs []float32) (string, error) {
	h := sha256.New()
	err := writeFileSync(path, func(f *os.File) error {
		out := io.MultiWriter(f, h)
		if _, err := out.Write(npyHeader(dtype, len(vecs)/dim, dim)); err != nil {
			return err
		}
		const slab = 1 << 18 // values per write
		buf := make([]byte, 0, 4*min(slab, len(vecs)))
		for start := 0; start < len(vecs); start += slab {
			buf = buf[:0]
			for _, v := range vecs[start:min(start+slab, len(vecs))] {
				if dtype == DTypeFloat16 {
					buf = binary.LittleEndian.AppendUint16(buf, toHalf(v))
				} else {
					buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
				}
			}
			if _, err := out.Write(buf); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
