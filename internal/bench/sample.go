package bench

import (
	"hash/fnv"
	"sort"
)

// Sample keeps a stratified sample of at most n items: each class gets a
// share proportional to its size (largest remainders round, ties going to
// the class first in sorted order), and within a class the items whose
// seeded hash of the ID is smallest are chosen (equal IDs: the first). The result depends only on
// the items and the seed (not on the Go version or the machine), and keeps
// dataset order. Classes (the candidates) are unchanged, so a class may have
// no item left. n <= 0 or n >= len(d.Items) keeps everything.
func (d *Dataset) Sample(n int, seed uint64) {
	total := len(d.Items)
	if n <= 0 || n >= total {
		return
	}
	byClass := map[string][]int{}
	for i, it := range d.Items {
		byClass[it.Label] = append(byClass[it.Label], i)
	}
	classes := make([]string, 0, len(byClass))
	for c := range byClass {
		classes = append(classes, c)
	}
	sort.Strings(classes)

	// Largest-remainder apportionment of n over the class sizes, in
	// integers so no rounding error can move an item.
	quota := make([]int, len(classes))
	rem := make([]int, len(classes))
	given := 0
	for i, c := range classes {
		size := len(byClass[c])
		quota[i] = size * n / total
		rem[i] = size * n % total
		given += quota[i]
	}
	order := make([]int, len(classes))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return rem[order[a]] > rem[order[b]] })
	for _, i := range order[:n-given] {
		quota[i]++
	}

	keep := make([]bool, total)
	for i, c := range classes {
		idx := byClass[c]
		keys := make([]uint64, len(idx))
		for j, k := range idx {
			keys[j] = sampleKey(seed, d.Items[k].ID)
		}
		sort.Sort(byKey{idx, keys})
		for _, k := range idx[:quota[i]] {
			keep[k] = true
		}
	}
	out := d.Items[:0]
	for i, it := range d.Items {
		if keep[i] {
			out = append(out, it)
		}
	}
	d.Items = out
}

// sampleKey mixes the seed with the item's ID through splitmix64's
// finaliser, so that neighbouring seeds give unrelated samples.
func sampleKey(seed uint64, id string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	x := (seed+1)*0x9e3779b97f4a7c15 ^ h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

type byKey struct {
	idx  []int
	keys []uint64
}

func (s byKey) Len() int { return len(s.idx) }
func (s byKey) Less(a, b int) bool {
	if s.keys[a] != s.keys[b] {
		return s.keys[a] < s.keys[b]
	}
	return s.idx[a] < s.idx[b]
}
func (s byKey) Swap(a, b int) {
	s.idx[a], s.idx[b] = s.idx[b], s.idx[a]
	s.keys[a], s.keys[b] = s.keys[b], s.keys[a]
}
