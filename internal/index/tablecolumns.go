package index

import (
	"errors"
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding"
)

// Reading a table column by column. parquet-go's row reader rebuilds each
// row through reflection and allocates every optional field on its own;
// on a large index that was most of the time spent listing items. Here
// each column's decoded pages are walked directly, and the values of a
// page share one allocation. The checks are the row reader's: every
// column holds exactly the declared rows, levels are 0 or 1, and a page's
// values match its present levels. A table whose pages take a shape this
// reader does not know (a dictionary on an integer column, say: never
// written by fashionclip, but legal Parquet) is read by the row reader
// instead.

// errUnusualPage: a page decodeColumns does not read; decodeRows does.
var errUnusualPage = errors.New("page layout not read column-wise")

// tableColumns are the leaf column indexes of tableSchema, by name.
var tableColumns = func() map[string]int {
	m := map[string]int{}
	for _, name := range []string{"path", "text", "chunk", "row", "size", "mtime", "sha256"} {
		leaf, ok := tableSchema.Lookup(name)
		if !ok {
			panic("item table schema has no column " + name)
		}
		m[name] = leaf.ColumnIndex
	}
	return m
}()

// eachPage calls fn with every page of column col of pf, in order, with
// the index of its row group. The page is released when fn returns.
func eachPage(pf *parquet.File, col int, fn func(group int, p parquet.Page) error) error {
	for gi, rg := range pf.RowGroups() {
		pages := rg.ColumnChunks()[col].Pages()
		for {
			p, err := pages.ReadPage()
			if err == io.EOF {
				break
			}
			if err == nil {
				err = fn(gi, p)
				parquet.Release(p)
			}
			if err != nil {
				pages.Close()
				return err
			}
		}
		pages.Close()
	}
	return nil
}

// decodeTable reads the rows of a table that should have want rows: column
// by column, or through the row reader when a page is unusual.
func decodeTable(data []byte, want int) ([]tableRow, error) {
	rows, err := decodeColumns(data, want)
	if errors.Is(err, errUnusualPage) {
		return decodeRows(data, want)
	}
	return rows, err
}

