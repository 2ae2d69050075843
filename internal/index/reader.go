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
	ix := &Index{dir: dir, man: man}
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
	// Liveness first: the table is small and tells whether the pair is
	// still there.
	tdata, err := mapFile(c.table)
	if err != nil {
		return nil, err
	}
	c.tableData = tdata
	rows, err := readRowColumn(c.table, tdata)
	if err != nil {
		c.unmap()
		return nil, err
	}
	if len(rows) != p.Items {
		c.unmap()
		return nil, fmt.Errorf("%s has %d rows, the manifest says %d", p.Table, len(rows), p.Items)
	}
	c.live = make([]uint64, (p.Rows+63)/64)
	for _, r := range rows {
		if r < 0 || r >= int64(p.Rows) || c.live[r/64]&(1<<(r%64)) != 0 {
			c.unmap()
			return nil, fmt.Errorf("%s: bad or repeated row %d", p.Table, r)
		}
		c.live[r/64] |= 1 << (r % 64)
	}
	c.allLive = len(rows) == p.Rows

	path := filepath.Join(dir, p.Chunk)
	data, err := mapFile(path)
	if err != nil {
		c.unmap()
		return nil, err
	}
	c.mapped = data
	size := int64(len(data))
	info, err := parseNpyHeader(data)
	if err != nil {
		c.unmap()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	elem := 4
	if info.dtype == DTypeFloat16 {
		elem = 2
	}
	switch {
	case info.dtype != man.DType:
		err = fmt.Errorf("holds %s, the manifest says %s", info.dtype, man.DType)
	case info.dim != man.Dim:
		err = fmt.Errorf("has %d dimensions, the manifest says %d", info.dim, man.Dim)
	case info.rows != p.Rows:
		err = fmt.Errorf("has %d rows, the manifest says %d", info.rows, p.Rows)
	case int64(info.dataOffset)+int64(info.rows)*int64(info.dim)*int64(elem) != size:
		err = fmt.Errorf("size %d does not match its header", size)
	case info.dataOffset%4 != 0:
		err = fmt.Errorf("data is not aligned")
	}
	if err != nil {
		c.unmap()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	n := info.rows * info.dim
	if n > 0 {
		ptr := unsafe.Pointer(&data[info.dataOffset])
		if elem == 4 {
			c.f32 = unsafe.Slice((*float32)(ptr), n)
		} else {
			c.f16 = unsafe.Slice((*uint16)(ptr), n)
		}
	}
	return c, nil
}

// mapFile maps a whole file read-only; the descriptor is closed at once.
func mapFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() < 16 {
		return nil, fmt.Errorf("%s: truncated", path)
	}
	data, err := unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap %s: %w", path, err)
	}
	return data, nil
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
		rows, err := readTableFrom(c.table, c.tableData)
		if err != nil {
			c.itemsErr = err
			return
		}
		c.rowItem = make([]int32, c.pair.Rows)
		for i := range c.rowItem {
			c.rowItem[i] = -1
		}
		for i, r := range rows {
			if r.Row < 0 || r.Row >= int64(c.pair.Rows) {
				c.itemsErr = fmt.Errorf("%s: bad row %d", c.table, r.Row)
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

// Close unmaps the chunks. Vectors handed out before must not be used after.
func (ix *Index) Close() error {
	for _, c := range ix.chunks {
		c.unmap()
	}
	ix.chunks = nil
	return nil
}

// Dir is the index folder.
func (ix *Index) Dir() string { return ix.dir }

// Manifest returns the manifest the index was opened at.
func (ix *Index) Manifest() Manifest {
	m := *ix.man
	m.Chunks = append([]Pair(nil), ix.man.Chunks...)
	return m
}

// Len is the number of live items.
func (ix *Index) Len() int { return ix.man.Items() }

// Dim is the vectors' dimension (0 for an empty new index).
func (ix *Index) Dim() int { return ix.man.Dim }

// Each calls fn for every live item with its vector, in commit order. vec is
// reused between calls; copy it to keep it.
func (ix *Index) Each(fn func(it Item, vec []float32) error) error {
	vec := make([]float32, ix.man.Dim)
	for _, c := range ix.chunks {
		if err := c.loadItems(); err != nil {
			return err
		}
		for i := range c.items {
			r := &c.items[i]
			if err := fn(r.item(), c.vector(int(r.Row), ix.man.Dim, vec)); err != nil {
				return err
			}
		}
	}
	return nil
}
