package index

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Batch is a run of live items of one chunk, in commit order, with their
// vectors in the index's own dtype. Its slices are only valid during the
// callback that receives it: they are reused, and the vectors may be a
// read-only view of the mapped chunk.
type Batch struct {
	Chunk int       // position of the chunk in the manifest
	Items []Item    // the items
	Rows  []int32   // each item's row in its chunk
	Refs  []Ref     // each item's location, for SimilarPairs' results
	F32   []float32 // float32 index: len(Items)·dim values, item i at [i·dim, (i+1)·dim)
	F16   []uint16  // float16 index: the same as IEEE half bits
}

// BatchOptions tune EachBatch.
type BatchOptions struct {
	// MaxItems per batch (default 4096).
	MaxItems int
	// SkipVectors leaves F32 and F16 nil, for callers that fetch the
	// vectors later by Ref (VectorBytes).
	SkipVectors bool
}

// EachBatch calls fn with the live items in commit order, at most
// o.MaxItems at a time, never mixing chunks. Vectors it hands out are
// finite: a NaN or an infinity ends it with a *CorruptError naming the
// chunk. Unlike Each it keeps no table
// in memory after its chunk is done and hands out vectors without
// converting them, and it lets the kernel drop the chunk's pages from this
// process once read (they stay in the page cache): memory stays flat
// however large the index.
func (ix *Index) EachBatch(o BatchOptions, fn func(*Batch) error) error {
	maxItems := o.MaxItems
	if maxItems <= 0 {
		maxItems = 4096
	}
	dim := ix.man.Dim
	var b Batch
	var f32buf []float32
	var f16buf []uint16
	for ci, c := range ix.chunks {
		rows, err := readTableFrom(c.table, c.tableData, c.pair)
		if err != nil {
			return err
		}
		for start := 0; start < len(rows); start += maxItems {
			part := rows[start:min(start+maxItems, len(rows))]
			b.Chunk = ci
			b.Items, b.Rows, b.Refs = b.Items[:0], b.Rows[:0], b.Refs[:0]
			contiguous := true
			for i := range part {
				r := part[i].Row
				if r < 0 || r >= int64(c.pair.Rows) || !c.isLive(int(r)) {
					return fmt.Errorf("%s: row %d is not a live row of %s", c.table, r, c.pair.Chunk)
				}
				if r != part[0].Row+int64(i) {
					contiguous = false
				}
				b.Items = append(b.Items, part[i].item())
				b.Rows = append(b.Rows, int32(r))
				b.Refs = append(b.Refs, Ref{int32(ci), int32(r)})
			}
			b.F32, b.F16 = nil, nil
			if !o.SkipVectors {
				for _, r := range b.Rows {
					if err := c.checkFinite(ix.dir, dim, int(r), 1); err != nil {
						return err
					}
				}
			}
			first := int(part[0].Row)
			switch {
			case o.SkipVectors:
			case c.f32 != nil && contiguous:
				b.F32 = c.f32[first*dim : (first+len(part))*dim]
			case c.f16 != nil && contiguous:
				b.F16 = c.f16[first*dim : (first+len(part))*dim]
			case c.f32 != nil:
				f32buf = f32buf[:0]
				for _, r := range b.Rows {
					f32buf = append(f32buf, c.f32[int(r)*dim:(int(r)+1)*dim]...)
				}
				b.F32 = f32buf
			default:
				f16buf = f16buf[:0]
				for _, r := range b.Rows {
					f16buf = append(f16buf, c.f16[int(r)*dim:(int(r)+1)*dim]...)
				}
				b.F16 = f16buf
			}
			if err := fn(&b); err != nil {
				return err
			}
		}
		// The pages stay in the page cache; dropping them from this
		// mapping only keeps them out of our resident set.
		for _, m := range [][]byte{c.mapped, c.tableData} {
			if m != nil {
				unix.Madvise(m, unix.MADV_DONTNEED)
			}
		}
	}
	return nil
}

// Vector returns the vector at ref as float32 (dst is reused when large
// enough).
func (ix *Index) Vector(ref Ref, dst []float32) ([]float32, error) {
	if ref.Chunk < 0 || int(ref.Chunk) >= len(ix.chunks) {
		return nil, fmt.Errorf("no chunk %d", ref.Chunk)
	}
	c := ix.chunks[ref.Chunk]
	if ref.Row < 0 || int(ref.Row) >= c.pair.Rows {
		return nil, fmt.Errorf("%s has no row %d", c.pair.Chunk, ref.Row)
	}
	if err := c.checkFinite(ix.dir, ix.man.Dim, int(ref.Row), 1); err != nil {
		return nil, err
	}
	if cap(dst) < ix.man.Dim {
		dst = make([]float32, ix.man.Dim)
	}
	return c.vector(int(ref.Row), ix.man.Dim, dst), nil
}

