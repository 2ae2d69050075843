package export

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/compress/snappy"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/fashionclip/fashionclip/internal/index"
)

// A streaming Parquet writer for the one schema export writes:
//
//	id      string, required        path    string, optional
//	kind    string, required        text    string, optional
//	size    int64, optional         mtime   timestamp(µs, UTC), optional
//	sha256  string, optional
//	embedding  required LIST of required FLOAT (or FLOAT16), d per row
//
// It is written here rather than through parquet-go's row writer because
// the vectors are most of the bytes and should go from the mapped chunks to
// the file untouched: no reflection, no per-value statistics, no copy.
// Each row group is written column after column in schema order: the small
// columns are encoded and compressed in memory as rows arrive (a few MB per
// row group), the vectors are fetched page by page when the row group is
// complete. Pages are data pages v1, PLAIN values, RLE levels.

// Parquet enums used here.
const (
	pqBoolean, pqInt64, pqFloat, pqByteArray, pqFixed = 0, 2, 4, 6, 7
	pqRequired, pqOptional, pqRepeated                = 0, 1, 2
	encPlain, encRLE                                  = 0, 3
	convUTF8, convList                                = 0, 3
)

// Compression names for Options.Compression.
const (
	CompressionZstd   = "zstd"
	CompressionSnappy = "snappy"
	CompressionNone   = "none"
)

func codecOf(name string) (compress.Codec, int32, error) {
	switch name {
	case CompressionZstd:
		return &zstd.Codec{Level: zstd.SpeedFastest}, 6, nil
	case "", CompressionSnappy:
		return &snappy.Codec{}, 1, nil
	case CompressionNone:
		return nil, 0, nil
	}
	return nil, 0, &OptionError{"compression", name, []string{CompressionSnappy, CompressionZstd, CompressionNone}}
}

// metaSpec describes one of the small columns.
type metaSpec struct {
	name     string
	typ      int32
	optional bool
	logical  string // "string", "timestamp" or ""
}

// metaSpecs are the small columns, in schema order.
var metaSpecs = []metaSpec{
	{name: "id", typ: pqByteArray, logical: "string"},
	{name: "path", typ: pqByteArray, optional: true, logical: "string"},
	{name: "kind", typ: pqByteArray, logical: "string"},
	{name: "text", typ: pqByteArray, optional: true, logical: "string"},
	{name: "size", typ: pqInt64, optional: true},
	{name: "mtime", typ: pqInt64, optional: true, logical: "timestamp"},
	{name: "sha256", typ: pqByteArray, optional: true, logical: "string"},
}

// metaCol is a small column being encoded.
type metaCol struct {
	metaSpec
	// The open page: definition levels (one byte per row) and PLAIN values.
	defs   []byte
	values []byte
	rows   int
	// The row group's finished pages, headers included.
	chunk metaChunk
}

// metaChunk is a small column's chunk of one row group: its pages,
// headers included.
type metaChunk struct {
	data         []byte
	uncompressed int64
	numValues    int64
}

// rowVec identifies the vector of one row for the vector fetcher.
type rowVec struct {
	input int
	ref   index.Ref
}

// vectorFetcher returns the little-endian vectors of rows, back to back,
// in the output dtype: a view of a chunk or the fetcher's own buffer,
// valid until the next call.
type vectorFetcher func(rows []rowVec) ([]byte, error)

// The writer is two halves that can run on two goroutines: a groupEncoder
// turns rows into row groups whose small columns are encoded and
// compressed, and a parquetWriter writes those to a file, fetching the
// vectors page by page. Groups never span files: the encoder cuts one at
// every partRows rows and marks it as its file's last.

// encodedGroup is a row group ready to be written.
type encodedGroup struct {
	cols     []metaChunk // in metaSpecs order
	rows     []rowVec    // whose vectors follow
	endsPart bool
}

type groupEncoder struct {
	codec    compress.Codec
	groupMax int // rows per row group
	partMax  int // rows per file
	metaPage int // rows per page of the small columns
	cols     []*metaCol
	rows     []rowVec // the open row group's vectors
	inPart   int      // rows in the open file
	scratch  []byte
}

