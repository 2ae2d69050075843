package index

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// parquet-go sizes its allocations by what a file declares: the footer
// length (up to 4 GB), thrift list and string lengths, page sizes and
// value counts, and it lets zstd decompress without a limit. A 2 KB table
// can thus ask for gigabytes. Before the library reads a table, the
// checks here walk the footer and every page header with our own bounded
// thrift reader and refuse anything that declares more than the bytes
// that are there, more values than the table's row count, more than
// maxPageBytes per page, or codecs and encodings we never write.

// maxPageBytes bounds a page's decompressed size (parquet-go writes pages
// of a few hundred KB).
const maxPageBytes = 64 << 20

// checkParquetFooter checks the framing and the footer of a table before
// parquet.OpenFile parses it.
func checkParquetFooter(data []byte) error {
	if len(data) < 12 || string(data[:4]) != "PAR1" || string(data[len(data)-4:]) != "PAR1" {
		return errors.New("not a Parquet table (no PAR1 magic at both ends)")
	}
	n := int64(binary.LittleEndian.Uint32(data[len(data)-8:]))
	if n > int64(len(data)-12) {
		return fmt.Errorf("footer of %d bytes in a %d-byte file", n, len(data))
	}
	footer := data[len(data)-8-int(n) : len(data)-8]
	r := &thriftReader{b: footer}
	if _, err := r.structure(false); err != nil {
		return fmt.Errorf("footer: %w", err)
	}
	return nil
}

// checkParquetPages checks every page of the column chunks of a table
// whose footer parquet-go parsed, for a table of want rows: of column
// col only, or of all of them when col < 0.
func checkParquetPages(pf *parquet.File, data []byte, want, col int) error {
	footerStart := int64(len(data)) - 8 - int64(binary.LittleEndian.Uint32(data[len(data)-8:]))
	for gi, rg := range pf.Metadata().RowGroups {
		for ci, cc := range rg.Columns {
			if col >= 0 && ci != col {
				continue
			}
			md := &cc.MetaData
			if md.Codec != format.Zstd && md.Codec != format.Uncompressed {
				return fmt.Errorf("column %d: compression %s is not one fashionclip writes", ci, md.Codec)
			}
			start := md.DataPageOffset
			if md.DictionaryPageOffset != 0 {
				start = md.DictionaryPageOffset
			}
			end := start + md.TotalCompressedSize
			if start < 4 || md.TotalCompressedSize < 0 || end < start || end > footerStart {
				return fmt.Errorf("row group %d column %d: bytes %d–%d are not inside the file", gi, ci, start, end)
			}
			if err := checkPages(data[start:end], md.Codec == format.Zstd, want); err != nil {
				return fmt.Errorf("row group %d column %d: %w", gi, ci, err)
			}
		}
	}
	return nil
}

// Page header fields (parquet.thrift) that size what the library allocates.
const (
	phType         = 1
	phUncompressed = 2
	phCompressed   = 3
	phDataV1       = 5
	phDictionary   = 7
	phDataV2       = 8

	dataNumValues = 1 // in DataPageHeader, DictionaryPageHeader, DataPageHeaderV2
	dataEncoding  = 2 // in DataPageHeader, DictionaryPageHeader (4 in V2)
	v2NumRows     = 3
	v2Encoding    = 4
	v2DefLength   = 5
	v2RepLength   = 6
	v2Compressed  = 7
)

