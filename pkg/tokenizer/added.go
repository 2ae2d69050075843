package tokenizer

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// addedToken is a token matched as a whole in the text (special tokens and
// tokenizer.json's added_tokens), with HF's matching options.
type addedToken struct {
	text       string // as written in the file
	content    string // the text matched: raw, or normalised for normalised tokens
	id         int64
	singleWord bool // only when not inside a word
	lstrip     bool // swallow white space on the left
	rstrip     bool // swallow white space on the right
}

type addedSet struct {
	toks  []addedToken
	first [256]bool // first bytes of the contents, to skip quickly
}

func (a *addedSet) add(t addedToken) {
	if t.content == "" {
		return
	}
	a.toks = append(a.toks, t)
	a.first[t.content[0]] = true
}

// find returns the next added token in s at or after off, with the span it
// takes (white space included for lstrip/rstrip), like HF's
// leftmost-longest Aho-Corasick scan. off is also the end of the previous
// match, which lstrip may not reach back past.
func (a *addedSet) find(s string, off int) (start, stop int, id int64, ok bool) {
	if len(a.toks) == 0 {
		return 0, 0, 0, false
	}
	for i := off; i < len(s); i++ {
		if !a.first[s[i]] {
			continue
		}
		best := -1
		for k := range a.toks {
			c := a.toks[k].content
			if (best < 0 || len(c) > len(a.toks[best].content)) && strings.HasPrefix(s[i:], c) {
				best = k
			}
		}
		if best < 0 {
			continue
		}
		tok := &a.toks[best]
		start, stop = i, i+len(tok.content)
		if tok.singleWord && (endsWithWord(s[:start]) || startsWithWord(s[stop:])) {
			// Rejected; the scan goes on after it, as HF's iterator does.
			i = stop - 1
			continue
		}
		if tok.lstrip {
			start = max(len(strings.TrimRightFunc(s[:start], unicode.IsSpace)), off)
		}
		if tok.rstrip {
			stop = len(s) - len(strings.TrimLeftFunc(s[stop:], unicode.IsSpace))
		}
		return start, stop, tok.id, true
	}
	return 0, 0, 0, false
}

// isWordRune is the Rust regex crate's Unicode \w.
func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) ||
		unicode.In(r, unicode.Nl, unicode.Other_Alphabetic, unicode.M, unicode.Pc, unicode.Join_Control)
}

func endsWithWord(s string) bool {
	r, size := utf8.DecodeLastRuneInString(s)
	return size > 0 && isWordRune(r)
}

func startsWithWord(s string) bool {
	r, size := utf8.DecodeRuneInString(s)
	return size > 0 && isWordRune(r)
}
