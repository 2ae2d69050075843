package query

import (
	"errors"
	"strings"
	"unicode"
)

// Split turns a query typed as one string (a search box, an HTTP request)
// into the arguments Parse reads, the way a shell would have split the
// CLI's command line, except that the words between two operators stay one
// term: `white sneaker - logo + 2:chunky sole` is three terms, as is
// `"white sneaker" - "logo" + 2:"chunky sole"`.
//
// An operator is a + or - standing alone between spaces. Double quotes
// group (so `"a - b"` is one term holding a dash) and are removed, as the
// shell removes them; a backslash takes the next character literally. The
// text between operators is kept as typed, only trimmed, so the tokenizer
// sees what the user wrote.
func Split(s string) ([]string, error) {
	var (
		args    []string
		cur     strings.Builder // the term being read, quotes removed
		curSet  bool            // cur holds a term, maybe an empty quoted one
		pending strings.Builder // spaces read after the term's last word
		inQuote bool
		word    strings.Builder // the current word as typed (to spot operators)
		wordRaw bool            // the word held quotes or escapes: never an operator
	)
	flushWord := func() {
		w := word.String()
		if !wordRaw && (w == "+" || w == "-") {
			if curSet {
				args = append(args, cur.String())
			}
			args = append(args, w)
			cur.Reset()
			curSet = false
		} else {
			if curSet {
				cur.WriteString(pending.String())
			}
			cur.WriteString(w)
			curSet = true
		}
		pending.Reset()
		word.Reset()
		wordRaw = false
	}
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == '\\' && i+1 < len(rs):
			i++
			word.WriteRune(rs[i])
			wordRaw = true
		case r == '"':
			inQuote = !inQuote
			wordRaw = true
		case unicode.IsSpace(r) && !inQuote:
			if word.Len() > 0 || wordRaw {
				flushWord()
			}
			pending.WriteRune(r)
		default:
			word.WriteRune(r)
		}
	}
	if inQuote {
		return nil, errors.New("unbalanced double quote in the query")
	}
	if word.Len() > 0 || wordRaw {
		flushWord()
	}
	if curSet {
		args = append(args, cur.String())
	}
	return args, nil
}
