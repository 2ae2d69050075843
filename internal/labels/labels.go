// Package labels holds the rules for label lists people type: how a
// comma-separated list splits, which lines of a list file count, and which
// labels are one and the same to the model.
package labels

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"strings"

	"github.com/fashionclip/fashionclip/pkg/tokenizer"
)

// SyntaxError is a list Split cannot read.
type SyntaxError struct {
	List   string
	Reason string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("labels %q: %s", e.List, e.Reason) }

// Split reads a comma-separated list of labels. Fields are trimmed and
// empty ones dropped. A field whose first non-space character is `"` is
// CSV-quoted: it runs to the closing quote, `""` inside it stands for one
// `"`, and only spaces may follow before the next comma; so `"a, b",c` is
// two labels. A `"` anywhere else is an ordinary character: `3" heel` is a
// label (CSV would refuse it, and applying CSV's rule silently surprised
// people).
func Split(list string) ([]string, error) {
	var out []string
	rest := list
	for {
		field := strings.TrimLeft(rest, " \t")
		var label string
		if strings.HasPrefix(field, `"`) {
			text, after, err := unquote(field)
			if err != nil {
				return nil, &SyntaxError{List: list, Reason: err.Error()}
			}
			after = strings.TrimLeft(after, " \t")
			if after != "" && after[0] != ',' {
				return nil, &SyntaxError{List: list, Reason: fmt.Sprintf("text after the quoted label %q (quote the whole label, or write the quote later in it)", text)}
			}
			label, rest = text, after
		} else {
			i := strings.IndexByte(field, ',')
			if i < 0 {
				i = len(field)
			}
			label, rest = field[:i], field[i:]
		}
		if label = strings.TrimSpace(label); label != "" {
			out = append(out, label)
		}
		if rest == "" {
			return out, nil
		}
		rest = rest[1:] // the comma
	}
}

// unquote reads the quoted field at the start of s (s[0] is `"`): its
// text and what follows the closing quote.
func unquote(s string) (text, after string, err error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		if s[i] != '"' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == '"' {
			b.WriteByte('"')
			i++
			continue
		}
		return b.String(), s[i+1:], nil
	}
	return "", "", fmt.Errorf("a quote opened at %q is never closed", shorten(s))
}

func shorten(s string) string {
	if r := []rune(s); len(r) > 20 {
		return string(r[:20]) + "…"
	}
	return s
}

// ReadLines reads a list file (labels, templates, texts): one entry a line,
// trimmed. Blank lines are skipped, and so is a line whose first non-space
// character is `#`, a comment; a leading byte-order mark is dropped.
func ReadLines(r io.Reader) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	first := true
	for sc.Scan() {
		line := sc.Bytes()
		if first {
			line, first = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf")), false
		}
		l := strings.TrimSpace(string(line))
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		out = append(out, l)
	}
	return out, sc.Err()
}

// DuplicateError is two labels the model cannot tell apart: they tokenize
// to the same ids, so softmax would split one probability between them.
type DuplicateError struct {
	Label   string // the later one
	Earlier string // the first one it repeats (== Label for an exact repeat)
}

func (e *DuplicateError) Error() string {
	if e.Label == e.Earlier {
		return fmt.Sprintf("label %q is given twice", e.Label)
	}
	return fmt.Sprintf("labels %q and %q are the same to the model (the tokenizer lowercases, collapses spaces and cuts long texts): keep one", e.Earlier, e.Label)
}

// CheckDistinct returns a *DuplicateError for the first label that encodes
// to the same token ids as an earlier one. encode is the model's tokenizer
// (tokenizer.Tokenizer.Encode), so "Dress" and "dress " count as one, by the
// tokenizer's own normalisation rather than a copy of it.
func CheckDistinct(labels []string, encode func(string) []int64) error {
	seen := make(map[string]string, len(labels))
	for _, l := range labels {
		ids := encode(l)
		key := string(int64Bytes(ids))
		if prev, ok := seen[key]; ok {
			return &DuplicateError{Label: l, Earlier: prev}
		}
		seen[key] = l
	}
	return nil
}

func int64Bytes(ids []int64) []byte {
	b := make([]byte, 0, 8*len(ids))
	for _, id := range ids {
		b = binary.LittleEndian.AppendUint64(b, uint64(id))
	}
	return b
}

// Truncated returns the texts tok cuts to its MaxLength (CLIP keeps 77
// tokens, start and end included), in order: their ends never reach the
// model, which callers should say.
func Truncated(texts []string, tok *tokenizer.Tokenizer) []string {
	if tok.MaxLength <= 0 {
		return nil
	}
	// One token more than the limit tells a cut text from one that fits
	// exactly, in one encode whose cost stays bounded however long the
	// text (an unlimited encode of a 30 MB line would not).
	over := *tok
	over.MaxLength = tok.MaxLength + 1
	var out []string
	for _, t := range texts {
		if len(over.Encode(t)) > tok.MaxLength {
			out = append(out, t)
		}
	}
	return out
}
