package index

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
)

// sameRows fails t when the column reader and the row reader, each
// followed by checkRows for p, disagree on the table in data: one refuses
// it and the other does not, or they read different rows. It returns the
// rows when both accept them.
func sameRows(t *testing.T, data []byte, p Pair) []tableRow {
	t.Helper()
	read := func(decode func([]byte, int) ([]tableRow, error)) ([]tableRow, error) {
		rows, err := decode(data, p.Items)
		if err == nil {
			err = checkRows(rows, p)
		}
		return rows, err
	}
	byRows, errRows := read(decodeRows)
	byCols, errCols := read(decodeColumns)
	if errors.Is(errCols, errUnusualPage) {
		return nil // read by the row reader: nothing to compare
	}
	if (errRows == nil) != (errCols == nil) {
		t.Fatalf("row reader: %v; column reader: %v", errRows, errCols)
	}
	if errRows != nil {
		return nil
	}
	if !reflect.DeepEqual(byRows, byCols) {
		for i := range byRows {
			if !reflect.DeepEqual(byRows[i], byCols[i]) {
				t.Fatalf("row %d: row reader %s, column reader %s", i, showRow(byRows[i]), showRow(byCols[i]))
			}
		}
		t.Fatalf("rows differ")
	}
	return byCols
}

func showRow(r tableRow) string {
	s := func(p *string) string {
		if p == nil {
			return "nil"
		}
		return fmt.Sprintf("%q", *p)
	}
	i := func(p *int64) string {
		if p == nil {
			return "nil"
		}
		return fmt.Sprint(*p)
	}
	return fmt.Sprintf("{path %s text %s chunk %q row %d size %s mtime %s sha %s}", s(r.Path), s(r.Text), r.Chunk, r.Row, i(r.Size), i(r.MTime), s(r.SHA256))
}

// mixedRows are images with and without hashes and texts, interleaved.
func mixedRows(n int) []tableRow {
	rows := make([]tableRow, n)
	for i := range rows {
		var it Item
		switch i % 5 {
		case 0, 3:
			it = Item{IsText: true, Text: strings.Repeat("t", i%7) + fmt.Sprint(i)}
		case 1:
			it = Item{Path: fmt.Sprintf("dir/%06d.jpg", i), Size: int64(i), MTime: time.Unix(int64(i), int64(i))}
		default:
			it = Item{Path: fmt.Sprintf("d/é%d.png", i), Size: 7, MTime: time.Unix(1, 0), SHA256: fmt.Sprintf("%064x", i)}
		}
		rows[i] = rowFromItem(it, "emb-00001.npy", n-1-i)
	}
	return rows
}

func TestDecodeColumnsMatchesRows(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []int{0, 1, 7, 5000, 70_000} { // 70k rows: several pages per column
		path := filepath.Join(dir, fmt.Sprintf("items-%d.parquet", n))
		if _, err := writeTable(path, mixedRows(n)); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		p := Pair{Chunk: "emb-00001.npy", Rows: n, Items: n}
		if rows := sameRows(t, data, p); len(rows) != n {
			t.Fatalf("%d rows, want %d", len(rows), n)
		}
		for _, wrong := range []int{n + 1, max(n-1, 0), 1000} {
			if wrong != n {
				sameRows(t, data, Pair{Chunk: p.Chunk, Rows: max(n, wrong), Items: wrong})
			}
		}
	}
	for _, kind := range fixtureKinds {
		for name, b := range fixtureFiles(t)[kind] {
			if strings.HasSuffix(name, ".parquet") {
				t.Run(kind+"/"+name, func(t *testing.T) {
					pf, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
					if err != nil {
						t.Fatal(err)
					}
					n := int(pf.NumRows())
					rows, err := decodeRows(b, n)
					if err != nil || n == 0 {
						t.Fatal(n, err)
					}
					if sameRows(t, b, Pair{Chunk: rows[0].Chunk, Rows: n + 1, Items: n}) == nil {
						t.Fatal("fixture refused")
					}
				})
			}
		}
	}
}

// dictRow is tableRow with dictionaries on every column, which the
// column reader leaves to the row reader.
type dictRow struct {
	Path   *string `parquet:"path,optional,dict"`
	Text   *string `parquet:"text,optional,dict"`
	Chunk  string  `parquet:"chunk,dict"`
	Row    int64   `parquet:"row,dict"`
	Size   *int64  `parquet:"size,optional,dict"`
	MTime  *int64  `parquet:"mtime,optional,dict,timestamp(nanosecond)"`
	SHA256 *string `parquet:"sha256,optional,dict"`
}

func TestDecodeTableUnusualPages(t *testing.T) {
	rows := mixedRows(300)
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[dictRow](&buf, parquet.Compression(&parquet.Zstd))
	for _, r := range rows {
		if _, err := w.Write([]dictRow{{r.Path, r.Text, r.Chunk, r.Row, r.Size, r.MTime, r.SHA256}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := decodeColumns(buf.Bytes(), len(rows)); err != errUnusualPage {
		t.Fatalf("column reader on dictionary-encoded integers: %v, want errUnusualPage", err)
	}
	got, err := decodeTable(buf.Bytes(), len(rows))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := decodeRows(buf.Bytes(), len(rows))
	if !reflect.DeepEqual(got, want) || len(got) != len(rows) {
		t.Fatal("decodeTable differs from the row reader on an unusual table")
	}
}
