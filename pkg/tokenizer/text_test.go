package tokenizer

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestNormalize(t *testing.T) {
	cases := []struct {
		in, want string
	}{
		{"", ""},
		{"Hello World", "hello world"},
		{"a \t\n\r\v\f b", "a b"},                  // one space per run, \v included
		{"  lead and trail  ", " lead and trail "}, // kept single; the split drops them
		{"a\u00a0\u1680\u2000\u200a\u2028\u2029\u202f\u205f\u3000\u0085b", "a b"},
		{"a\u200bb\u180ec\ufeffd", "a\u200bb\u180ec\ufeffd"}, // not White_Space
		{"a\x1cb", "a\x1cb"},               // Python's isspace says yes; \s does not
		{"e\u0301", "é"},                   // NFC composes
		{"Å", "å"},                         // U+212B: NFC to U+00C5, then lowercased
		{"Ω", "ω"},                         // U+2126 likewise
		{"İ", "i\u0307"},                   // full lowercase mapping
		{"ΣΑΣ", "σασ"},                     // per character: no final sigma
		{"ẞ", "ß"},                         // capital sharp s
		{"Ǆ ǅ", "ǆ ǆ"},                     // title case too
		{"ＡＢＣ", "ａｂｃ"},                     // NFC does not fold width
		{"ﬁ", "ﬁ"},                         // nor ligatures
		{"Ⅻ", "ⅻ"},                         // letter numbers have case
		{"\U00010D50", "\U00010D70"},       // Garay, newer than Go's tables
		{"\uA7CB", "\u0264"},               // Unicode 16 Latin capital
		{"<|ENDOFTEXT|>", "<|endoftext|>"}, // just text once lowercased
	}
	for _, c := range cases {
		if got := string(appendNormalized(nil, c.in)); got != c.want {
			t.Errorf("normalize(%+q) = %+q, want %+q", c.in, got, c.want)
		}
	}
}

func pieces(s string) []string {
	var out []string
	b := []byte(s)
	for i := 0; ; {
		start, end := nextPiece(b, i)
		if start < 0 {
			return out
		}
		out = append(out, s[start:end])
		i = end
	}
}

func TestPieces(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"   ", nil},
		{"a photo", []string{"a", "photo"}},
		{"t-shirt/top", []string{"t", "-", "shirt", "/", "top"}},
		{"100%", []string{"1", "0", "0", "%"}},
		{"it's", []string{"it", "'s"}},
		{"we're they've i'm we'll he'd", []string{"we", "'re", "they", "'ve", "i", "'m", "we", "'ll", "he", "'d"}},
		{"'sam", []string{"'s", "am"}},                     // contraction wins even mid-word
		{"?'s", []string{"?'", "s"}},                       // a symbol run swallows the apostrophe
		{"''s", []string{"''", "s"}},                       // so does a run of apostrophes
		{"'x", []string{"'", "x"}},                         // no contraction
		{"?!?!", []string{"?!?!"}},                         // one run
		{"a...b", []string{"a", "...", "b"}},               //
		{"<|endoftext|>x", []string{"<|endoftext|>", "x"}}, // literal alternative
		{"<|endoftext", []string{"<|", "endoftext"}},       // incomplete literal
		{"?<|endoftext|>", []string{"?<|", "endoftext", "|>"}},
		{"½2", []string{"½", "2"}},                                     // each number alone
		{"x²", []string{"x", "²"}},                                     //
		{"naïve", []string{"naïve"}},                                   // letters of any script
		{"e\u0301", []string{"e", "\u0301"}},                           // a lone mark is a symbol (before NFC)
		{"👍🏽!", []string{"👍🏽!"}},                                       // emoji are symbols
		{"a\u200db", []string{"a", "\u200d", "b"}},                     // format characters too
		{"日本語テキスト", []string{"日本語テキスト"}},                               // CJK letters run together
		{"x\U00013460y", []string{"x\U00013460y"}},                     // a Unicode 16 letter
		{"\U00010D40\U00010D41", []string{"\U00010D40", "\U00010D41"}}, // Unicode 16 digits
	}
	for _, c := range cases {
		if got := pieces(c.in); !slices.Equal(got, c.want) {
			t.Errorf("pieces(%+q) = %+q, want %+q", c.in, got, c.want)
		}
	}
}

