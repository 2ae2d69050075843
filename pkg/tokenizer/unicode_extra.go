package tokenizer

import "unicode"

// Go's unicode tables are Unicode 15.0, while Hugging Face's tokenizers
// (checked: 0.23.2) classify with a Unicode 16 regex engine and lowercase
// with Rust's Unicode 17 tables. These supplements cover exactly the code
// points where the two disagreed, found by running both over every code
// point; NFC needed none (HF's normaliser predates Unicode 16 too). They
// are harmless once Go's tables catch up.

// newerLetters are \p{L} for HF but not for unicode.IsLetter.
var newerLetters = &unicode.RangeTable{
	R16: []unicode.Range16{
		{Lo: 0x1C89, Hi: 0x1C8A, Stride: 1},
		{Lo: 0xA7CB, Hi: 0xA7CD, Stride: 1},
		{Lo: 0xA7DA, Hi: 0xA7DC, Stride: 1},
	},
	R32: []unicode.Range32{
		{Lo: 0x105C0, Hi: 0x105F3, Stride: 1},
		{Lo: 0x10D4A, Hi: 0x10D65, Stride: 1},
		{Lo: 0x10D6F, Hi: 0x10D85, Stride: 1},
		{Lo: 0x10EC2, Hi: 0x10EC4, Stride: 1},
		{Lo: 0x11380, Hi: 0x11389, Stride: 1},
		{Lo: 0x1138B, Hi: 0x1138B, Stride: 1},
		{Lo: 0x1138E, Hi: 0x1138E, Stride: 1},
		{Lo: 0x11390, Hi: 0x113B5, Stride: 1},
		{Lo: 0x113B7, Hi: 0x113B7, Stride: 1},
		{Lo: 0x113D1, Hi: 0x113D1, Stride: 1},
		{Lo: 0x113D3, Hi: 0x113D3, Stride: 1},
		{Lo: 0x11BC0, Hi: 0x11BE0, Stride: 1},
		{Lo: 0x13460, Hi: 0x143FA, Stride: 1},
		{Lo: 0x16100, Hi: 0x1611D, Stride: 1},
		{Lo: 0x16D40, Hi: 0x16D6C, Stride: 1},
		{Lo: 0x18CFF, Hi: 0x18CFF, Stride: 1},
		{Lo: 0x1E5D0, Hi: 0x1E5ED, Stride: 1},
		{Lo: 0x1E5F0, Hi: 0x1E5F0, Stride: 1},
		{Lo: 0x2EBF0, Hi: 0x2EE5D, Stride: 1},
	},
}

// newerNumbers are \p{N} for HF but not for unicode.IsNumber.
var newerNumbers = &unicode.RangeTable{
	R32: []unicode.Range32{
		{Lo: 0x10D40, Hi: 0x10D49, Stride: 1},
		{Lo: 0x116D0, Hi: 0x116E3, Stride: 1},
		{Lo: 0x11BF0, Hi: 0x11BF9, Stride: 1},
		{Lo: 0x16130, Hi: 0x16139, Stride: 1},
		{Lo: 0x16D70, Hi: 0x16D79, Stride: 1},
		{Lo: 0x1CCF0, Hi: 0x1CCF9, Stride: 1},
		{Lo: 0x1E5F1, Hi: 0x1E5FA, Stride: 1},
	},
}

// newerLower lists lowercase mappings Go lacks: runes in [lo, hi] whose
// offset from lo is a multiple of step map to r+delta, or to to when set.
var newerLower = []struct {
	lo, hi, step, delta, to rune
}{
	{lo: 0x1C89, hi: 0x1C89, step: 1, delta: 1},
	{lo: 0xA7CB, hi: 0xA7CB, step: 1, to: 0x0264},
	{lo: 0xA7CC, hi: 0xA7CE, step: 2, delta: 1},
	{lo: 0xA7D2, hi: 0xA7D4, step: 2, delta: 1},
	{lo: 0xA7DA, hi: 0xA7DA, step: 1, delta: 1},
	{lo: 0xA7DC, hi: 0xA7DC, step: 1, to: 0x019B},
	{lo: 0x10D50, hi: 0x10D65, step: 1, delta: 0x20},
	{lo: 0x16EA0, hi: 0x16EB8, step: 1, delta: 0x1B},
}

// toLower is Rust's char::to_lowercase for one rune that is not 'İ'.
func toLower(r rune) rune {
	if l := unicode.ToLower(r); l != r || r < 0x1C89 {
		return l
	}
	for _, m := range newerLower {
		if r >= m.lo && r <= m.hi && (r-m.lo)%m.step == 0 {
			if m.to != 0 {
				return m.to
			}
			return r + m.delta
		}
	}
	return r
}

func isLetter(r rune) bool {
	return unicode.IsLetter(r) || (r >= 0x1C89 && unicode.Is(newerLetters, r))
}

func isNumber(r rune) bool {
	return unicode.IsNumber(r) || (r >= 0x10D40 && unicode.Is(newerNumbers, r))
}
