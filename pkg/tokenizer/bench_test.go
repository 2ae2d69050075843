package tokenizer

import (
	"strings"
	"testing"
)

// BenchmarkEncode times typical inputs: the CLIP vocabulary when the kit
// is there (label: warm cache as in classify; uncached: BPE on every
// piece; long: a caption cut at 77), and the mini fixture always.
func BenchmarkEncode(b *testing.B) {
	const label = "a photo of a red leather ankle boot"
	long := strings.Repeat("women's navy-blue floral midi dress, size M ", 20)
	b.Run("clip", func(b *testing.B) {
		tok := realTokenizers(b)[0].tok
		b.Run("label", func(b *testing.B) {
			tok.Encode(label)
			b.ReportAllocs()
			for b.Loop() {
				tok.Encode(label)
			}
		})
		b.Run("uncached", func(b *testing.B) {
			fresh := *tok
			b.ReportAllocs()
			for b.Loop() {
				fresh.bpe = bpeModelCopy(tok.bpe)
				fresh.Encode(label)
			}
		})
		b.Run("long", func(b *testing.B) {
			tok.Encode(long)
			b.ReportAllocs()
			for b.Loop() {
				tok.Encode(long)
			}
		})
		b.Run("batch64", func(b *testing.B) {
			texts := make([]string, 64)
			for i := range texts {
				texts[i] = label
			}
			b.ReportAllocs()
			for b.Loop() {
				tok.EncodeBatch(texts)
			}
		})
	})
	b.Run("mini", func(b *testing.B) {
		tok := miniTokenizers(b)[0].tok
		b.ReportAllocs()
		for b.Loop() {
			tok.Encode("lower new low abc")
		}
	})
}

// BenchmarkEncodeHugeWord is issue 13's hostile text: one 30 MB word.
func BenchmarkEncodeHugeWord(b *testing.B) {
	tok := realTokenizers(b)[0].tok
	text := strings.Repeat("dressy", 5<<20)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tok.Encode(text)
	}
}