func decodeColumns(data []byte, want int) (rows []tableRow, err error) {
	pf, err := openTable(data, want, -1)
	if err != nil {
		return nil, err
	}
	defer recoverParquet(&err)
	// The row column makes the rows; it grows with what is decoded, not
	// with what the file claims.
	rows = make([]tableRow, 0, min(want, 1<<16))
	err = eachPage(pf, tableColumns["row"], func(_ int, p parquet.Page) error {
		n := int(p.NumValues())
		if n < 0 || n > want-len(rows) {
			return fmt.Errorf("more rows than the %d declared", want)
		}
		vals, err := plainInt64s(p, n)
		if err != nil {
			return err
		}
		for _, v := range vals {
			rows = append(rows, tableRow{Row: v})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(rows) != want {
		return nil, fmt.Errorf("%d rows read, %d declared", len(rows), want)
	}
	fills := []struct {
		name string
		set  func(r *tableRow, s *string, v *int64)
	}{
		{"path", func(r *tableRow, s *string, _ *int64) { r.Path = s }},
		{"text", func(r *tableRow, s *string, _ *int64) { r.Text = s }},
		{"chunk", func(r *tableRow, s *string, _ *int64) {
			if s != nil {
				r.Chunk = *s
			}
		}},
		{"sha256", func(r *tableRow, s *string, _ *int64) { r.SHA256 = s }},
		{"size", func(r *tableRow, _ *string, v *int64) { r.Size = v }},
		{"mtime", func(r *tableRow, _ *string, v *int64) { r.MTime = v }},
	}
	for _, f := range fills {
		if err := fillColumn(pf, tableColumns[f.name], rows, f.set); err != nil {
			return nil, fmt.Errorf("column %s: %w", f.name, err)
		}
	}
	return rows, nil
}

// fillColumn sets one column of rows from its pages: set gets the value
// (a string or an int64, by the column's kind) or nils for a null.
func fillColumn(pf *parquet.File, col int, rows []tableRow, set func(r *tableRow, s *string, v *int64)) error {
	next := 0
	dictGroup := -1
	var dict []string
	err := eachPage(pf, col, func(group int, p parquet.Page) error {
		n := int(p.NumValues())
		if n < 0 || n > len(rows)-next {
			return fmt.Errorf("more values than the %d rows", len(rows))
		}
		present := n
		defs := p.DefinitionLevels()
		if defs != nil || p.NumNulls() != 0 {
			if len(defs) != n {
				return fmt.Errorf("%d levels for %d values", len(defs), n)
			}
			present = 0
			for _, d := range defs {
				if d > 1 {
					return fmt.Errorf("definition level %d", d)
				}
				present += int(d)
			}
		}
		var strs []string
		var ints []int64
		switch kind := p.Type().Kind(); {
		case kind == parquet.ByteArray && p.Dictionary() != nil:
			if group != dictGroup {
				var err error
				if dict, err = dictionaryStrings(p.Dictionary()); err != nil {
					return err
				}
				dictGroup = group
			}
			idx, err := pageValues(p, encoding.Int32)
			if err != nil {
				return err
			}
			ix := idx.Int32()
			if len(ix) != present {
				return fmt.Errorf("%d values for %d present", len(ix), present)
			}
			strs = make([]string, present)
			for k, i := range ix {
				if i < 0 || int(i) >= len(dict) {
					return fmt.Errorf("dictionary index %d of %d", i, len(dict))
				}
				strs[k] = dict[i]
			}
		case kind == parquet.ByteArray:
			vals, err := pageValues(p, encoding.ByteArray)
			if err != nil {
				return err
			}
			if strs, err = byteArrayStrings(vals); err != nil {
				return err
			}
			if len(strs) != present {
				return fmt.Errorf("%d values for %d present", len(strs), present)
			}
		case kind == parquet.Int64:
			vals, err := plainInt64s(p, present)
			if err != nil {
				return err
			}
			ints = append([]int64(nil), vals...) // the page's buffer goes back to its pool
		default:
			return errUnusualPage
		}
		k := 0
		for i := range n {
			r := &rows[next+i]
			if defs != nil && defs[i] == 0 {
				set(r, nil, nil)
				continue
			}
			if strs != nil {
				set(r, &strs[k], nil)
			} else {
				set(r, nil, &ints[k])
			}
			k++
		}
		next += n
		return nil
	})
	if err != nil {
		return err
	}
	if next != len(rows) {
		return fmt.Errorf("%d values for %d rows", next, len(rows))
	}
	return nil
}

// pageValues returns the decoded values of p, which must be of kind.
func pageValues(p parquet.Page, kind encoding.Kind) (encoding.Values, error) {
	v := p.Data()
	if v.Kind() != kind {
		return v, errUnusualPage
	}
	return v, nil
}

// plainInt64s returns the n int64 values of a page without a dictionary,
// still in the page's buffer.
func plainInt64s(p parquet.Page, n int) ([]int64, error) {
	if p.Type().Kind() != parquet.Int64 || p.Dictionary() != nil {
		return nil, errUnusualPage
	}
	v, err := pageValues(p, encoding.Int64)
	if err != nil {
		return nil, err
	}
	vals := v.Int64()
	if len(vals) != n {
		return nil, fmt.Errorf("%d values for %d present", len(vals), n)
	}
	return vals, nil
}

// byteArrayStrings copies byte array values out as strings sharing one
// allocation.
func byteArrayStrings(v encoding.Values) ([]string, error) {
	data, offsets := v.ByteArray()
	if len(offsets) == 0 {
		if len(data) != 0 {
			return nil, errors.New("byte array values without offsets")
		}
		return nil, nil
	}
	all := string(data)
	strs := make([]string, len(offsets)-1)
	for i := range strs {
		lo, hi := offsets[i], offsets[i+1]
		if lo > hi || int(hi) > len(all) {
			return nil, fmt.Errorf("byte array value %d at %d–%d of %d bytes", i, lo, hi, len(all))
		}
		strs[i] = all[lo:hi]
	}
	return strs, nil
}

// dictionaryStrings copies out the values of a byte array dictionary.
func dictionaryStrings(d parquet.Dictionary) ([]string, error) {
	v, err := pageValues(d.Page(), encoding.ByteArray)
	if err != nil {
		return nil, err
	}
	return byteArrayStrings(v)
}
