package tokenizer

import (
	"math/rand"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// fullEncode is Encode without the prefix shortcut: the whole text goes
// through the pipeline and only the kept ids are cut off at the end.
func fullEncode(tok *Tokenizer, text string) []int64 {
	return append(tok.encode(text, tok.contentLimit()), tok.endID)
}

// longTexts are long inputs whose kept ids could, in principle, depend on
// what follows the first prefix encodePrefix tries: one giant word, words
// made of vocabulary pieces glued together, symbol runs, sparse tokens in a
// sea of white space, combining marks, special tokens at the cut, digits.
func longTexts(rng *rand.Rand, vocab []string) map[string]string {
	letters := "abcdefghijklmnopqrstuvwxyzéü"
	randWord := func(n int, alphabet string) string {
		rs := []rune(alphabet)
		var b strings.Builder
		for b.Len() < n {
			b.WriteRune(rs[rng.Intn(len(rs))])
		}
		return b.String()
	}
	glued := func(n int) string {
		var b strings.Builder
		for b.Len() < n {
			b.WriteString(strings.Trim(vocab[rng.Intn(len(vocab))], "</w>"))
		}
		return b.String()
	}
	return map[string]string{
		"one letter repeated":    strings.Repeat("a", 200_000),
		"two letters repeated":   strings.Repeat("ab", 100_000),
		"random letters":         randWord(150_000, letters),
		"vocabulary glued":       glued(150_000),
		"symbols":                randWord(100_000, "!#$%&()*+,-./:;<=>?@[]^_{|}~'"),
		"digits":                 randWord(100_000, "0123456789"),
		"sparse in white space":  strings.Repeat("x"+strings.Repeat(" \t\n", 700), 300),
		"combining marks":        strings.Repeat("e\u0301\u0323a\u0308", 30_000),
		"special token at cut":   strings.Repeat("ab", prefixWindow/2-3) + "<|endoftext|>" + glued(20_000),
		"contraction at cut":     strings.Repeat("z", prefixWindow-1) + "'ll" + glued(20_000),
		"sentence repeated":      strings.Repeat("A Photo of a RED dress, size 38! ", 5000),
		"mixed random":           randWord(120_000, letters+"  0123'!?é\u0301"),
		"just past the window":   glued(prefixWindow + 10),
		"many windows of spaces": strings.Repeat(" ", 3*prefixWindow) + "dress",
	}
}

// The shortcut for long texts gives, for every kind of long text, exactly
// the ids of tokenising the whole text and truncating.
func TestLongTextsMatchFullEncode(t *testing.T) {
	toks := append(miniTokenizers(t), realTokenizers(t)...)
	rng := rand.New(rand.NewSource(13))
	for _, n := range toks {
		vocab := make([]string, 0, len(n.tok.vocab))
		for tok := range n.tok.vocab {
			if utf8.ValidString(tok) && !strings.ContainsAny(tok, "<>") {
				vocab = append(vocab, tok)
			}
		}
		slices.Sort(vocab)
		for name, text := range longTexts(rng, vocab) {
			got, want := n.tok.Encode(text), fullEncode(n.tok, text)
			if !slices.Equal(got, want) {
				t.Errorf("%s, %s: Encode = %v\nfull = %v", n.name, name, got, want)
			}
		}
	}
}

// Issue 13: a 30 MB text cost 48 s and 3 GB because BPE ran over all of it.
// Now only a prefix is tokenised; the ids are those of its first 64 KiB
// (which TestLongTextsMatchFullEncode shows to be the full text's).
func TestHugeTextIsCheap(t *testing.T) {
	for _, n := range realTokenizers(t) {
		for name, text := range map[string]string{
			"one word": strings.Repeat("dressy", 5<<20),
			"words":    strings.Repeat("a red dress ", 30<<20/12),
		} {
			got := n.tok.Encode(text)
			if want := fullEncode(n.tok, text[:64<<10]); !slices.Equal(got, want) {
				t.Errorf("%s, %s: got %v, want %v", n.name, name, got, want)
			}
		}
	}
}
