package output

import (
	"io"
	"strings"
)

// ColumnKind says how a column is drawn and how it gives way when the table
// is wider than the terminal.
type ColumnKind int

const (
	// TextColumn wraps at spaces (the default).
	TextColumn ColumnKind = iota
	// PathColumn is cut in the middle, keeping the file name, to fit the
	// terminal; with no width to fit it wraps, so no character is lost.
	PathColumn
	// NumberColumn is right-aligned; only its header wraps, so it is never
	// narrower than its widest number.
	NumberColumn
	// KeepColumn is never narrowed (short words: "yes", a dtype).
	KeepColumn
)

// Narrowest widths a column is shrunk to before the table overflows.
const (
	minTextWidth = 10
	minPathWidth = 16
)

// TableOptions shape a table.
type TableOptions struct {
	// Width, when positive, is the width to fit (the terminal's; see
	// iostreams.IOStreams.TermWidth): text columns wrap and paths are cut
	// in the middle until the table fits or every column is at its
	// narrowest. 0: the writer's width when it is a TermWidther, else
	// every cell is drawn whole.
	Width int
	// Plain writes gh's pipe form instead of a drawing (see Plain).
	Plain bool
	// Kinds gives each column's kind, in order; missing ones are text.
	Kinds []ColumnKind
}

// TableWriter draws rows as one boxed table. Rows wait until Flush (or
// Close), where the column widths are fixed from the header and the rows so
// far; the table then stays open, and rows appended later are drawn with
// those widths (a longer cell wraps, or is cut if it is a path and a width
// is set), so a long run streams into a single table. Each row is one Write
// call, so a terminal coordinator can keep a progress bar off it.
type TableWriter struct {
	w      io.Writer
	opts   TableOptions
	header []string
	rows   [][]string
	widths []int // set once the table is open
	err    error
}

// NewTableWriter starts a table with the given header and default options.
func NewTableWriter(w io.Writer, header ...string) *TableWriter {
	return NewTable(w, TableOptions{}, header...)
}

// NewTable starts a table with the given options and header. With no
// Width, a writer that knows its terminal's width (see TermWidther) gives
// it.
func NewTable(w io.Writer, opts TableOptions, header ...string) *TableWriter {
	if tw, ok := w.(TermWidther); ok && opts.Width == 0 {
		opts.Width = tw.TermWidth()
	}
	return &TableWriter{w: w, opts: opts, header: header}
}

// TermWidther is a stream that knows the width tables drawn on it must fit:
// iostreams' stdout, which reports the terminal's width and 0 in a pipe.
type TermWidther interface {
	TermWidth() int
}

// Append adds a row (missing cells are empty, extra ones dropped).
func (t *TableWriter) Append(fields ...string) {
	row := make([]string, len(t.header))
	copy(row, fields)
	t.rows = append(t.rows, row)
}

// Len is the number of rows waiting.
func (t *TableWriter) Len() int { return len(t.rows) }

// Started reports whether the table is open (its header drawn): from then
// on a caller that streams flushes after every row.
func (t *TableWriter) Started() bool { return t.widths != nil }

// Flush draws the waiting rows, opening the table first if need be.
func (t *TableWriter) Flush() error {
	if t.err != nil || len(t.rows) == 0 {
		return t.err
	}
	var b strings.Builder
	if t.opts.Plain {
		for _, r := range t.rows {
			for i, c := range r {
				if i > 0 {
					b.WriteByte('\t')
				}
				b.WriteString(EscapeTSV(c))
			}
			b.WriteByte('\n')
		}
		t.rows = t.rows[:0]
		return t.write(b.String())
	}
	for _, r := range t.rows {
		for i := range r {
			r[i] = escapeControls(r[i])
		}
	}
	if t.widths == nil {
		for i := range t.header {
			t.header[i] = escapeControls(t.header[i])
		}
		t.widths = t.fit()
		t.rule(&b, "┌", "┬", "┐")
		t.line(&b, t.header, true)
		t.rule(&b, "├", "┼", "┤")
		if err := t.write(b.String()); err != nil {
			return err
		}
		b.Reset()
	}
	for _, r := range t.rows {
		t.line(&b, r, false)
		// One Write a row: a progress bar is cleared and redrawn around it.
		if err := t.write(b.String()); err != nil {
			return err
		}
		b.Reset()
	}
	t.rows = t.rows[:0]
	return nil
}

// Close draws what is left and the table's bottom border. A table that
// never had a row draws nothing.
func (t *TableWriter) Close() error {
	if err := t.Flush(); err != nil || t.widths == nil || t.opts.Plain {
		return err
	}
	var b strings.Builder
	t.rule(&b, "└", "┴", "┘")
	return t.write(b.String())
}