func newGroupEncoder(dim int, half bool, codecName string, groupRows, partRows int) (*groupEncoder, error) {
	codec, _, err := codecOf(codecName)
	if err != nil {
		return nil, err
	}
	elem := elemSize(half)
	if groupRows <= 0 {
		groupRows = max(1, (128<<20)/(dim*elem)) // 128 MiB of vectors
	}
	e := &groupEncoder{codec: codec, groupMax: groupRows, partMax: partRows, metaPage: 16384}
	for _, spec := range metaSpecs {
		e.cols = append(e.cols, &metaCol{metaSpec: spec})
	}
	return e, nil
}

// add appends one row and returns the row group it completes, if any.
func (e *groupEncoder) add(r *record, vec rowVec) (*encodedGroup, error) {
	c := e.cols
	putString(c[0], r.ID, true)
	putString(c[1], r.Path, !r.IsText)
	putString(c[2], r.Kind, true)
	putString(c[3], r.Text, r.IsText)
	putInt64(c[4], r.Size, !r.IsText)
	putInt64(c[5], r.MTimeMicros, r.HasMTime)
	putString(c[6], r.SHA256, r.SHA256 != "")
	e.rows = append(e.rows, vec)
	e.inPart++
	if c[0].rows >= e.metaPage {
		if err := e.cutMetaPages(); err != nil {
			return nil, err
		}
	}
	if len(e.rows) >= e.groupMax || e.inPart == e.partMax {
		return e.finish()
	}
	return nil, nil
}

// finish returns the open row group (nil when it has no rows), which ends
// its file when the file is full or no rows follow.
func (e *groupEncoder) finish() (*encodedGroup, error) {
	if len(e.rows) == 0 {
		return nil, nil
	}
	if err := e.cutMetaPages(); err != nil {
		return nil, err
	}
	g := &encodedGroup{rows: e.rows, endsPart: e.inPart == e.partMax}
	for _, c := range e.cols {
		g.cols = append(g.cols, c.chunk)
		c.chunk = metaChunk{} // the group owns the bytes now
	}
	if g.endsPart {
		e.inPart = 0
	}
	e.rows = make([]rowVec, 0, min(e.groupMax, 1<<16))
	return g, nil
}

// elemSize is the bytes of one vector element.
func elemSize(half bool) int {
	if half {
		return 2
	}
	return 4
}

func putString(c *metaCol, s string, present bool) {
	c.rows++
	if c.optional {
		c.defs = append(c.defs, b2u(present))
	}
	if present {
		c.values = binary.LittleEndian.AppendUint32(c.values, uint32(len(s)))
		c.values = append(c.values, s...)
	}
}

func putInt64(c *metaCol, v int64, present bool) {
	c.rows++
	c.defs = append(c.defs, b2u(present))
	if present {
		c.values = binary.LittleEndian.AppendUint64(c.values, uint64(v))
	}
}

