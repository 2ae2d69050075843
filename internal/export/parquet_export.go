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
			data, view, err := s.ixs[rows[start].input].VectorBytes(refs, dtype, buf)
			if err != nil {
				return nil, err
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
	err := open()
	if err == nil {
		err = src.eachBatch(ctx, true, func(input int, b *index.Batch) error {
			for i, it := range b.Items {
				if partRows == o.PartRows {
					if err := closePart(); err != nil {
						return err
					}
					if err := open(); err != nil {
						return err
					}
				}
				if err := pw.add(recordOf(it), rowVec{input, b.Refs[i]}); err != nil {
					return err
				}
				partRows++
				st.count(it)
			}
			if o.Progress != nil {
				o.Progress.Add(len(b.Items))
			}
			return nil
		})
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