func checkPages(chunk []byte, zstd bool, want int) error {
	for len(chunk) > 0 {
		r := &thriftReader{b: chunk}
		h, err := r.structure(true)
		if err != nil {
			return fmt.Errorf("page header: %w", err)
		}
		chunk = chunk[r.pos:]
		size, ok := h.int(phCompressed)
		if !ok || size < 0 || size > int64(len(chunk)) {
			return fmt.Errorf("page of %d bytes, %d left in the column chunk", size, len(chunk))
		}
		body := chunk[:size]
		chunk = chunk[size:]
		if u, ok := h.int(phUncompressed); !ok || u < 0 || u > maxPageBytes {
			return fmt.Errorf("page declares %d bytes uncompressed", u)
		}
		typ, _ := h.int(phType)
		var sub thriftStruct
		switch typ {
		case int64(format.DataPage):
			sub = h.sub(phDataV1)
		case int64(format.DictionaryPage):
			sub = h.sub(phDictionary)
		case int64(format.DataPageV2):
			sub = h.sub(phDataV2)
		default:
			return fmt.Errorf("page type %d is not one fashionclip writes", typ)
		}
		if sub == nil {
			return fmt.Errorf("page of type %d without its header", typ)
		}
		if n, ok := sub.int(dataNumValues); !ok || n < 0 || n > int64(want) {
			return fmt.Errorf("page of %d values in a table of %d rows", n, want)
		}
		enc, _ := sub.int(dataEncoding)
		compressed := zstd
		if typ == int64(format.DataPageV2) {
			enc, _ = sub.int(v2Encoding)
			if n, ok := sub.int(v2NumRows); !ok || n < 0 || n > int64(want) {
				return fmt.Errorf("page of %d rows in a table of %d", n, want)
			}
			def, _ := sub.int(v2DefLength)
			rep, _ := sub.int(v2RepLength)
			if def < 0 || rep < 0 || def+rep > int64(len(body)) {
				return errors.New("page levels longer than the page")
			}
			body = body[def+rep:]
			if c, ok := sub.int(v2Compressed); ok && c == 0 {
				compressed = false
			}
		}
		if compressed {
			if n, err := zstdBound(body, maxPageBytes); err != nil {
				return err
			} else if n > maxPageBytes {
				return fmt.Errorf("page may decompress to %d bytes", n)
			}
		}
		switch format.Encoding(enc) {
		case format.Plain, format.RLEDictionary, format.RLE:
		case format.DeltaLengthByteArray:
			// The lengths' header declares a value count the library
			// allocates for before reading any value.
			if typ != int64(format.DataPageV2) {
				return errors.New("delta-length strings outside a version 2 data page")
			}
			if compressed {
				if body, err = zstdPages.DecodeAll(body, nil); err != nil {
					return fmt.Errorf("page does not decompress: %w", err)
				}
			}
			numValues, _ := sub.int(dataNumValues)
			if n, err := deltaValueCount(body); err != nil || n > numValues {
				return fmt.Errorf("delta-length strings declare %d values in a page of %d (%v)", n, numValues, err)
			}
		default:
			return fmt.Errorf("encoding %s is not one fashionclip writes", format.Encoding(enc))
		}
	}
	return nil
}

// zstdPages decompresses pages for checking, refusing output beyond
// maxPageBytes (the library's own decoder has no limit).
var zstdPages = func() *zstd.Decoder {
	d, err := zstd.NewReader(nil, zstd.WithDecoderMaxMemory(maxPageBytes), zstd.WithDecoderConcurrency(1))
	if err != nil {
		panic(err)
	}
	return d
}()

// deltaValueCount reads the value count of a DELTA_BINARY_PACKED header
// (block size, miniblocks, total count, first value).
func deltaValueCount(b []byte) (int64, error) {
	var v [3]uint64
	for i := range v {
		x, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, errors.New("bad delta header")
		}
		v[i], b = x, b[n:]
	}
	if v[2] > 1<<31 {
		return 0, errors.New("bad delta header")
	}
	return int64(v[2]), nil
}

// zstdBound is an upper bound of the size zstd frames in b decompress to,
// read from their block headers; it stops counting past limit.
func zstdBound(b []byte, limit int64) (int64, error) {
	const (
		frameMagic     = 0xFD2FB528
		skippableMagic = 0x184D2A50
		maxBlock       = 128 << 10
	)
	bad := errors.New("malformed zstd data in a page")
	var total int64
	for len(b) > 0 && total <= limit {
		if len(b) < 4 {
			return 0, bad
		}
		magic := binary.LittleEndian.Uint32(b)
		if magic&0xFFFFFFF0 == skippableMagic {
			if len(b) < 8 {
				return 0, bad
			}
			n := int64(binary.LittleEndian.Uint32(b[4:]))
			if n > int64(len(b)-8) {
				return 0, bad
			}
			b = b[8+n:]
			continue
		}
		if magic != frameMagic || len(b) < 5 {
			return 0, bad
		}
		fhd := b[4]
		b = b[5:]
		single := fhd>>5&1 == 1
		if fhd>>3&1 != 0 {
			return 0, bad // reserved bit
		}
		skip := [4]int{0, 1, 2, 4}[fhd&3] // dictionary ID
		if !single {
			skip++ // window descriptor
		}
		fcs := [4]int{0, 2, 4, 8}[fhd>>6]
		if fhd>>6 == 0 && single {
			fcs = 1
		}
		skip += fcs
		if skip > len(b) {
			return 0, bad
		}
		b = b[skip:]
		for {
			if len(b) < 3 {
				return 0, bad
			}
			h := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16
			b = b[3:]
			last, kind, size := h&1 == 1, h>>1&3, int64(h>>3)
			switch kind {
			case 0: // raw
				if size > int64(len(b)) {
					return 0, bad
				}
				b, total = b[size:], total+size
			case 1: // one byte repeated size times
				if len(b) < 1 {
					return 0, bad
				}
				b, total = b[1:], total+size
			case 2:
				if size > int64(len(b)) {
					return 0, bad
				}
				b, total = b[size:], total+maxBlock
			default:
				return 0, bad
			}
			if last || total > limit {
				break
			}
		}
		if fhd>>2&1 == 1 { // content checksum
			if len(b) < 4 {
				return 0, bad
			}
			b = b[4:]
		}
	}
	return total, nil
}

