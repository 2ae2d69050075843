package tokenizer

import (
	"fmt"
	"strings"
)

// byteRunes is GPT-2's byte-to-character table: printable Latin-1 bytes
// stand for themselves and the other 68 bytes take the characters from
// U+0100 up, in byte order, so every byte has a visible vocabulary entry.
var byteRunes = func() (t [256]rune) {
	next := rune(256)
	for b := range t {
		if ('!' <= b && b <= '~') || ('¡' <= b && b <= '¬') || ('®' <= b && b <= 'ÿ') {
			t[b] = rune(b)
		} else {
			t[b] = next
			next++
		}
	}
	return t
}()

// byteLevel maps raw bytes to their byte-level characters.
func byteLevel(p []byte) string {
	var b strings.Builder
	b.Grow(2 * len(p))
	for _, c := range p {
		b.WriteRune(byteRunes[c])
	}
	return b.String()
}

// Symbol kinds: whether a symbol continues a word (takes the continuing
// prefix) and whether it ends it (takes the end-of-word suffix).
const (
	kindContinues = 1
	kindLast      = 2
)

// bpeModel is the BPE part of the pipeline, working on byte-level pieces.
type bpeModel struct {
	// base[kind][b] is the id of byte b's character with the affixes of
	// kind, or -1 when the vocabulary lacks it (so the unknown token).
	base         [4][256]int32
	merges       map[uint64]uint64 // pairKey(left, right) -> rank<<32 | new id
	unk          int32             // -1: unknown characters are dropped
	fuseUnk      bool
	ignoreMerges bool
	vocab        map[string]int32
	cache        pieceCache
}

type bpeConfig struct {
	vocab        map[string]int32
	merges       []mergePair
	mergesWhere  string // names n in errors: "merges.txt line"
	unk          *string
	prefix       string // continuing_subword_prefix
	suffix       string // end_of_word_suffix
	fuseUnk      bool
	ignoreMerges bool
}

type mergePair struct {
	a, b string
	n    int // line or index, for errors
}

func pairKey(left, right int32) uint64 { return uint64(uint32(left))<<32 | uint64(uint32(right)) }

func newBPE(c bpeConfig) (*bpeModel, error) {
	m := &bpeModel{
		unk:          -1,
		fuseUnk:      c.fuseUnk,
		ignoreMerges: c.ignoreMerges,
		vocab:        c.vocab,
		merges:       make(map[uint64]uint64, len(c.merges)),
		cache:        pieceCache{m: make(map[string][]int32)},
	}
	for kind := range m.base {
		for b := range m.base[kind] {
			s := string(byteRunes[b])
			if kind&kindContinues != 0 {
				s = c.prefix + s
			}
			if kind&kindLast != 0 {
				s += c.suffix
			}
			id, ok := c.vocab[s]
			if !ok {
				id = -1
			}
			m.base[kind][b] = id
		}
	}
	if c.unk != nil {
		id, ok := c.vocab[*c.unk]
		if !ok {
			return nil, fmt.Errorf("unknown token %q is not in the vocabulary", *c.unk)
		}
		m.unk = id
	}
	for rank, p := range c.merges {
		a, okA := c.vocab[p.a]
		b, okB := c.vocab[p.b]
		// The merged token drops the right part's continuing prefix.
		joined := p.a + strings.TrimPrefix(p.b, c.prefix)
		n, okN := c.vocab[joined]
		switch {
		case !okA:
			return nil, fmt.Errorf("%s %d: merge token %q is not in the vocabulary", c.mergesWhere, p.n, p.a)
		case !okB:
			return nil, fmt.Errorf("%s %d: merge token %q is not in the vocabulary", c.mergesWhere, p.n, p.b)
		case !okN:
			return nil, fmt.Errorf("%s %d: merged token %q is not in the vocabulary", c.mergesWhere, p.n, joined)
		}
		// A repeated pair keeps its last rank, as the Rust map build does.
		m.merges[pairKey(a, b)] = uint64(rank)<<32 | uint64(uint32(n))
	}
	return m, nil
}

// encode returns the ids of one pre-token (raw bytes). The slice may be
// shared through the cache: callers must not modify it.
func (m *bpeModel) encode(p []byte) []int32 {
	if ids, ok := m.cache.get(p); ok {
		return ids
	}
	ids := m.merge(p)
	m.cache.put(p, ids)
	return ids
}

