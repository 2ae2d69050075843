package index

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/parquet-go/parquet-go"
)

// Item is one entry of an index: an image file or a text.
type Item struct {
	// Path is the image file as it was named on the command line (empty
	// for texts).
	Path string
	// Text is the embedded text (empty for images).
	Text   string
	IsText bool
	// Size, MTime and SHA256 describe the file when it was embedded;
	// SHA256 is empty unless the run hashed files.
	Size   int64
	MTime  time.Time
	SHA256 string
}

// Key identifies an item: its path, or its text. An index holds at most one
// live row per key.
func (it Item) Key() string {
	if it.IsText {
		return "t\x00" + it.Text
	}
	return "p\x00" + it.Path
}

// PathKey is the key of the image item at path.
func PathKey(path string) string { return "p\x00" + path }

// TextKey is the key of the text item t.
func TextKey(t string) string { return "t\x00" + t }

// tableRow is one row of an items-NNNNN.parquet table. Optional columns are
// null where they do not apply, so pandas and DuckDB see proper NULLs.
type tableRow struct {
	Path   *string `parquet:"path,optional"`
	Text   *string `parquet:"text,optional"`
	Chunk  string  `parquet:"chunk,dict"`
	Row    int64   `parquet:"row"`
	Size   *int64  `parquet:"size,optional"`
	MTime  *int64  `parquet:"mtime,optional,timestamp(nanosecond)"`
	SHA256 *string `parquet:"sha256,optional"`
}

func rowFromItem(it Item, chunk string, row int) tableRow {
	r := tableRow{Chunk: chunk, Row: int64(row)}
	if it.IsText {
		t := it.Text
		r.Text = &t
		return r
	}
	p, size, mt := it.Path, it.Size, it.MTime.UnixNano()
	r.Path, r.Size, r.MTime = &p, &size, &mt
	if it.SHA256 != "" {
		h := it.SHA256
		r.SHA256 = &h
	}
	return r
}

func (r *tableRow) item() Item {
	var it Item
	if r.Text != nil {
		it.IsText, it.Text = true, *r.Text
		return it
	}
	if r.Path != nil {
		it.Path = *r.Path
	}
	if r.Size != nil {
		it.Size = *r.Size
	}
	if r.MTime != nil {
		it.MTime = time.Unix(0, *r.MTime).UTC()
	}
	if r.SHA256 != nil {
		it.SHA256 = *r.SHA256
	}
	return it
}

func (r *tableRow) key() string {
	if r.Text != nil {
		return TextKey(*r.Text)
	}
	if r.Path != nil {
		return PathKey(*r.Path)
	}
	return ""
}

// writeTable writes rows to path (zstd: every reader we care about has it).
func writeTable(path string, rows []tableRow) error {
	return writeFileSync(path, func(f *os.File) error {
		w := parquet.NewGenericWriter[tableRow](f, parquet.Compression(&parquet.Zstd))
		if _, err := w.Write(rows); err != nil {
			return err
		}
		return w.Close()
	})
}

// readTable reads every row of a table file.
func readTable(path string) ([]tableRow, error) {
	rows, err := parquet.ReadFile[tableRow](path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rows, nil
}

// readTableFrom reads every row of a table held in memory (a mapping).
func readTableFrom(name string, data []byte) ([]tableRow, error) {
	rows, err := parquet.Read[tableRow](bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return rows, nil
}

// readRowColumn reads just the row column of a table, page by page, without
// building rows: it is all Open needs and it runs for every table.
func readRowColumn(name string, data []byte) ([]int64, error) {
	pf, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)), parquet.SkipBloomFilters(true), parquet.SkipPageIndex(true))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	leaf, ok := pf.Schema().Lookup("row")
	if !ok {
		return nil, fmt.Errorf("%s has no row column", name)
	}
	out := make([]int64, 0, pf.NumRows())
	var vals []parquet.Value
	for _, rg := range pf.RowGroups() {
		pages := rg.ColumnChunks()[leaf.ColumnIndex].Pages()
		for {
			p, err := pages.ReadPage()
			if err == io.EOF {
				break
			}
			if err != nil {
				pages.Close()
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			n := int(p.NumValues())
			start := len(out)
			out = slices.Grow(out, n)[:start+n]
			var got int
			if r, ok := p.Values().(parquet.Int64Reader); ok {
				got, err = readAll(r.ReadInt64s, out[start:])
			} else {
				vals = slices.Grow(vals[:0], n)[:n]
				got, err = readAll(p.Values().ReadValues, vals)
				for i, v := range vals[:got] {
					out[start+i] = v.Int64()
				}
			}
			parquet.Release(p)
			if err != nil {
				pages.Close()
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			out = out[:start+got]
		}
		pages.Close()
	}
	return out, nil
}

// readAll fills dst from a parquet page reader until it is full or the page ends.
func readAll[T any](read func([]T) (int, error), dst []T) (int, error) {
	n := 0
	for n < len(dst) {
		k, err := read(dst[n:])
		n += k
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
