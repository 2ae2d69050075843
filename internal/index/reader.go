package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Index is an index opened for reading: the committed manifest, its chunks
// memory-mapped, and a liveness bitmap per chunk built from the tables.
// It is a snapshot: later commits by a Writer are not seen. Its methods are
// safe for concurrent use until Close.
type Index struct {
	dir    string
	man    *Manifest
	paths  pathRule
	chunks []*chunk
}

type chunk struct {
	pair  Pair
	table string // path of the table
	// tableData maps the table file: once mapped it stays readable even if
	// a writer commits and deletes it, which keeps the Index a snapshot
	// without holding a file descriptor per table.
	tableData []byte
	mapped    []byte
	f32       []float32 // rows×dim when the index is float32
	f16       []uint16  // rows×dim when it is float16
	live      []uint64  // bit r set when row r is in the table
	allLive   bool

	itemsOnce sync.Once
	rowItem   []int32 // row → index in items, -1 when dead
	items     []tableRow
	itemsErr  error
}

// Open opens the index in dir for reading. It takes no lock: when a writer
// commits while Open runs and a file vanishes under it, Open starts over
// from the new manifest.
func Open(dir string) (*Index, error) {
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		return nil, errors.New("index: big-endian hosts are not supported")
	}
	var lastGen int64 = -1
	for attempt := 0; ; attempt++ {
		man, err := ReadManifest(dir)
		if err != nil {
			return nil, err
		}
		ix, err := openManifest(dir, man)
		if err == nil {
			return ix, nil
		}
		if !errors.Is(err, os.ErrNotExist) || man.Generation == lastGen || attempt >= 50 {
			return nil, err
		}
		lastGen = man.Generation
	}
}

func openManifest(dir string, man *Manifest) (*Index, error) {
	paths, err := newPathRule(dir, man)
	if err != nil {
		return nil, err
	}
	ix := &Index{dir: dir, man: man, paths: paths}
	for _, p := range man.Chunks {
		c, err := openChunk(dir, man, p)
		if err != nil {
			ix.Close()
			return nil, err
		}
		ix.chunks = append(ix.chunks, c)
	}
	return ix, nil
}

func openChunk(dir string, man *Manifest, p Pair) (*chunk, error) {
	c := &chunk{pair: p, table: filepath.Join(dir, p.Table)}
	// The chunk first: its size bounds the row count the manifest claims,
	// which sizes the liveness bitmap.
	path := filepath.Join(dir, p.Chunk)
	data, err := mapFile(path)
	if err != nil {
		return nil, &CorruptError{File: path, Err: withoutPath(err)}
	}
	c.mapped = data
	info, err := checkChunk(data, int64(len(data)), man, p)
	if err != nil {
		c.unmap()
		return nil, &CorruptError{File: path, Err: err}
	}
	c.view(info)

	tdata, err := mapFile(c.table)
	if err != nil {
		c.unmap()
		return nil, &CorruptError{File: c.table, Err: withoutPath(err)}
	}
	c.tableData = tdata
	rows, err := readRowColumn(tdata, p.Items)
	if err != nil {
		c.unmap()
		return nil, &CorruptError{File: c.table, Err: err}
	}
	c.live = make([]uint64, (p.Rows+63)/64)
	for _, r := range rows {
		if r < 0 || r >= int64(p.Rows) || c.live[r/64]&(1<<(r%64)) != 0 {
			c.unmap()
			return nil, corrupt(dir, p.Table, "bad or repeated row %d", r)
		}
		c.live[r/64] |= 1 << (r % 64)
	}
	c.allLive = len(rows) == p.Rows
	return c, nil
}

// view points f32 or f16 at the values of the mapped chunk.
func (c *chunk) view(info npyInfo) {
	if n := info.rows * info.dim; n > 0 {
		ptr := unsafe.Pointer(&c.mapped[info.dataOffset])
		if info.dtype == DTypeFloat32 {
			c.f32 = unsafe.Slice((*float32)(ptr), n)
		} else {
			c.f16 = unsafe.Slice((*uint16)(ptr), n)
		}
	}
}

func (c *chunk) unmap() {
	if c.mapped != nil {
		unix.Munmap(c.mapped)
		c.mapped, c.f32, c.f16 = nil, nil, nil
	}
	if c.tableData != nil {
		unix.Munmap(c.tableData)
		c.tableData = nil
	}
}

func (c *chunk) isLive(r int) bool { return c.live[r/64]&(1<<(r%64)) != 0 }