func (t *TableWriter) write(s string) error {
	if _, err := io.WriteString(t.w, s); err != nil {
		t.err = err
	}
	return t.err
}

func (t *TableWriter) kind(i int) ColumnKind {
	if i < len(t.opts.Kinds) {
		return t.opts.Kinds[i]
	}
	return TextColumn
}

// fit picks the column widths: each column's widest cell, then, while the
// table is wider than opts.Width, the widest column that may shrink loses
// a cell (so long columns give way first and evenly). A path counts as
// two thirds of its width: cutting it loses characters, wrapping text
// does not.
func (t *TableWriter) fit() []int {
	n := len(t.header)
	widths := make([]int, n)
	floor := make([]int, n)
	for i, h := range t.header {
		widths[i] = DisplayWidth(h)
	}
	for _, r := range t.rows {
		for i, c := range r {
			widths[i] = max(widths[i], DisplayWidth(c))
		}
	}
	for i := range widths {
		widths[i] = max(widths[i], 1)
		switch t.kind(i) {
		case TextColumn:
			floor[i] = min(widths[i], minTextWidth)
		case PathColumn:
			floor[i] = min(widths[i], minPathWidth)
		case NumberColumn:
			floor[i] = 1
			for _, r := range t.rows {
				floor[i] = max(floor[i], DisplayWidth(r[i]))
			}
		default:
			floor[i] = widths[i]
		}
	}
	if t.opts.Width <= 0 {
		return widths
	}
	total := 3*n + 1
	for _, w := range widths {
		total += w
	}
	for total > t.opts.Width {
		widest := -1
		for i := range widths {
			if widths[i] > floor[i] && (widest < 0 || t.weight(i, widths[i]) > t.weight(widest, widths[widest])) {
				widest = i
			}
		}
		if widest < 0 {
			break // every column at its narrowest: the table overflows
		}
		widths[widest]--
		total--
	}
	return widths
}

func (t *TableWriter) weight(i, w int) int {
	if t.kind(i) == PathColumn {
		return 2 * w
	}
	return 3 * w
}

// Overflows reports whether the rows appended so far cannot fit
// opts.Width even with every column at its narrowest: a caller can then
// choose a narrower layout (numbered columns and a legend, say).
func (t *TableWriter) Overflows() bool {
	if t.opts.Width <= 0 || t.opts.Plain {
		return false
	}
	widths := t.widths
	if widths == nil {
		widths = t.fit()
	}
	total := 3*len(widths) + 1
	for _, w := range widths {
		total += w
	}
	return total > t.opts.Width
}

func (t *TableWriter) rule(b *strings.Builder, left, mid, right string) {
	b.WriteString(left)
	for i, w := range t.widths {
		if i > 0 {
			b.WriteString(mid)
		}
		b.WriteString(strings.Repeat("─", w+2))
	}
	b.WriteString(right)
	b.WriteByte('\n')
}

// line draws one row, as many terminal lines as its tallest cell needs.
func (t *TableWriter) line(b *strings.Builder, cells []string, header bool) {
	parts := make([][]string, len(cells))
	height := 1
	for i, c := range cells {
		w := t.widths[i]
		switch {
		case header:
			parts[i] = Wrap(c, w)
		case DisplayWidth(c) <= w:
			parts[i] = []string{c}
		case t.kind(i) == PathColumn && t.opts.Width > 0:
			parts[i] = []string{TruncateMiddle(c, w)}
		case t.kind(i) == TextColumn:
			parts[i] = Wrap(c, w)
		default:
			parts[i] = hardWrap(c, w)
		}
		height = max(height, len(parts[i]))
	}
	for l := 0; l < height; l++ {
		b.WriteString("│")
		for i, p := range parts {
			if i > 0 {
				b.WriteString("│")
			}
			s := ""
			if l < len(p) {
				s = p[l]
			}
			pad := strings.Repeat(" ", max(t.widths[i]-DisplayWidth(s), 0))
			b.WriteByte(' ')
			if t.kind(i) == NumberColumn && !header {
				b.WriteString(pad + s)
			} else {
				b.WriteString(s + pad)
			}
			b.WriteByte(' ')
		}
		b.WriteString("│\n")
	}
}

// hardWrap cuts s into pieces of w cells, ignoring spaces (paths, numbers).
func hardWrap(s string, w int) []string {
	var out []string
	for DisplayWidth(s) > w {
		part := cutWidth(s, max(w, 1))
		if part == "" {
			part = s[:len(string([]rune(s)[0]))]
		}
		out = append(out, part)
		s = s[len(part):]
	}
	return append(out, s)
}
