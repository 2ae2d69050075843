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
	fetch := src.fetcher(o.DType)
	var (
		fh       *os.File
		pw       *parquetWriter
		partRows int
	)
	open := func() error {
		var err error
		fh, err = out.create(fmt.Sprintf("part-%05d.parquet", len(out.done)))
		if err != nil {
			return err
		}
		pw, err = newParquetWriter(fh, src.dim, o.DType == index.DTypeFloat16, o.Compression, o.RowGroupRows, fetch, kv, created)
		partRows = 0
		return err
	}
	closePart := func() error {
		if err := pw.close(); err != nil {
			fh.Close()
			return err
		}
		return out.finish(fh)
	}
	// Tables are read and records made on one goroutine while the other
	// encodes, compresses and writes: the two halves take about as long.
	type batch struct {
		input int
		recs  []record
		refs  []index.Ref
		texts int
	}
	batches := make(chan batch, 4)
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	readErr := make(chan error, 1)
	go func() {
		defer close(batches)
		readErr <- src.eachBatch(pctx, true, func(input int, b *index.Batch) error {
			bt := batch{input: input, recs: make([]record, len(b.Items)), refs: append([]index.Ref(nil), b.Refs...)}
			for i, it := range b.Items {
				bt.recs[i] = recordOf(it)
				if it.IsText {
					bt.texts++
				}
			}
			select {
			case batches <- bt:
				return nil
			case <-pctx.Done():
				return pctx.Err()
			}
		})
	}()
	err := open()
	for bt := range batches {
		if err != nil {
			continue // drain
		}
		for i := range bt.recs {
			if partRows == o.PartRows {
				if err = closePart(); err != nil {
					break
				}
				if err = open(); err != nil {
					break
				}
			}
			if err = pw.add(bt.recs[i], rowVec{bt.input, bt.refs[i]}); err != nil {
				break
			}
			partRows++
		}
		if err != nil {
			cancel()
			continue
		}
		st.Items += len(bt.recs)
		st.Texts += bt.texts
		st.Images += len(bt.recs) - bt.texts
		if o.Progress != nil {
			o.Progress.Add(len(bt.recs))
		}
	}
	if rerr := <-readErr; err == nil {
		err = rerr
	}
	if err == nil {
		err = closePart()
	}
	if err != nil {
		if fh != nil {
			fh.Close()
		}
		out.discard()
		return Stats{}, err
	}
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
