package tokenizer

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestEncodeBatch(t *testing.T) {
	tok := miniTokenizers(t)[0].tok
	low, lower, unk := idsOf(t, tok, "low</w>")[0], idsOf(t, tok, "lower</w>")[0], tok.EndID()
	s, e, p := tok.StartID(), tok.EndID(), tok.PadID()
	cases := []struct {
		name    string
		texts   []string
		seqLen  int
		ids     []int64
		mask    []int64
		lengths []int
	}{
		{name: "no texts", texts: nil, ids: []int64{}, mask: []int64{}, lengths: []int{}},
		{
			name:  "one text is not padded",
			texts: []string{"low lower"}, seqLen: 4,
			ids:     []int64{s, low, lower, e},
			mask:    []int64{1, 1, 1, 1},
			lengths: []int{4},
		},
		{
			name:  "padded to the longest",
			texts: []string{"low", "", "low-lower"}, seqLen: 5,
			ids: []int64{
				s, low, e, p, p,
				s, e, p, p, p,
				s, low, unk, lower, e,
			},
			mask: []int64{
				1, 1, 1, 0, 0,
				1, 1, 0, 0, 0,
				1, 1, 1, 1, 1,
			},
			lengths: []int{3, 2, 5},
		},
	}
	for _, c := range cases {
		b := tok.EncodeBatch(c.texts)
		if b.Rows != len(c.texts) || b.SeqLen != c.seqLen || !slices.Equal(b.IDs, c.ids) || !slices.Equal(b.Mask, c.mask) || !slices.Equal(b.Lengths, c.lengths) {
			t.Errorf("%s: got rows %d seq %d\nids %v\nmask %v\nlengths %v\nwant seq %d\nids %v\nmask %v\nlengths %v",
				c.name, b.Rows, b.SeqLen, b.IDs, b.Mask, b.Lengths, c.seqLen, c.ids, c.mask, c.lengths)
		}
		for i, text := range c.texts {
			if row, want := b.Row(i)[:b.Lengths[i]], tok.Encode(text); !slices.Equal(row, want) {
				t.Errorf("%s: row %d = %v, Encode gives %v", c.name, i, row, want)
			}
		}
	}
}

func TestEncodeBatchTruncates(t *testing.T) {
	tok := miniTokenizers(t)[0].tok
	b := tok.EncodeBatch([]string{strings.Repeat("low ", 200), "low"})
	if b.SeqLen != DefaultMaxLength || b.Lengths[0] != DefaultMaxLength || b.Lengths[1] != 3 {
		t.Fatalf("seq %d lengths %v, want %d and [77 3]", b.SeqLen, b.Lengths, DefaultMaxLength)
	}
	if got := b.Row(0)[DefaultMaxLength-1]; got != tok.EndID() {
		t.Errorf("long row ends with %d, want the end id %d", got, tok.EndID())
	}
	var ones int64
	for _, m := range b.Mask {
		ones += m
	}
	if ones != DefaultMaxLength+3 {
		t.Errorf("mask has %d ones, want %d", ones, DefaultMaxLength+3)
	}
}

// TestConcurrentEncode shares one Tokenizer (and its cache) between
// goroutines; run with -race.
func TestConcurrentEncode(t *testing.T) {
	t.Run("mini", func(t *testing.T) { checkConcurrent(t, miniTokenizers(t)) })
	t.Run("clip", func(t *testing.T) { checkConcurrent(t, realTokenizers(t)) })
}

func checkConcurrent(t *testing.T, toks []named) {
	texts := []string{"low lower", "a photo of a dress", "abc aaab", "naïve café", "low<|endoftext|>new"}
	for i := range 50 {
		texts = append(texts, fmt.Sprintf("word%d lower%d", i, i*7))
	}
	for _, n := range toks {
		// Answers from a copy with its own cache, so that the shared one
		// is still cold and the goroutines race to fill it.
		fresh := *n.tok
		fresh.bpe = bpeModelCopy(n.tok.bpe)
		want := make([][]int64, len(texts))
		for i, s := range texts {
			want[i] = fresh.Encode(s)
		}
		var wg sync.WaitGroup
		errs := make(chan string, 8)
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for r := range 40 {
					i := (g*7 + r) % len(texts)
					if got := n.tok.Encode(texts[i]); !slices.Equal(got, want[i]) {
						errs <- fmt.Sprintf("%s: Encode(%q) = %v, want %v", n.name, texts[i], got, want[i])
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}
	}
}

// bpeModelCopy copies a model with an empty cache of its own.
func bpeModelCopy(m *bpeModel) *bpeModel {
	return &bpeModel{
		base: m.base, merges: m.merges, unk: m.unk, fuseUnk: m.fuseUnk,
		ignoreMerges: m.ignoreMerges, vocab: m.vocab,
		cache: pieceCache{m: map[string][]int32{}},
	}
}

func TestCacheBounded(t *testing.T) {
	tok := miniTokenizers(t)[0].tok
	for i := range cacheCapacity + 50 {
		tok.Encode(fmt.Sprintf("%c%c%c", 'a'+i%26, 'a'+i/26%26, 'a'+i/676%26))
	}
	tok.Encode(strings.Repeat("a", cacheMaxPiece+1))
	tok.bpe.cache.mu.RLock()
	n := len(tok.bpe.cache.m)
	_, long := tok.bpe.cache.m[strings.Repeat("a", cacheMaxPiece+1)]
	tok.bpe.cache.mu.RUnlock()
	if n > cacheCapacity || long {
		t.Errorf("cache holds %d pieces (long one: %v), want at most %d and not the long one", n, long, cacheCapacity)
	}
	// A full cache still gives right answers.
	if got, want := tok.Encode("lower"), framed(tok, idsOf(t, tok, "lower</w>")...); !slices.Equal(got, want) {
		t.Errorf("Encode(lower) with a full cache = %v, want %v", got, want)
	}
}
