package index

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// DefaultChunkRows is the chunk size compact writes.
const DefaultChunkRows = 65536

// CompactOptions tune Compact.
type CompactOptions struct {
	// DType converts the vectors (empty keeps the index's dtype).
	DType string
	// ChunkRows is the number of rows per new chunk (default DefaultChunkRows).
	ChunkRows int
}

// CompactStats tell what Compact did.
type CompactStats struct {
	Items, GarbageBefore, ChunksBefore, ChunksAfter int
}

// Compact rewrites the index with only its live rows, in commit order, in
// chunks of ChunkRows, and swaps the manifest once at the end: a crash
// leaves the old index intact.
func Compact(dir string, o CompactOptions) (CompactStats, error) {
	var st CompactStats
	if o.ChunkRows <= 0 {
		o.ChunkRows = DefaultChunkRows
	}
	if o.DType != "" && o.DType != DTypeFloat32 && o.DType != DTypeFloat16 {
		return st, fmt.Errorf("unknown dtype %q (want %s or %s)", o.DType, DTypeFloat32, DTypeFloat16)
	}
	m, err := ReadManifest(dir)
	if err != nil {
		return st, err
	}
	w, err := OpenWriter(dir, Options{Model: m.Model})
	if err != nil {
		return st, err
	}
	defer w.release()
	ix, err := Open(dir)
	if err != nil {
		return st, err
	}
	defer ix.Close()
	if ix.man.Generation != w.man.Generation {
		return st, errors.New("index changed while compacting")
	}
	st.GarbageBefore, st.ChunksBefore = w.man.Garbage(), len(w.man.Chunks)
	dtype := o.DType
	if dtype == "" {
		dtype = w.man.DType
	}

	out := &pairSink{dir: dir, dtype: dtype, dim: w.man.Dim, next: w.man.NextFile}
	err = ix.Each(func(it Item, vec []float32) error {
		return out.add(it, vec, o.ChunkRows)
	})
	if err == nil {
		err = out.flush()
	}
	if err != nil {
		out.discard()
		return st, err
	}
	man := w.man
	man.Chunks, man.DType, man.NextFile = out.pairs, dtype, out.next
	man.Generation++
	if renamed, err := writeManifest(dir, &man); !renamed {
		out.discard()
		return st, err
	} else if err != nil {
		return st, err
	}
	st.Items, st.ChunksAfter = man.Items(), len(man.Chunks)
	// The old files are garbage now (readers that have them mapped keep them).
	return st, removeGarbage(dir, &man)
}

// pairSink writes rows into fresh chunk/table pairs.
type pairSink struct {
	dir, dtype string
	dim, next  int
	items      []Item
	vecs       []float32
	pairs      []Pair
	written    []string
}

func (s *pairSink) add(it Item, vec []float32, chunkRows int) error {
	s.items = append(s.items, it)
	s.vecs = append(s.vecs, vec...)
	if len(s.items) >= chunkRows {
		return s.flush()
	}
	return nil
}

func (s *pairSink) flush() error {
	if len(s.items) == 0 {
		return nil
	}
	chunk, table := chunkFile(s.next), tableFile(s.next)
	s.next++
	s.written = append(s.written, chunk, table)
	p, _, err := writePair(s.dir, chunk, table, s.dtype, s.dim, s.items, s.vecs)
	if err != nil {
		return err
	}
	s.pairs = append(s.pairs, p)
	s.items, s.vecs = s.items[:0], s.vecs[:0]
	return nil
}

func (s *pairSink) discard() {
	for _, f := range s.written {
		os.Remove(filepath.Join(s.dir, f))
	}
}

// release gives up the lock without committing.
func (w *Writer) release() {
	if !w.closed {
		w.closed = true
		w.lock.Close()
	}
}

// MergeOptions tune Merge.
type MergeOptions struct {
	// DType of a new output index (default: the first input's).
	DType       string
	CommitEvery int
	ToolVersion string
}

// MergeStats tell what Merge did.
type MergeStats struct {
	Items int // live items in the output
	// Duplicates counts items found in more than one input; the last
	// input's vector is kept.
	Duplicates int
}

