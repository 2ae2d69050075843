package export

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/fashionclip/fashionclip/internal/index"
)

// prepareDir creates dir, or makes room in it: files matching the
// patterns are an earlier export, refused unless force.
func prepareDir(dir string, force bool, patterns ...string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var old []string
	for _, p := range patterns {
		m, err := filepath.Glob(filepath.Join(dir, p))
		if err != nil {
			return err
		}
		old = append(old, m...)
	}
	if len(old) == 0 {
		return nil
	}
	if !force {
		return fmt.Errorf("%s: %w (%s, …)", dir, ErrOutputExists, filepath.Base(old[0]))
	}
	for _, p := range old {
		if err := os.Remove(p); err != nil {
			return err
		}
	}
	return nil
}

// fetcher returns the vectorFetcher over the inputs, in dtype.
func (s *source) fetcher(dtype string) vectorFetcher {
	var refs []index.Ref
	var buf, joined []byte
	var dropPending func()
	return func(rows []rowVec) ([]byte, error) {
		joined = joined[:0]
		for start := 0; start < len(rows); {
			end := start + 1
			for end < len(rows) && rows[end].input == rows[start].input {
				end++
			}
			refs = refs[:0]
			for _, r := range rows[start:end] {
				refs = append(refs, r.ref)
			}
			ix := s.ixs[rows[start].input]
			data, view, err := ix.VectorBytes(refs, dtype, buf)
			if err != nil {
				return nil, err
			}
			if dropPending != nil {
				dropPending()
			}
			if view {
				// Written out before the next call: then its pages can go.
				r := append([]index.Ref(nil), refs...)
				dropPending = func() { ix.DropPages(r) }
			} else {
				ix.DropPages(refs)
			}
			if !view {
				buf = data
			}
			if start == 0 && end == len(rows) {
				return data, nil
			}
			joined = append(joined, data...)
			start = end
		}
		return joined, nil
	}
}

func exportParquet(ctx context.Context, src *source, o Options) (Stats, error) {
	var st Stats
	if err := prepareDir(o.Out, o.Force, "part-*.parquet", "part-*.parquet.tmp"); err != nil {
		return st, err
	}
	out := &outputFiles{dir: o.Out}
	kv := append([][2]string{{"ARROW:schema", parquetArrowSchema(src.dim, o.DType == index.DTypeFloat16)}}, src.metadata(o)...)
	created := "fashionclip"
	if o.ToolVersion != "" {
		created += " version " + o.ToolVersion
	}
	half := o.DType == index.DTypeFloat16
	enc, err := newGroupEncoder(src.dim, half, o.Compression, o.RowGroupRows, o.PartRows)
	if err != nil {
		return st, err
	}
	// One goroutine reads the tables, makes the records and encodes and
	// compresses the small columns; this one writes the row groups with
	// their vectors. On 2 cores the halves take about as long.
	type result struct {
		st  Stats
		err error
	}
	groups := make(chan *encodedGroup, 1)
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	encoded := make(chan result, 1)
	go func() {
		defer close(groups)
		var r result
		send := func(g *encodedGroup, err error) error {
			if err != nil || g == nil {
				return err
			}
			select {
			case groups <- g:
				return nil
			case <-pctx.Done():
				return pctx.Err()
			}
		}
		var rec record
		r.err = src.eachBatch(pctx, true, func(input int, b *index.Batch) error {
			for i := range b.Items {
				it := &b.Items[i]
				rec = recordOf(*it)
				if err := send(enc.add(&rec, rowVec{input, b.Refs[i]})); err != nil {
					return err
				}
				r.st.count(*it)
			}
			return nil
		})
		if r.err == nil {
			r.err = send(enc.finish())
		}
		encoded <- r
	}()

	fetch := src.fetcher(o.DType)
	var (
		fh *os.File
		pw *parquetWriter
	)
	open := func() error {
		var err error
		fh, err = out.create(fmt.Sprintf("part-%05d.parquet", len(out.done)))
		if err != nil {
			return err
		}
		pw, err = newParquetWriter(fh, src.dim, half, o.Compression, fetch, kv, created)
		return err
	}
	closePart := func() error {
		err := pw.close()
		if err == nil {
			err = out.finish(fh)
		} else {
			fh.Close()
		}
		fh, pw = nil, nil
		return err
	}
	for g := range groups {
		if err != nil {
			continue // drain
		}
		if fh == nil {
			err = open()
		}
		if err == nil {
			err = pw.writeGroup(g)
		}
		if err == nil && g.endsPart {
			err = closePart()
		}
		if err != nil {
			cancel()
			continue
		}
		if o.Progress != nil {
			o.Progress.Add(len(g.rows))
		}
	}
	r := <-encoded
	if err == nil {
		err = r.err
	}
	if err == nil && len(out.done) == 0 && fh == nil {
		err = open() // no items: one file with no row groups
	}
	if err == nil && fh != nil {
		err = closePart()
	}
	if err != nil {
		if fh != nil {
			fh.Close()
		}
		out.discard()
		return Stats{}, err
	}
	st = r.st
	st.Files = out.done
	return st, nil
}

func (st *Stats) count(it index.Item) {
	st.Items++
	if it.IsText {
		st.Texts++
	} else {
		st.Images++
	}
}