// VectorBytes returns the vectors at refs as little-endian dtype values,
// back to back. When the refs are consecutive rows of one chunk stored in
// dtype, the result is a read-only view of the mapped chunk (valid until
// Close) and view is true; otherwise the values are appended to dst[:0].
func (ix *Index) VectorBytes(refs []Ref, dtype string, dst []byte) (data []byte, view bool, err error) {
	dim := ix.man.Dim
	if dtype != DTypeFloat32 && dtype != DTypeFloat16 {
		return nil, false, fmt.Errorf("unknown dtype %q", dtype)
	}
	for _, r := range refs {
		if r.Chunk < 0 || int(r.Chunk) >= len(ix.chunks) || r.Row < 0 || int(r.Row) >= ix.chunks[r.Chunk].pair.Rows {
			return nil, false, fmt.Errorf("no vector at %v", r)
		}
		if err := ix.chunks[r.Chunk].checkFinite(ix.dir, dim, int(r.Row), 1); err != nil {
			return nil, false, err
		}
	}
	if len(refs) == 0 {
		return dst[:0], false, nil
	}
	first := refs[0]
	run := true
	for i, r := range refs {
		if r.Chunk != first.Chunk || r.Row != first.Row+int32(i) {
			run = false
			break
		}
	}
	c := ix.chunks[first.Chunk]
	if run && dtype == ix.man.DType {
		lo, hi := int(first.Row)*dim, (int(first.Row)+len(refs))*dim
		if c.f32 != nil {
			return unsafe.Slice((*byte)(unsafe.Pointer(&c.f32[lo])), 4*(hi-lo)), true, nil
		}
		return unsafe.Slice((*byte)(unsafe.Pointer(&c.f16[lo])), 2*(hi-lo)), true, nil
	}
	dst = dst[:0]
	for _, r := range refs {
		c := ix.chunks[r.Chunk]
		lo, hi := int(r.Row)*dim, (int(r.Row)+1)*dim
		switch {
		case c.f32 != nil && dtype == DTypeFloat32:
			dst = append(dst, unsafe.Slice((*byte)(unsafe.Pointer(&c.f32[lo])), 4*dim)...)
		case c.f16 != nil && dtype == DTypeFloat16:
			dst = append(dst, unsafe.Slice((*byte)(unsafe.Pointer(&c.f16[lo])), 2*dim)...)
		case c.f32 != nil:
			for _, v := range c.f32[lo:hi] {
				dst = binary.LittleEndian.AppendUint16(dst, toHalf(v))
			}
		default:
			for _, h := range c.f16[lo:hi] {
				dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(fromHalf(h)))
			}
		}
	}
	return dst, false, nil
}

// HalfToFloat32 widens IEEE half-precision bits to float32, exactly.
func HalfToFloat32(h uint16) float32 { return fromHalf(h) }

// Float32ToHalf rounds f to the nearest half (ties to even), as numpy's
// astype(float16) does.
func Float32ToHalf(f float32) uint16 { return toHalf(f) }

// DropPages tells the kernel that this process is done with the pages
// holding the vectors at refs: they leave its resident set (and stay in
// the page cache). Streaming readers call it after writing a view out, so
// that memory stays flat; reading the rows again is still correct.
func (ix *Index) DropPages(refs []Ref) {
	dim := ix.man.Dim
	spans := map[int32][2]int32{}
	for _, r := range refs {
		if r.Chunk < 0 || int(r.Chunk) >= len(ix.chunks) {
			continue
		}
		s, ok := spans[r.Chunk]
		if !ok {
			s = [2]int32{r.Row, r.Row}
		}
		spans[r.Chunk] = [2]int32{min(s[0], r.Row), max(s[1], r.Row)}
	}
	page := unix.Getpagesize()
	for ci, s := range spans {
		c := ix.chunks[ci]
		if c.mapped == nil {
			continue
		}
		elem := 4
		if c.f16 != nil {
			elem = 2
		}
		offset := len(c.mapped) - c.pair.Rows*dim*elem // the header
		lo := (offset + int(s[0])*dim*elem) / page * page
		hi := min(len(c.mapped), offset+(int(s[1])+1)*dim*elem)
		if hi > lo {
			unix.Madvise(c.mapped[lo:hi], unix.MADV_DONTNEED)
		}
	}
}