// loadItems reads the chunk's table once.
func (c *chunk) loadItems() error {
	c.itemsOnce.Do(func() {
		rows, err := readTableFrom(c.table, c.tableData, c.pair)
		if err != nil {
			c.itemsErr = err
			return
		}
		c.rowItem = make([]int32, c.pair.Rows)
		for i := range c.rowItem {
			c.rowItem[i] = -1
		}
		for i, r := range rows {
			if !c.isLive(int(r.Row)) {
				// The full read disagrees with the row column read at open.
				c.itemsErr = &CorruptError{File: c.table, Err: fmt.Errorf("row %d is not live", r.Row)}
				return
			}
			c.rowItem[r.Row] = int32(i)
		}
		c.items = rows
	})
	return c.itemsErr
}

// vector decodes row r into dst.
func (c *chunk) vector(r, dim int, dst []float32) []float32 {
	dst = dst[:dim]
	if c.f32 != nil {
		copy(dst, c.f32[r*dim:(r+1)*dim])
		return dst
	}
	for i, h := range c.f16[r*dim : (r+1)*dim] {
		dst[i] = fromHalf(h)
	}
	return dst
}

// checkFinite refuses rows [row, row+n) of c when one holds a NaN or an
// infinity: fashionclip never writes them (Writer.Add refuses them), so
// the chunk is damaged, and such a vector would poison every score and
// every JSON output made from it.
func (c *chunk) checkFinite(dir string, dim, row, n int) error {
	lo, hi := row*dim, (row+n)*dim
	var i int
	if c.f32 != nil {
		i = firstNonFinite32(c.f32[lo:hi])
	} else {
		i = firstNonFinite16(c.f16[lo:hi])
	}
	if i < 0 {
		return nil
	}
	return corrupt(dir, c.pair.Chunk, "row %d is not finite (NaN or infinity): the chunk is damaged", (lo+i)/dim)
}

// firstNonFinite32 is the position of the first NaN or infinity in v, or -1.
// It runs over every exported vector, so it looks at 16 values at a time:
// a float32 is not finite when its exponent bits are all ones, and adding
// one to an all-ones exponent carries into the lane's sign bit (the lanes
// of a uint64 never carry into each other).
func firstNonFinite32(v []float32) int {
	const exp, one, carry = 0x7f800000_7f800000, 0x00800000_00800000, 0x80000000_80000000
	i := 0
	if len(v) >= 16 {
		w := unsafe.Slice((*uint64)(unsafe.Pointer(&v[0])), len(v)/2)
		for ; i+16 <= len(v); i += 16 {
			u := w[i/2 : i/2+8 : i/2+8]
			bad := (u[0]&exp + one) | (u[1]&exp + one) | (u[2]&exp + one) | (u[3]&exp + one) |
				(u[4]&exp + one) | (u[5]&exp + one) | (u[6]&exp + one) | (u[7]&exp + one)
			if bad&carry != 0 {
				break // the scalar loop below finds which
			}
		}
	}
	for ; i < len(v); i++ {
		if x := v[i]; x-x != 0 { // NaN for NaN and ±Inf, 0 for every finite x
			return i
		}
	}
	return -1
}

// firstNonFinite16 is firstNonFinite32 for IEEE half bits (exponent all ones).
func firstNonFinite16(v []uint16) int {
	for i, h := range v {
		if h&0x7c00 == 0x7c00 {
			return i
		}
	}
	return -1
}

// Close unmaps the chunks. Vectors handed out before must not be used after.
func (ix *Index) Close() error {
	for _, c := range ix.chunks {
		c.unmap()
	}
	ix.chunks = nil
	return nil
}

// Manifest returns the manifest the index was opened at.
func (ix *Index) Manifest() Manifest {
	m := *ix.man
	m.Chunks = append([]Pair(nil), ix.man.Chunks...)
	return m
}

// Root is the absolute folder that relative item paths start from; empty
// for a version 1 index, whose paths are as they were given.
func (ix *Index) Root() string { return ix.paths.root }

// FilePath is where the file of an item path is: absolute, or as stored
// for a version 1 index.
func (ix *Index) FilePath(itemPath string) string { return ix.paths.filePath(itemPath) }

// Len is the number of live items.
func (ix *Index) Len() int { return ix.man.Items() }

// Dim is the vectors' dimension (0 for an empty new index).
func (ix *Index) Dim() int { return ix.man.Dim }

// Each calls fn for every live item with its vector, in commit order. vec is
// reused between calls; copy it to keep it. A vector that is not finite
// ends it with a *CorruptError naming its chunk.
func (ix *Index) Each(fn func(it Item, vec []float32) error) error {
	vec := make([]float32, ix.man.Dim)
	for _, c := range ix.chunks {
		if err := c.loadItems(); err != nil {
			return err
		}
		for i := range c.items {
			r := &c.items[i]
			if err := c.checkFinite(ix.dir, ix.man.Dim, int(r.Row), 1); err != nil {
				return err
			}
			if err := fn(r.item(), c.vector(int(r.Row), ix.man.Dim, vec)); err != nil {
				return err
			}
		}
	}
	return nil
}