// Merge adds every live item of the inputs to the index at out (created
// when absent). All must come from the same model and variant. Merging the
// shard indexes of a run gives the same items and vectors as the unsharded
// run. Image paths are re-expressed for out: relative to its root for
// files inside it, absolute otherwise, so the same file from inputs with
// other roots is one item (relative paths of a version 1 input are taken
// relative to the working folder, the rule they were written under).
func Merge(out string, inputs []string, o MergeOptions) (MergeStats, error) {
	var st MergeStats
	if len(inputs) == 0 {
		return st, errors.New("nothing to merge")
	}
	absOut, _ := filepath.Abs(out)
	var ixs []*Index
	defer func() {
		for _, ix := range ixs {
			ix.Close()
		}
	}()
	for _, in := range inputs {
		if a, _ := filepath.Abs(in); a == absOut {
			return st, fmt.Errorf("the output %s is also an input", out)
		}
		ix, err := Open(in)
		if err != nil {
			return st, err
		}
		ixs = append(ixs, ix)
		if err := CheckModel(in, ix.man.Model, ixs[0].man.Model); err != nil {
			return st, err
		}
		if d0, d := ixs[0].man.Dim, ix.man.Dim; d0 != 0 && d != 0 && d0 != d {
			return st, fmt.Errorf("%s has %d dimensions, %s %d", in, d, inputs[0], d0)
		}
	}
	first := ixs[0].man
	dtype := o.DType
	if _, err := ReadManifest(out); dtype == "" && errors.Is(err, ErrNotIndex) {
		dtype = first.DType
	}
	w, err := OpenWriter(out, Options{Model: first.Model, DType: dtype, CommitEvery: o.CommitEvery,
		Preprocess: first.Preprocess, ToolVersion: o.ToolVersion})
	if err != nil {
		return st, err
	}
	seen := map[string]bool{}
	for _, ix := range ixs {
		err := ix.Each(func(it Item, vec []float32) error {
			if !it.IsText {
				it.Path = w.ItemPath(ix.FilePath(it.Path))
			}
			k := it.Key()
			if seen[k] {
				st.Duplicates++
			}
			seen[k] = true
			return w.Add(it, vec)
		})
		if err != nil {
			w.release()
			return st, err
		}
	}
	if err := w.Close(); err != nil {
		return st, err
	}
	st.Items = w.man.Items()
	return st, nil
}

// Info summarises an index.
type Info struct {
	Manifest Manifest
	Items    int // live items
	Texts    int // of which texts
	Garbage  int // vectors no table refers to
	// Bytes is the size of the committed files; GarbageBytes the part of
	// the chunks taken by garbage rows.
	Bytes, GarbageBytes int64
	// Root is the absolute folder relative image paths start from (empty
	// for a version 1 index: paths as given).
	Root string
	// Problems found in passing: missing, truncated or misshapen chunks,
	// unreadable tables. Empty for a healthy index (Verify checks more).
	Problems []Problem
}

// Stat reads an index's manifest and tables and checks each chunk's
// header. A damaged file is listed in Info.Problems, not returned as an
// error; the error is for a folder that is not a readable index. Like
// Open, it starts over when a writer replaces a table under it.
func Stat(dir string) (Info, error) {
	var lastGen int64 = -1
	for attempt := 0; ; attempt++ {
		var info Info
		m, err := ReadManifest(dir)
		if err != nil {
			return info, err
		}
		paths, err := newPathRule(dir, m)
		if err != nil {
			return info, err
		}
		info.Manifest, info.Items, info.Garbage, info.Root = *m, m.Items(), m.Garbage(), paths.root
		for _, p := range m.Chunks {
			info.GarbageBytes += int64(p.Rows-p.Items) * int64(m.Dim) * int64(m.elemSize())
		}
		in := inspect(dir, m, inspectOptions{})
		info.Texts, info.Bytes, info.Problems = in.texts, in.bytes, in.problems
		if !in.missing || m.Generation == lastGen || attempt >= 50 {
			return info, nil
		}
		lastGen = m.Generation
	}
}