// thriftReader reads thrift's compact protocol, refusing every length or
// count larger than the bytes left (each element takes at least one).
type thriftReader struct {
	b     []byte
	pos   int
	depth int
}

// thriftStruct holds the integer fields and (when kept) the nested
// structures of a decoded struct.
type thriftStruct map[int16]any

func (s thriftStruct) int(id int16) (int64, bool) {
	v, ok := s[id].(int64)
	return v, ok
}

func (s thriftStruct) sub(id int16) thriftStruct {
	v, _ := s[id].(thriftStruct)
	return v
}

var errThrift = errors.New("malformed thrift data")

func (r *thriftReader) left() int { return len(r.b) - r.pos }

func (r *thriftReader) byte() (byte, error) {
	if r.pos >= len(r.b) {
		return 0, errThrift
	}
	c := r.b[r.pos]
	r.pos++
	return c, nil
}

func (r *thriftReader) uvarint() (uint64, error) {
	v, n := binary.Uvarint(r.b[r.pos:])
	if n <= 0 {
		return 0, errThrift
	}
	r.pos += n
	return v, nil
}

func (r *thriftReader) varint() (int64, error) {
	u, err := r.uvarint()
	return int64(u>>1) ^ -int64(u&1), err
}

// length reads a size that must fit in the bytes left, each element
// taking at least per bytes.
func (r *thriftReader) length(per int) (int, error) {
	n, err := r.uvarint()
	if err != nil || n > uint64(r.left()/per) {
		return 0, errThrift
	}
	return int(n), nil
}

// structure reads a struct; keep builds its map (of integers and nested
// structs; lists, strings and doubles are checked and dropped).
func (r *thriftReader) structure(keep bool) (thriftStruct, error) {
	if r.depth++; r.depth > 32 {
		return nil, errThrift
	}
	defer func() { r.depth-- }()
	var s thriftStruct
	if keep {
		s = thriftStruct{}
	}
	var id int16
	for {
		h, err := r.byte()
		if err != nil {
			return nil, err
		}
		if h == 0 {
			return s, nil
		}
		if delta := h >> 4; delta != 0 {
			id += int16(delta)
		} else {
			v, err := r.varint()
			if err != nil || v < -32768 || v > 32767 {
				return nil, errThrift
			}
			id = int16(v)
		}
		v, err := r.value(h&0x0f, keep)
		if err != nil {
			return nil, err
		}
		if keep && v != nil {
			s[id] = v
		}
	}
}

// value reads one value of a compact type; it returns int64 for integers
// and booleans, thriftStruct for kept structs, else nil.
func (r *thriftReader) value(t byte, keep bool) (any, error) {
	switch t {
	case 1, 2: // boolean in a field header
		return int64(2 - t), nil
	case 3:
		b, err := r.byte()
		return int64(int8(b)), err
	case 4, 5, 6:
		return r.varint()
	case 7:
		if r.left() < 8 {
			return nil, errThrift
		}
		r.pos += 8
		return nil, nil
	case 8:
		n, err := r.length(1)
		r.pos += n
		return nil, err
	case 9, 10:
		h, err := r.byte()
		if err != nil {
			return nil, err
		}
		n, et := int(h>>4), h&0x0f
		if n == 15 {
			if n, err = r.length(1); err != nil {
				return nil, err
			}
		} else if n > r.left() {
			return nil, errThrift
		}
		for range n {
			if err := r.element(et); err != nil {
				return nil, err
			}
		}
		return nil, nil
	case 11:
		n, err := r.length(2)
		if err != nil || n == 0 {
			return nil, err
		}
		kv, err := r.byte()
		if err != nil {
			return nil, err
		}
		for range n {
			if err := r.element(kv >> 4); err != nil {
				return nil, err
			}
			if err := r.element(kv & 0x0f); err != nil {
				return nil, err
			}
		}
		return nil, nil
	case 12:
		s, err := r.structure(keep)
		if err != nil || !keep {
			return nil, err
		}
		return s, nil
	}
	return nil, errThrift
}

// element reads one element of a list, set or map, where booleans take a
// byte each.
func (r *thriftReader) element(t byte) error {
	if t == 1 || t == 2 {
		_, err := r.byte()
		return err
	}
	_, err := r.value(t, false)
	return err
}
