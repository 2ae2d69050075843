package output

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/width"
)

// Ellipsis marks where a cell was cut.
const Ellipsis = "…"

// runeWidth is the number of terminal cells r takes: 0 for combining marks
// and format characters, 2 for East Asian wide and fullwidth characters
// (CJK, most emoji), 1 otherwise.
func runeWidth(r rune) int {
	switch {
	case r < 0x20 || r == 0x7f:
		return 0
	case r < 0x300:
		return 1 // Latin and the like: the common case, no table lookup
	case unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf):
		return 0
	}
	switch width.LookupRune(r).Kind() {
	case width.EastAsianWide, width.EastAsianFullwidth:
		return 2
	}
	return 1
}

// DisplayWidth is the number of terminal cells s takes.
func DisplayWidth(s string) int {
	n := 0
	for _, r := range s {
		n += runeWidth(r)
	}
	return n
}

// cutWidth returns the longest prefix of s that fits in w cells.
func cutWidth(s string, w int) string {
	n := 0
	for i, r := range s {
		n += runeWidth(r)
		if n > w {
			return s[:i]
		}
	}
	return s
}

// tailWidth returns the longest suffix of s that fits in w cells.
func tailWidth(s string, w int) string {
	n := 0
	for i := len(s); i > 0; {
		r, size := utf8.DecodeLastRuneInString(s[:i])
		n += runeWidth(r)
		if n > w {
			return s[i:]
		}
		i -= size
	}
	return s
}

// TruncateMiddle fits a path in w cells by cutting it in the middle and
// keeping the file name: "catalog/2024/…/red-dress.jpg". A file name too
// long by itself is cut in its own middle, keeping its start and its
// extension: "…/red-dre…sleeves.jpg".
func TruncateMiddle(path string, w int) string {
	if DisplayWidth(path) <= w {
		return path
	}
	if w <= 0 {
		return ""
	}
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		base := path[i+1:]
		lead := Ellipsis + "/"
		if keep := w - DisplayWidth(lead) - DisplayWidth(base); keep >= 0 {
			return cutWidth(path[:i], keep) + lead + base
		}
		if w >= 12 {
			return lead + cutMiddle(base, w-DisplayWidth(lead))
		}
	}
	return cutMiddle(path, w)
}

// cutMiddle fits s in w cells keeping its start and (a little more of) its end.
func cutMiddle(s string, w int) string {
	room := w - DisplayWidth(Ellipsis)
	if room <= 0 {
		return cutWidth(Ellipsis, w)
	}
	head := cutWidth(s, room/2)
	return head + Ellipsis + tailWidth(s, room-DisplayWidth(head))
}

// Wrap breaks s into lines of at most w cells, at spaces where it can and
// inside words longer than a line.
func Wrap(s string, w int) []string {
	if w < 1 {
		w = 1
	}
	if DisplayWidth(s) <= w {
		return []string{s}
	}
	var lines []string
	line, lineW := "", 0
	for _, word := range strings.Fields(s) {
		ww := DisplayWidth(word)
		switch {
		case lineW > 0 && lineW+1+ww <= w:
			line += " " + word
			lineW += 1 + ww
			continue
		case lineW > 0:
			lines = append(lines, line)
			line, lineW = "", 0
		}
		for ww > w { // a word longer than a line is broken
			part := breakWord(word, w)
			lines = append(lines, part)
			word = word[len(part):]
			ww = DisplayWidth(word)
		}
		line, lineW = word, ww
	}
	if lineW > 0 || len(lines) == 0 {
		lines = append(lines, line)
	}
	return lines
}

// breakWord returns the first piece of a word too long for w cells: up to
// its last '/', '-', '_' or '.' that fits (owner/ | name, red- | dress), or
// as many characters as fit.
func breakWord(word string, w int) string {
	part := cutWidth(word, w)
	if i := strings.LastIndexAny(part, "/-_."); i > 0 && i+1 < len(part) {
		return part[:i+1]
	}
	if part == "" { // one rune wider than the column
		_, size := utf8.DecodeRuneInString(word)
		part = word[:size]
	}
	return part
}

// escapeControls makes a cell safe to draw: control characters (a newline
// or an escape sequence in a file name) are shown as \n, \t, \x1b, so no
// name can break a row or drive the terminal.
func escapeControls(s string) string {
	clean := true
	for _, r := range s {
		if isControlRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case isControlRune(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isControlRune(r rune) bool { return r < 0x20 || (r >= 0x7f && r < 0xa0) }
