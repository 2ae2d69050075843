package index

// At returns the live item whose vector is row of chunk (a Hit's Chunk and
// Row), and a copy of that vector. ok is false when the index has no such
// chunk or the row is not live in it: a position is only answered when it
// is one a search of this snapshot could return.
func (ix *Index) At(chunk string, row int) (it Item, vec []float32, ok bool, err error) {
	for _, c := range ix.chunks {
		if c.pair.Chunk != chunk {
			continue
		}
		if row < 0 || row >= c.pair.Rows || !c.isLive(row) {
			return Item{}, nil, false, nil
		}
		if err := c.loadItems(); err != nil {
			return Item{}, nil, false, err
		}
		i := c.rowItem[row]
		if i < 0 {
			return Item{}, nil, false, nil
		}
		return c.items[i].item(), c.vector(row, ix.man.Dim, make([]float32, ix.man.Dim)), true, nil
	}
	return Item{}, nil, false, nil
}
