package index

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
	"golang.org/x/sys/unix"
)

// Item is one entry of an index: an image file or a text.
type Item struct {
	// Path is the image file as the index stores and shows it: relative to
	// the index's root, or absolute for a file outside it (as it was given,
	// in a version 1 index). Empty for texts. Writer.ItemPath makes it from
	// a file name; Writer.FilePath and Index.FilePath turn it back.
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

// tableSchema is the schema every item table has; a table with any other
// is refused rather than converted.
var tableSchema = parquet.SchemaOf(tableRow{})

// writeTable writes rows to path (zstd: every reader we care about has it)
// and returns the file's SHA-256, computed as it is written.
func writeTable(path string, rows []tableRow) (string, error) {
	h := sha256.New()
	err := writeFileSync(path, func(f *os.File) error {
		w := parquet.NewGenericWriter[tableRow](io.MultiWriter(f, h), parquet.Compression(&parquet.Zstd))
		if _, err := w.Write(rows); err != nil {
			return err
		}
		return w.Close()
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Tables are untrusted input: parquet-go trusts the sizes and counts a
// file declares, and panics on some malformed files. So a table is opened
// only after its footer agrees with what the manifest expects (our schema,
// the manifest's row count), every count read from it is bounded by that,
// and a panic inside the library becomes an error naming the file.

// recoverParquet turns a panic of the Parquet library into *err.
func recoverParquet(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("malformed Parquet table (%v)", r)
	}
}

// openTable parses the footer of a table held in data that should have
// want rows, and checks the pages of column col (all columns when col < 0).
func openTable(data []byte, want, col int) (pf *parquet.File, err error) {
	defer recoverParquet(&err)
	if err := checkParquetFooter(data); err != nil {
		return nil, fmt.Errorf("malformed Parquet table: %w", err)
	}
	pf, err = parquet.OpenFile(bytes.NewReader(data), int64(len(data)), parquet.SkipBloomFilters(true), parquet.SkipPageIndex(true))
	if err != nil {
		return nil, fmt.Errorf("not a readable Parquet table: %w", err)
	}
	if !parquet.EqualNodes(pf.Schema(), tableSchema) {
		return nil, errors.New("not an item table (its columns differ)")
	}
	var n int64
	for _, rg := range pf.RowGroups() {
		if rg.NumRows() < 0 {
			return nil, errors.New("negative row count")
		}
		n += rg.NumRows()
	}
	if pf.NumRows() != int64(want) || n != int64(want) {
		return nil, fmt.Errorf("has %d rows (%d in its row groups), the manifest says %d", pf.NumRows(), n, want)
	}
	if err := checkParquetPages(pf, data, want, col); err != nil {
		return nil, fmt.Errorf("malformed Parquet table: %w", err)
	}
	return pf, nil
}

// readTable reads every row of the table file of p in dir.
func readTable(dir string, p Pair) ([]tableRow, error) {
	path := filepath.Join(dir, p.Table)
	data, err := mapFile(path)
	if err != nil {
		return nil, &CorruptError{File: path, Err: withoutPath(err)}
	}
	defer unix.Munmap(data)
	return readTableFrom(path, data, p)
}

// readTableFrom reads and checks every row of the table of p held in
// memory (a mapping).
func readTableFrom(path string, data []byte, p Pair) ([]tableRow, error) {
	rows, err := decodeTable(data, p.Items)
	if err == nil {
		err = checkRows(rows, p)
	}
	if err != nil {
		return nil, &CorruptError{File: path, Err: err}
	}
	return rows, nil
}

func decodeRows(data []byte, want int) (rows []tableRow, err error) {
	pf, err := openTable(data, want, -1)
	if err != nil {
		return nil, err
	}
	defer recoverParquet(&err)
	r := parquet.NewGenericReader[tableRow](pf)
	defer r.Close()
	// Grow with what is decoded, not with what the file claims.
	rows = make([]tableRow, 0, min(want, 1<<16))
	buf := make([]tableRow, min(max(want, 1), 4096))
	for {
		n, err := r.Read(buf)
		if len(rows)+n > want {
			return nil, fmt.Errorf("more rows than the %d declared", want)
		}
		rows = append(rows, buf[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, errors.New("no progress reading rows")
		}
	}
	if len(rows) != want {
		return nil, fmt.Errorf("%d rows read, %d declared", len(rows), want)
	}
	// Strings decoded by the library may point into its buffers: own them.
	for i := range rows {
		rows[i].own()
	}
	return rows, nil
}

// own copies the row's strings out of any buffer they were decoded into.
func (r *tableRow) own() {
	for _, s := range []**string{&r.Path, &r.Text, &r.SHA256} {
		if *s != nil {
			c := strings.Clone(**s)
			*s = &c
		}
	}
	r.Chunk = strings.Clone(r.Chunk)
}

// checkRows checks what the rows of p's table say against the manifest:
// each is an image or a text, names p's chunk, and points at a distinct
// row inside it.
func checkRows(rows []tableRow, p Pair) error {
	seen := make([]uint64, (p.Rows+63)/64)
	for i := range rows {
		r := &rows[i]
		if (r.Path == nil) == (r.Text == nil) {
			return fmt.Errorf("row %d is neither an image nor a text", i)
		}
		if r.Path != nil && *r.Path == "" {
			return fmt.Errorf("row %d has an empty path", i)
		}
		if r.Chunk != p.Chunk {
			return fmt.Errorf("row %d names chunk %q, not %s", i, r.Chunk, p.Chunk)
		}
		if r.Row < 0 || r.Row >= int64(p.Rows) || seen[r.Row/64]&(1<<(r.Row%64)) != 0 {
			return fmt.Errorf("bad or repeated row %d", r.Row)
		}
		seen[r.Row/64] |= 1 << (r.Row % 64)
	}
	return nil
}

// readRowColumn reads just the row column of a table that should have want
// rows, page by page, without building rows: it is all Open needs and it
// runs for every table.
func readRowColumn(data []byte, want int) (out []int64, err error) {
	leaf, _ := tableSchema.Lookup("row")
	pf, err := openTable(data, want, leaf.ColumnIndex)
	if err != nil {
		return nil, err
	}
	defer recoverParquet(&err)
	out = make([]int64, 0, want)
	var vals []parquet.Value
	err = eachPage(pf, leaf.ColumnIndex, func(_ int, p parquet.Page) error {
		n := int(p.NumValues())
		if n < 0 || n > want-len(out) {
			return fmt.Errorf("more rows than the %d declared", want)
		}
		start := len(out)
		out = out[:start+n]
		var got int
		var err error
		if r, ok := p.Values().(parquet.Int64Reader); ok {
			got, err = readAll(r.ReadInt64s, out[start:])
		} else {
			vals = slices.Grow(vals[:0], n)[:n]
			got, err = readAll(p.Values().ReadValues, vals)
			for i, v := range vals[:got] {
				out[start+i] = v.Int64()
			}
		}
		out = out[:start+got]
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(out) != want {
		return nil, fmt.Errorf("%d rows read, %d declared", len(out), want)
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

// name names the item in messages: its path, or its text quoted.
func (it Item) name() string {
	if it.IsText {
		return fmt.Sprintf("text %q", it.Text)
	}
	return it.Path
}
