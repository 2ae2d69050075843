package index

import (
	"fmt"

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

// EachBatch calls fn with the live items in commit order, at most maxItems
// at a time, never mixing chunks. Unlike Each it keeps no table in memory
// after its chunk is done and hands out vectors without converting them,
// and it lets the kernel drop the chunk's pages from this process once read
// (they stay in the page cache): memory stays flat however large the index.
func (ix *Index) EachBatch(maxItems int, fn func(*Batch) error) error {
	if maxItems <= 0 {
		maxItems = 4096
	}
	dim := ix.man.Dim
	var b Batch
	var f32buf []float32
	var f16buf []uint16
	for ci, c := range ix.chunks {
		rows, err := readTableFrom(c.table, c.tableData)
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
			first := int(part[0].Row)
			switch {
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
	if cap(dst) < ix.man.Dim {
		dst = make([]float32, ix.man.Dim)
	}
	return c.vector(int(ref.Row), ix.man.Dim, dst), nil
}

// HalfToFloat32 widens IEEE half-precision bits to float32, exactly.
func HalfToFloat32(h uint16) float32 { return fromHalf(h) }

// Float32ToHalf rounds f to the nearest half (ties to even), as numpy's
// astype(float16) does.
func Float32ToHalf(f float32) uint16 { return toHalf(f) }
