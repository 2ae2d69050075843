package index

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go/format"
)

// tw writes thrift's compact protocol, for hand-made hostile headers.
type tw struct {
	bytes.Buffer
	last []int16
}

func (w *tw) field(id int16, typ byte) {
	prev := w.last[len(w.last)-1]
	if d := id - prev; d > 0 && d <= 15 {
		w.WriteByte(byte(d)<<4 | typ)
	} else {
		w.WriteByte(typ)
		w.Write(binary.AppendUvarint(nil, uint64(id)<<1^uint64(id>>15)))
	}
	w.last[len(w.last)-1] = id
}
func (w *tw) i32(id int16, v int64) {
	w.field(id, 5)
	w.Write(binary.AppendUvarint(nil, uint64(v<<1^v>>63)))
}
func (w *tw) begin(id int16) { w.field(id, 12); w.last = append(w.last, 0) }
func (w *tw) end()           { w.WriteByte(0); w.last = w.last[:len(w.last)-1] }
func newTW() *tw             { return &tw{last: []int16{0}} }

// pageHeader is a V2 data page header.
func pageHeader(uncompressed, compressed, numValues, numRows int64, enc format.Encoding, isCompressed bool) []byte {
	w := newTW()
	w.i32(phType, int64(format.DataPageV2))
	w.i32(phUncompressed, uncompressed)
	w.i32(phCompressed, compressed)
	w.begin(phDataV2)
	w.i32(dataNumValues, numValues)
	w.i32(2, 0) // nulls
	w.i32(v2NumRows, numRows)
	w.i32(v2Encoding, int64(enc))
	w.i32(v2DefLength, 0)
	w.i32(v2RepLength, 0)
	if !isCompressed {
		w.field(v2Compressed, 2) // false
	}
	w.end()
	w.WriteByte(0)
	return w.Bytes()
}

// zstdRLEBomb is a valid zstd frame of n 128 KiB RLE blocks: a few bytes
// each that decompress to n × 128 KiB.
func zstdRLEBomb(n int) []byte {
	b := binary.LittleEndian.AppendUint32(nil, 0xFD2FB528)
	b = append(b, 0x00, 0x58) // no content size, window descriptor (8 MB)
	for i := range n {
		h := uint32(128<<10)<<3 | 1<<1 // RLE block
		if i == n-1 {
			h |= 1
		}
		b = append(b, byte(h), byte(h>>8), byte(h>>16), 'x')
	}
	return b
}

func TestCheckPages(t *testing.T) {
	deltaHeader := func(count uint64) []byte {
		b := binary.AppendUvarint(nil, 128)
		b = binary.AppendUvarint(b, 4)
		b = binary.AppendUvarint(b, count)
		return binary.AppendUvarint(b, 0)
	}
	page := func(h, body []byte) []byte { return append(h, body...) }
	plain := make([]byte, 16)
	tests := []struct {
		name  string
		chunk []byte
		zstd  bool
		want  string
	}{
		{"a plain page", page(pageHeader(16, 16, 2, 2, format.Plain, false), plain), false, ""},
		{"uncompressed size 1 GB", page(pageHeader(1<<30, 16, 2, 2, format.Plain, false), plain), false, "uncompressed"},
		{"more values than rows", page(pageHeader(16, 16, 1<<30, 2, format.Plain, false), plain), false, "values in a table of 10"},
		{"more rows than the table", page(pageHeader(16, 16, 2, 11, format.Plain, false), plain), false, "rows in a table of 10"},
		{"a page longer than its chunk", page(pageHeader(16, 1<<20, 2, 2, format.Plain, false), plain), false, "left in the column chunk"},
		{"an encoding we never write", page(pageHeader(16, 16, 2, 2, format.ByteStreamSplit, false), plain), false, "encoding"},
		{"delta lengths within the page", page(pageHeader(16, int64(len(deltaHeader(2))), 2, 2, format.DeltaLengthByteArray, false), deltaHeader(2)), false, ""},
		{"delta lengths declaring 2^31 values", page(pageHeader(16, int64(len(deltaHeader(1<<31-1))), 2, 2, format.DeltaLengthByteArray, false), deltaHeader(1<<31-1)), false, "declare"},
		{"a zstd bomb", page(pageHeader(16, int64(len(zstdRLEBomb(1024))), 2, 2, format.Plain, true), zstdRLEBomb(1024)), true, "decompress"},
		{"not zstd", page(pageHeader(16, 16, 2, 2, format.Plain, true), plain), true, "zstd"},
		{"a truncated header", pageHeader(16, 16, 2, 2, format.Plain, false)[:7], false, "page header"},
		{"a list of 2^28 elements", func() []byte {
			w := newTW()
			w.field(4, 9)
			w.WriteByte(0xFC) // a list of structs, long size
			w.Write(binary.AppendUvarint(nil, 1<<28))
			return w.Bytes()
		}(), false, "page header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkPages(tt.chunk, tt.zstd, 10)
			if tt.want == "" {
				if err != nil {
					t.Errorf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}

func TestZstdBound(t *testing.T) {
	enc, _ := zstd.NewWriter(nil)
	data := bytes.Repeat([]byte("catalog/sub/0001.jpg"), 50000) // 1 MB
	for _, src := range [][]byte{data, data[:0], []byte("x")} {
		n, err := zstdBound(enc.EncodeAll(src, nil), maxPageBytes)
		if err != nil || n < int64(len(src)) || n > int64(len(src))+128<<10 {
			t.Errorf("%d bytes: bound %d, %v", len(src), n, err)
		}
	}
	if n, err := zstdBound(zstdRLEBomb(1024), maxPageBytes); err != nil || n <= maxPageBytes {
		t.Errorf("bomb: bound %d, %v", n, err)
	}
}

func TestCheckParquetFooter(t *testing.T) {
	dir := t.TempDir()
	smallIndex(t, dir, "")
	good, err := os.ReadFile(filepath.Join(dir, pairFile(t, dir, 0, "table")))
	if err != nil {
		t.Fatal(err)
	}
	frame := func(footer []byte) []byte {
		b := append([]byte("PAR1"), footer...)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(footer)))
		return append(b, "PAR1"...)
	}
	hugeList := newTW()
	hugeList.i32(1, 1)
	hugeList.field(2, 9)
	hugeList.WriteByte(0xFC)
	hugeList.Write(binary.AppendUvarint(nil, 1<<28))
	hugeString := newTW()
	hugeString.field(6, 8)
	hugeString.Write(binary.AppendUvarint(nil, 1<<31-1))
	deep := newTW()
	for range 100 {
		deep.begin(1)
	}
	withLength := func(n uint32) []byte {
		b := bytes.Clone(good)
		binary.LittleEndian.PutUint32(b[len(b)-8:], n)
		return b
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"a real table", good, ""},
		{"a 4 GB footer length", withLength(0xFFFFFFF0), "footer of"},
		{"no magic", good[4:], "magic"},
		{"a list of 2^28 schema elements", frame(hugeList.Bytes()), "footer"},
		{"a 2 GB string", frame(hugeString.Bytes()), "footer"},
		{"structs nested 100 deep", frame(deep.Bytes()), "footer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkParquetFooter(tt.data)
			if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
			if tt.want != "" {
				if _, err := decodeRows(tt.data, 3); err == nil {
					t.Error("decodeRows read it")
				}
			}
		})
	}
}
