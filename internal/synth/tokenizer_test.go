package synth

import (
	"slices"
	"strings"
)

// tokenize is a minimal reference encoder for the synthetic vocabulary,
// for tests: lower-case ASCII words only, start and end tokens added.
func (v *vocabulary) tokenize(text string) []int64 {
	_, sym := byteSymbols()
	ids := map[string]int64{}
	for i, t := range v.tokens {
		ids[t] = int64(i)
	}
	rank := map[[2]string]int{}
	for i, m := range v.merges {
		rank[m] = i
	}
	out := []int64{StartToken}
	for _, w := range strings.Fields(strings.ToLower(text)) {
		s := make([]string, len(w))
		for i := range len(w) {
			s[i] = sym[w[i]]
		}
		s[len(s)-1] += "</w>"
		for len(s) > 1 {
			best, at := -1, -1
			for i := 0; i+1 < len(s); i++ {
				if r, ok := rank[[2]string{s[i], s[i+1]}]; ok && (best < 0 || r < best) {
					best, at = r, i
				}
			}
			if at < 0 {
				break
			}
			s = slices.Replace(s, at, at+2, s[at]+s[at+1])
		}
		for _, t := range s {
			out = append(out, ids[t])
		}
	}
	return append(out, EndToken)
}
