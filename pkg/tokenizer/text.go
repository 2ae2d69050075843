package tokenizer

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// encoder holds the state of one Encode call.
type encoder struct {
	t     *Tokenizer
	limit int     // content ids to keep, -1 for all
	ids   []int64 // start id, then content ids
	buf   []byte  // normalised text of the current stretch
}

// full reports whether the content limit is reached: the rest of the text
// cannot change the kept prefix, so work stops early on long inputs.
func (e *encoder) full() bool { return e.limit >= 0 && len(e.ids)-1 >= e.limit }

func (e *encoder) add(id int64) {
	if !e.full() {
		e.ids = append(e.ids, id)
	}
}

func (e *encoder) run(text string) {
	// Normalising rarely grows text, so one buffer serves every stretch.
	e.buf = make([]byte, 0, len(text)+4)
	// Added tokens are found in the raw text before any normalisation, so
	// e.g. "<|ENDOFTEXT|>" is not the end token but ordinary text.
	for off := 0; !e.full(); {
		start, stop, id, ok := e.t.raw.find(text, off)
		if !ok {
			e.stretch(text[off:])
			return
		}
		e.stretch(text[off:start])
		e.add(id)
		off = stop
	}
}

// stretch tokenises text that holds no raw-matched added token.
func (e *encoder) stretch(s string) {
	if s == "" || e.full() {
		return
	}
	e.buf = appendNormalized(e.buf[:0], s)
	if len(e.t.norm.toks) == 0 {
		e.pretokenize(e.buf)
		return
	}
	ns := string(e.buf)
	for off := 0; !e.full(); {
		start, stop, id, ok := e.t.norm.find(ns, off)
		if !ok {
			e.pretokenize([]byte(ns[off:]))
			return
		}
		e.pretokenize([]byte(ns[off:start]))
		e.add(id)
		off = stop
	}
}

// appendNormalized applies CLIP's normaliser: NFC, then every run of white
// space becomes one space, then each character is lowercased on its own
// (Rust's char::to_lowercase: full mapping, no context rules such as the
// Greek final sigma). Lowercasing never creates or removes white space, so
// the last two steps share one pass. Invalid UTF-8 bytes come out as
// U+FFFD, one per byte, since HF only ever sees valid strings.
func appendNormalized(dst []byte, s string) []byte {
	if !norm.NFC.IsNormalString(s) {
		s = norm.NFC.String(s)
	}
	inSpace := false
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			if asciiClass[c] == classSpace {
				if !inSpace {
					dst = append(dst, ' ')
					inSpace = true
				}
				continue
			}
			inSpace = false
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if unicode.IsSpace(r) { // Unicode White_Space, as Oniguruma's \s
			if !inSpace {
				dst = append(dst, ' ')
				inSpace = true
			}
			continue
		}
		inSpace = false
		if r == 'İ' {
			// The one unconditional multi-character lowercase mapping; Go's
			// simple mapping would give a bare "i".
			dst = append(dst, "i\u0307"...)
			continue
		}
		dst = utf8.AppendRune(dst, toLower(r))
	}
	return dst
}

// Character classes of CLIP's pre-tokenizer regex.
const (
	classOther  = iota // [^\s\p{L}\p{N}]
	classSpace         // \s: dropped
	classLetter        // \p{L}
	classNumber        // \p{N}
)

var asciiClass = func() (t [utf8.RuneSelf]uint8) {
	for c := range t {
		t[c] = runeClass(rune(c))
	}
	return t
}()

func runeClass(r rune) uint8 {
	switch {
	case unicode.IsSpace(r):
		return classSpace
	case isLetter(r):
		return classLetter
	case isNumber(r):
		return classNumber
	}
	return classOther
}

func classAt(s []byte, i int) (class uint8, size int) {
	if c := s[i]; c < utf8.RuneSelf {
		return asciiClass[c], 1
	}
	r, size := utf8.DecodeRune(s[i:])
	return runeClass(r), size
}

// runEnd returns where the run of class starting at i ends.
func runEnd(s []byte, i int, class uint8) int {
	for i < len(s) {
		c, size := classAt(s, i)
		if c != class {
			break
		}
		i += size
	}
	return i
}

// Alternatives of the regex that are tried before the character classes.
var (
	literalPieces = []string{startToken, endToken}
	contractions  = []string{"s", "t", "re", "ve", "m", "ll", "d"}
)

// pretokenize runs BPE over each pre-token of normalised text.
func (e *encoder) pretokenize(s []byte) {
	for i := 0; !e.full(); {
		start, end := nextPiece(s, i)
		if start < 0 {
			return
		}
		e.piece(s[start:end])
		i = end
	}
}

// nextPiece finds the first pre-token at or after i (start -1 when none),
// splitting the way CLIP's Split pre-tokenizer does (pattern matches are
// the pieces, everything else is dropped), i.e. the leftmost-first
// alternation
//
//	<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
//
// Every non-space character starts a match, so a hand-written scanner gives
// the same pieces as the regex without its cost.
func nextPiece(s []byte, i int) (start, end int) {
	for i < len(s) {
		class, size := classAt(s, i)
		switch class {
		case classSpace:
			i += size
			continue
		case classLetter:
			return i, runEnd(s, i+size, classLetter)
		case classNumber:
			return i, i + size // one digit per piece
		default:
			return i, otherPieceEnd(s, i, i+size)
		}
	}
	return -1, -1
}

// otherPieceEnd finds the end of a piece starting with a symbol at i: the
// literal special-token texts and the contractions win over a symbol run,
// which otherwise swallows every following symbol (apostrophes included).
func otherPieceEnd(s []byte, i, next int) int {
	rest := s[i:]
	switch s[i] {
	case '<':
		for _, lit := range literalPieces {
			if hasPrefix(rest, lit) {
				return i + len(lit)
			}
		}
	case '\'':
		for _, c := range contractions {
			if hasPrefix(rest[1:], c) {
				return i + 1 + len(c)
			}
		}
	}
	return runEnd(s, next, classOther)
}

func hasPrefix(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && string(b[:len(prefix)]) == prefix
}

// piece appends the BPE ids of one pre-token.
func (e *encoder) piece(p []byte) {
	for _, id := range e.t.bpe.encode(p) {
		if e.full() {
			return
		}
		e.ids = append(e.ids, int64(id))
	}
}