func TestAddedFind(t *testing.T) {
	var set addedSet
	set.add(addedToken{content: "<m>", id: 1, lstrip: true, rstrip: true})
	set.add(addedToken{content: "<mm>", id: 2})
	set.add(addedToken{content: "<m", id: 3})
	set.add(addedToken{content: "ab", id: 4, singleWord: true})
	type match struct {
		start, stop int
		id          int64
	}
	cases := []struct {
		s    string
		off  int
		want *match
	}{
		{"x <m>  y", 0, &match{1, 7, 1}}, // both strips
		{"x <mm> y", 0, &match{2, 6, 2}}, // longest at the leftmost start
		{"x <mx", 0, &match{2, 4, 3}},    // shorter one when the long fails
		{"  <m>", 1, &match{1, 5, 1}},    // lstrip stops at the offset
		{"ab", 0, &match{0, 2, 4}},       // single word alone
		{"cab ab", 0, &match{4, 6, 4}},   // not inside "cab"
		{"ab\u0301 x", 0, nil},           // a mark continues a word
		{"abc", 0, nil},                  //
		{"é ab", 0, &match{3, 5, 4}},     // byte offsets
		{"nothing here", 0, nil},         //
	}
	for _, c := range cases {
		start, stop, id, ok := set.find(c.s, c.off)
		var got *match
		if ok {
			got = &match{start, stop, id}
		}
		if (got == nil) != (c.want == nil) || (got != nil && *got != *c.want) {
			t.Errorf("find(%q, %d) = %+v, want %+v", c.s, c.off, got, c.want)
		}
	}
}

// naiveBPE is the textbook loop: merge the best-ranked adjacent pair,
// leftmost on ties, until none is left.
func naiveBPE(ids []int32, merges map[uint64]uint64) []int32 {
	ids = slices.Clone(ids)
	for {
		best, bestRank := -1, uint64(0)
		for i := 0; i+1 < len(ids); i++ {
			if v, ok := merges[pairKey(ids[i], ids[i+1])]; ok && (best < 0 || v>>32 < bestRank) {
				best, bestRank = i, v>>32
			}
		}
		if best < 0 {
			return ids
		}
		v := merges[pairKey(ids[best], ids[best+1])]
		ids = slices.Replace(ids, best, best+2, int32(uint32(v)))
	}
}

// TestMergeQueue compares the queue-based merge with the naive loop on
// random words and merge tables (each merged token made by one pair only,
// where the two are known to agree).
func TestMergeQueue(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 300 {
		m := &bpeModel{unk: -1, merges: map[uint64]uint64{}, cache: pieceCache{m: map[string][]int32{}}}
		const alphabet = 4
		for kind := range m.base {
			for b := range m.base[kind] {
				m.base[kind][b] = -1
			}
			for b := range alphabet {
				m.base[kind]['a'+b] = int32(b)
			}
		}
		next := int32(alphabet)
		for rank := range 12 {
			l, r := rng.Int32N(next), rng.Int32N(next)
			if _, dup := m.merges[pairKey(l, r)]; dup {
				continue
			}
			m.merges[pairKey(l, r)] = uint64(rank)<<32 | uint64(next)
			next++
		}
		word := make([]byte, 1+rng.IntN(20))
		start := make([]int32, len(word))
		for i := range word {
			word[i] = byte('a' + rng.IntN(alphabet))
			start[i] = int32(word[i] - 'a')
		}
		if got, want := m.merge(word), naiveBPE(start, m.merges); !slices.Equal(got, want) {
			t.Fatalf("round %d: merge(%s) = %v, naive %v", round, word, got, want)
		}
	}
}