func b2u(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// cutMetaPages turns the open pages of the small columns into finished,
// compressed pages of the row group.
func (e *groupEncoder) cutMetaPages() error {
	for _, c := range e.cols {
		if c.rows == 0 {
			continue
		}
		body := e.scratch[:0]
		if c.optional {
			levels := appendRLELevels(nil, c.defs)
			body = binary.LittleEndian.AppendUint32(body, uint32(len(levels)))
			body = append(body, levels...)
		}
		body = append(body, c.values...)
		comp := body
		if e.codec != nil {
			var err error
			comp, err = e.codec.Encode(nil, body)
			if err != nil {
				return err
			}
		}
		hdr := dataPageHeader(len(body), len(comp), c.rows)
		c.chunk.data = append(append(c.chunk.data, hdr...), comp...)
		c.chunk.uncompressed += int64(len(hdr) + len(body))
		c.chunk.numValues += int64(c.rows)
		e.scratch = body
		c.defs, c.values, c.rows = c.defs[:0], c.values[:0], 0
	}
	return nil
}

// appendRLELevels encodes 0/1 levels in the RLE/bit-packing hybrid with
// bit width 1, as runs of equal values.
func appendRLELevels(dst, levels []byte) []byte {
	for i := 0; i < len(levels); {
		j := i + 1
		for j < len(levels) && levels[j] == levels[i] {
			j++
		}
		dst = binary.AppendUvarint(dst, uint64(j-i)<<1)
		dst = append(dst, levels[i])
		i = j
	}
	return dst
}

func dataPageHeader(uncompressed, compressed, numValues int) []byte {
	var t thriftWriter
	t.i32(1, 0) // DATA_PAGE
	t.i32(2, int32(uncompressed))
	t.i32(3, int32(compressed))
	t.begin(5)
	t.i32(1, int32(numValues))
	t.i32(2, encPlain)
	t.i32(3, encRLE)
	t.i32(4, encRLE)
	t.end()
	t.end()
	return t.b
}

// parquetWriter writes encoded row groups to one file.
type parquetWriter struct {
	w       io.Writer
	pos     int64
	dim     int
	half    bool
	codecID int32
	pageMax int // rows per vector page
	fetch   vectorFetcher
	kv      [][2]string
	created string

	groups  []rowGroupMeta
	numRows int64
	levels  map[int][]byte // vector page levels by row count
}

type columnMeta struct {
	typ                      int32
	path                     []string
	numValues                int64
	uncompressed, compressed int64
	dataPageOffset           int64
	codec                    int32
}

type rowGroupMeta struct {
	cols     []columnMeta
	numRows  int64
	offset   int64
	byteSize int64 // uncompressed
	compSize int64
}

func newParquetWriter(w io.Writer, dim int, half bool, codecName string, fetch vectorFetcher, kv [][2]string, createdBy string) (*parquetWriter, error) {
	_, id, err := codecOf(codecName)
	if err != nil {
		return nil, err
	}
	elem := elemSize(half)
	pw := &parquetWriter{w: w, dim: dim, half: half, codecID: id,
		pageMax: max(1, (1<<20)/(dim*elem)), fetch: fetch, kv: kv, created: createdBy, levels: map[int][]byte{}}
	return pw, pw.write([]byte("PAR1"))
}

func (pw *parquetWriter) write(b []byte) error {
	n, err := pw.w.Write(b)
	pw.pos += int64(n)
	return err
}

// writeGroup writes a row group: the small columns' chunks, then the
// vectors, page by page.
func (pw *parquetWriter) writeGroup(eg *encodedGroup) error {
	g := rowGroupMeta{numRows: int64(len(eg.rows)), offset: pw.pos}
	for i, c := range eg.cols {
		cm := columnMeta{typ: metaSpecs[i].typ, path: []string{metaSpecs[i].name}, numValues: c.numValues, uncompressed: c.uncompressed,
			compressed: int64(len(c.data)), dataPageOffset: pw.pos, codec: pw.codecID}
		if err := pw.write(c.data); err != nil {
			return err
		}
		g.cols = append(g.cols, cm)
	}

	vec := columnMeta{typ: pqFloat, path: []string{"embedding", "list", "element"}, dataPageOffset: pw.pos}
	if pw.half {
		vec.typ = pqFixed
	}
	elem := elemSize(pw.half)
	start := pw.pos
	for p := 0; p < len(eg.rows); p += pw.pageMax {
		rows := eg.rows[p:min(p+pw.pageMax, len(eg.rows))]
		n := len(rows)
		levels := pw.levels[n]
		if levels == nil {
			levels = vectorLevels(n, pw.dim)
			pw.levels[n] = levels
		}
		values, err := pw.fetch(rows)
		if err != nil {
			return err
		}
		if len(values) != n*pw.dim*elem {
			return fmt.Errorf("internal error: %d vector bytes for %d rows", len(values), n)
		}
		size := len(levels) + len(values)
		hdr := dataPageHeader(size, size, n*pw.dim)
		if err := pw.write(hdr); err != nil {
			return err
		}
		if err := pw.write(levels); err != nil {
			return err
		}
		if err := pw.write(values); err != nil {
			return err
		}
		vec.numValues += int64(n * pw.dim)
	}
	vec.uncompressed = pw.pos - start
	vec.compressed = vec.uncompressed
	g.cols = append(g.cols, vec)
	for _, c := range g.cols {
		g.byteSize += c.uncompressed
		g.compSize += c.compressed
	}
	pw.groups = append(pw.groups, g)
	pw.numRows += g.numRows
	return nil
}

// vectorLevels returns the repetition and definition levels of n rows of
// dim elements, each with its 4-byte length: repetition 0 then dim−1
// ones per row; definition all 1 (every element present).
func vectorLevels(n, dim int) []byte {
	var rep []byte
	for range n {
		rep = append(rep, 0x02, 0x00) // a run of one 0
		if dim > 1 {
			rep = binary.AppendUvarint(rep, uint64(dim-1)<<1)
			rep = append(rep, 0x01)
		}
	}
	def := binary.AppendUvarint(nil, uint64(n*dim)<<1)
	def = append(def, 0x01)
	out := binary.LittleEndian.AppendUint32(nil, uint32(len(rep)))
	out = append(out, rep...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(def)))
	return append(out, def...)
}