type symbol struct {
	id         int32
	prev, next int32 // -1 at the ends
	dead       bool  // merged into its left neighbour
}

type mergeCand struct {
	rank  uint32
	pos   int32
	newID int32
}

// merge runs BPE over one piece exactly as the Rust library's Word does:
// a queue ordered by (rank, position), entries checked for staleness by
// the id they would produce.
func (m *bpeModel) merge(p []byte) []int32 {
	if m.ignoreMerges {
		if id, ok := m.vocab[byteLevel(p)]; ok {
			return []int32{id}
		}
	}
	syms := make([]symbol, 0, len(p))
	push := func(id int32) {
		n := int32(len(syms))
		if n > 0 {
			syms[n-1].next = n
		}
		syms = append(syms, symbol{id: id, prev: n - 1, next: -1})
	}
	pendingUnk := false
	for i, b := range p {
		kind := 0
		if i > 0 {
			kind |= kindContinues
		}
		if i == len(p)-1 {
			kind |= kindLast
		}
		if id := m.base[kind][b]; id >= 0 {
			if pendingUnk {
				push(m.unk)
				pendingUnk = false
			}
			push(id)
			continue
		}
		if m.unk < 0 {
			continue // no unknown token: the character vanishes, as in HF
		}
		if pendingUnk && !m.fuseUnk {
			push(m.unk)
		}
		pendingUnk = true
	}
	if pendingUnk {
		push(m.unk)
	}

	var q candQueue
	for i := 0; i+1 < len(syms); i++ {
		if v, ok := m.merges[pairKey(syms[i].id, syms[i+1].id)]; ok {
			q = append(q, mergeCand{rank: uint32(v >> 32), pos: int32(i), newID: int32(uint32(v))})
		}
	}
	q.init()
	for len(q) > 0 {
		top := q.pop()
		cur := &syms[top.pos]
		if cur.dead || cur.next < 0 {
			continue
		}
		right := syms[cur.next]
		if v, ok := m.merges[pairKey(cur.id, right.id)]; !ok || int32(uint32(v)) != top.newID {
			continue // stale: a neighbour changed since this entry was queued
		}
		syms[cur.next].dead = true
		cur.id = top.newID
		cur.next = right.next
		if right.next >= 0 {
			syms[right.next].prev = top.pos
		}
		if cur.prev >= 0 {
			if v, ok := m.merges[pairKey(syms[cur.prev].id, cur.id)]; ok {
				q.push(mergeCand{rank: uint32(v >> 32), pos: cur.prev, newID: int32(uint32(v))})
			}
		}
		if cur.next >= 0 {
			if v, ok := m.merges[pairKey(cur.id, syms[cur.next].id)]; ok {
				q.push(mergeCand{rank: uint32(v >> 32), pos: top.pos, newID: int32(uint32(v))})
			}
		}
	}

	ids := make([]int32, 0, len(syms))
	for _, s := range syms {
		if !s.dead {
			ids = append(ids, s.id)
		}
	}
	return ids
}

// candQueue is a binary min-heap on (rank, pos); hand-written to avoid
// container/heap's interface calls in the hot loop.
type candQueue []mergeCand

func (q candQueue) less(i, j int) bool {
	if q[i].rank != q[j].rank {
		return q[i].rank < q[j].rank
	}
	return q[i].pos < q[j].pos
}

func (q candQueue) init() {
	for i := len(q)/2 - 1; i >= 0; i-- {
		q.down(i)
	}
}

func (q *candQueue) push(c mergeCand) {
	*q = append(*q, c)
	h := *q
	for i := len(h) - 1; i > 0; {
		parent := (i - 1) / 2
		if !h.less(i, parent) {
			break
		}
		h[i], h[parent] = h[parent], h[i]
		i = parent
	}
}

func (q *candQueue) pop() mergeCand {
	h := *q
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	*q = h[:last]
	q.down(0)
	return top
}

func (q candQueue) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(q) {
			return
		}
		small := l
		if r := l + 1; r < len(q) && q.less(r, l) {
			small = r
		}
		if !q.less(small, i) {
			return
		}
		q[i], q[small] = q[small], q[i]
		i = small
	}
}
