package iostreams

import (
	"bytes"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// TestTerminal returns streams whose stdout and stderr are one fake
// terminal of the given width, as in a plain shell or tmux: every stream
// is a TTY and TermWidth is width. What a person would see is read back
// from the Screen.
func TestTerminal(width int) (*IOStreams, *bytes.Buffer, *Screen) {
	in := &bytes.Buffer{}
	scr := &Screen{Width: width}
	s := &IOStreams{In: in, TermWidth: width, stdinTTY: true, stdoutTTY: true, stderrTTY: true}
	s.bind(scr, scr, true)
	return s, in, scr
}

// Screen is a minimal terminal for tests: it keeps the lines a person would
// see, honouring carriage return, newline, tab stops every 8 columns, line
// wrap at Width, and the
// erase-in-line (ESC [ K, ESC [ 2 K) and cursor-motion sequences progress
// bars use. Raw holds every byte written.
type Screen struct {
	Width int

	mu       sync.Mutex
	lines    [][]rune
	row, col int
	pending  []byte // an incomplete escape sequence or UTF-8 rune
	Raw      bytes.Buffer
}

func (s *Screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Raw.Write(p)
	data := append(s.pending, p...)
	s.pending = nil
	for i := 0; i < len(data); {
		c := data[i]
		switch {
		case c == '\r':
			s.col = 0
			i++
		case c == '\n':
			s.row++
			s.col = 0
			i++
		case c == 0x1b:
			n, ok := s.escape(data[i:])
			if !ok {
				s.pending = append([]byte(nil), data[i:]...)
				return len(p), nil
			}
			i += n
		case c == '\t':
			s.col = (s.col/8 + 1) * 8
			if s.Width > 0 {
				s.col = min(s.col, s.Width-1)
			}
			i++
		case c < 0x20:
			i++ // other controls move nothing here
		default:
			if !utf8.FullRune(data[i:]) {
				s.pending = append([]byte(nil), data[i:]...)
				return len(p), nil
			}
			r, size := utf8.DecodeRune(data[i:])
			s.put(r)
			i += size
		}
	}
	return len(p), nil
}

func (s *Screen) line() []rune {
	for len(s.lines) <= s.row {
		s.lines = append(s.lines, nil)
	}
	return s.lines[s.row]
}

func (s *Screen) put(r rune) {
	if s.Width > 0 && s.col >= s.Width { // auto-wrap, as terminals do
		s.row++
		s.col = 0
	}
	l := s.line()
	for len(l) <= s.col {
		l = append(l, ' ')
	}
	l[s.col] = r
	s.lines[s.row] = l
	s.col++
}

// escape applies one CSI sequence at the start of b; ok is false when b
// ends inside it.
func (s *Screen) escape(b []byte) (n int, ok bool) {
	if len(b) < 2 {
		return 0, false
	}
	if b[1] != '[' {
		return 2, true
	}
	for j := 2; j < len(b); j++ {
		if b[j] >= 0x40 && b[j] <= 0x7e {
			arg, _ := strconv.Atoi(string(b[2:j]))
			s.csi(b[j], string(b[2:j]), arg)
			return j + 1, true
		}
	}
	return 0, false
}

func (s *Screen) csi(final byte, raw string, arg int) {
	move := max(arg, 1)
	switch final {
	case 'K':
		l := s.line()
		switch raw {
		case "", "0":
			if s.col < len(l) {
				s.lines[s.row] = l[:s.col]
			}
		case "1":
			for i := 0; i < min(s.col+1, len(l)); i++ {
				l[i] = ' '
			}
		case "2":
			s.lines[s.row] = nil
		}
	case 'A':
		s.row = max(s.row-move, 0)
	case 'B':
		s.row += move
	case 'C':
		s.col += move
	case 'D':
		s.col = max(s.col-move, 0)
	case 'G':
		s.col = max(arg-1, 0)
	}
}

// Lines returns the screen's lines, trailing spaces trimmed, without the
// empty line the cursor may sit on at the end.
func (s *Screen) Lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.lines))
	for i, l := range s.lines {
		out[i] = strings.TrimRight(string(l), " ")
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}

// String is the screen as text, one line each.
func (s *Screen) String() string { return strings.Join(s.Lines(), "\n") }

// ExpandTabs is the line as Screen shows it: tabs moved to stops every 8
// columns, trailing spaces trimmed.
func ExpandTabs(line string) string {
	var b strings.Builder
	col := 0
	for _, r := range line {
		if r == '\t' {
			pad := 8 - col%8
			b.WriteString(strings.Repeat(" ", pad))
			col += pad
			continue
		}
		b.WriteRune(r)
		col++
	}
	return strings.TrimRight(b.String(), " ")
}