// close writes the footer.
func (pw *parquetWriter) close() error {
	footer := pw.footer()
	if err := pw.write(footer); err != nil {
		return err
	}
	tail := binary.LittleEndian.AppendUint32(nil, uint32(len(footer)))
	return pw.write(append(tail, "PAR1"...))
}

func (pw *parquetWriter) footer() []byte {
	var t thriftWriter
	t.i32(1, 2) // version
	// The schema, flattened depth first.
	t.list(2, tStruct, 1+len(metaSpecs)+3)
	t.elem()
	t.str(4, "schema")
	t.i32(5, int32(len(metaSpecs)+1))
	t.end()
	for _, c := range metaSpecs {
		t.elem()
		t.i32(1, c.typ)
		t.i32(3, map[bool]int32{false: pqRequired, true: pqOptional}[c.optional])
		t.str(4, c.name)
		switch c.logical {
		case "string":
			t.i32(6, convUTF8)
			t.begin(10)
			t.begin(1) // STRING
			t.end()
			t.end()
		case "timestamp":
			t.i32(6, 10) // TIMESTAMP_MICROS, for readers older than logical types
			t.begin(10)
			t.begin(8) // TIMESTAMP
			t.boolean(1, true)
			t.begin(2)
			t.begin(2) // MICROS
			t.end()
			t.end()
			t.end()
			t.end()
		}
		t.end()
	}
	// embedding: required group (LIST) { repeated group list { required element } }
	t.elem()
	t.i32(3, pqRequired)
	t.str(4, "embedding")
	t.i32(5, 1)
	t.i32(6, convList)
	t.begin(10)
	t.begin(3) // LIST
	t.end()
	t.end()
	t.end()
	t.elem()
	t.i32(3, pqRepeated)
	t.str(4, "list")
	t.i32(5, 1)
	t.end()
	t.elem()
	if pw.half {
		t.i32(1, pqFixed)
		t.i32(2, 2)
		t.i32(3, pqRequired)
		t.str(4, "element")
		t.begin(10)
		t.begin(15) // FLOAT16
		t.end()
		t.end()
	} else {
		t.i32(1, pqFloat)
		t.i32(3, pqRequired)
		t.str(4, "element")
	}
	t.end()

	t.i64(3, pw.numRows)
	t.list(4, tStruct, len(pw.groups))
	for gi, g := range pw.groups {
		t.elem()
		t.list(1, tStruct, len(g.cols))
		for _, c := range g.cols {
			t.elem()
			t.i64(2, c.dataPageOffset) // file_offset: where the chunk starts
			t.begin(3)
			t.i32(1, c.typ)
			t.list(2, tI32, 2)
			t.rawI32(encPlain)
			t.rawI32(encRLE)
			t.list(3, tBinary, len(c.path))
			for _, p := range c.path {
				t.rawStr(p)
			}
			t.i32(4, c.codec)
			t.i64(5, c.numValues)
			t.i64(6, c.uncompressed)
			t.i64(7, c.compressed)
			t.i64(9, c.dataPageOffset)
			t.end()
			t.end()
		}
		t.i64(2, g.byteSize)
		t.i64(3, g.numRows)
		t.i64(5, g.offset)
		t.i64(6, g.compSize)
		t.field(7, 4) // i16 ordinal
		t.varint(int64(gi))
		t.end()
	}
	t.list(5, tStruct, len(pw.kv))
	for _, kv := range pw.kv {
		t.elem()
		t.str(1, kv[0])
		t.str(2, kv[1])
		t.end()
	}
	t.str(6, pw.created)
	t.end()
	return t.b
}

// parquetArrowSchema is the Arrow schema of the files parquetWriter writes.
func parquetArrowSchema(dim int, half bool) string {
	return arrowSchemaMetadata([]arrowField{
		arrowUtf8Field("id", false),
		arrowUtf8Field("path", true),
		arrowUtf8Field("kind", false),
		arrowUtf8Field("text", true),
		arrowInt64Field("size", true),
		arrowTimestampMicrosUTC("mtime", true),
		arrowUtf8Field("sha256", true),
		arrowVectorField("embedding", dim, half),
	})
}
