package source

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// sniffBytes is how much of a "-" list is checked for being text: enough
// for any image or archive header and a few hundred paths.
const sniffBytes = 8 << 10

// ListProblem says why standard input is not a path list.
type ListProblem int

const (
	// ListImage: the input starts with an image's magic bytes.
	ListImage ListProblem = iota + 1
	// ListNUL: NUL bytes in a line-separated list (find -print0 output read
	// as lines, or binary data).
	ListNUL
	// ListInvalidUTF8: bytes that are not UTF-8 in a line-separated list.
	ListInvalidUTF8
	// ListControl: control characters other than tab, newline and carriage
	// return, which no file name a person typed holds.
	ListControl
)

// NotAListError refuses a "-" input that is not a list of paths. It names
// no flag: the caller adds the remedy (for ListNUL, reading NUL-separated).
type NotAListError struct {
	Problem ListProblem
	// Format is the image format, for ListImage.
	Format string
	// Offset is where in the input the problem was seen.
	Offset int64
}

func (e *NotAListError) Error() string {
	switch e.Problem {
	case ListImage:
		return fmt.Sprintf("standard input holds %s image data, not a list of paths", e.Format)
	case ListNUL:
		return fmt.Sprintf("standard input holds a NUL byte (at byte %d): it is binary data or a NUL-separated list, not a list of paths one a line", e.Offset)
	case ListInvalidUTF8:
		return fmt.Sprintf("standard input is not text (invalid UTF-8 at byte %d), not a list of paths one a line", e.Offset)
	default:
		return fmt.Sprintf("standard input is not text (a control character at byte %d), not a list of paths", e.Offset)
	}
}

// listChecker passes a path list through, refusing it when its first
// sniffBytes are not text. It checks what each Read brings, so a slow
// producer's first path is used at once rather than after 8 KiB; the bytes
// of a UTF-8 sequence split across reads are held back until complete, so
// no unchecked byte ever reaches the caller.
type listChecker struct {
	r      io.Reader
	nul    bool // NUL-separated: NULs are separators, names are bytes
	format func([]byte) string
	head   []byte // the input's first headBytes, for the image check
	headOK bool   // head checked and not an image
	held   []byte // checked-later bytes: an incomplete UTF-8 sequence
	off    int64  // input bytes passed on (checked)
	err    error  // sticky
}

// headBytes is what the image check sees.
const headBytes = 64

func (c *listChecker) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if c.off >= sniffBytes || len(p) <= len(c.held) {
		if len(c.held) > 0 {
			n := copy(p, c.held)
			c.held = c.held[n:]
			c.off += int64(n)
			return n, nil
		}
		return c.r.Read(p)
	}
	for {
		k := copy(p, c.held)
		n, rerr := c.r.Read(p[k:])
		chunk := p[:k+n]
		good, problem := c.check(chunk, rerr != nil)
		if problem != nil {
			c.err = c.preferImage(problem)
			return 0, c.err
		}
		c.held = append(c.held[:0], chunk[good:]...)
		c.off += int64(good)
		if good > 0 || rerr != nil {
			return good, rerr
		}
	}
}

// check looks at chunk, which starts at input offset c.off (atEnd: nothing
// follows). It returns how many leading bytes are text; the rest (an
// incomplete UTF-8 sequence) waits for the next read.
func (c *listChecker) check(chunk []byte, atEnd bool) (int, error) {
	if have := int64(len(c.head)); have < headBytes && have >= c.off {
		from := have - c.off
		c.head = append(c.head, chunk[from:min(int64(len(chunk)), from+headBytes-have)]...)
	}
	if !c.headOK && (len(c.head) >= headBytes || atEnd) {
		if err := c.imageHead(); err != nil {
			return 0, err
		}
	}
	window := chunk[:min(int64(len(chunk)), max(sniffBytes-c.off, 0))]
	at := func(i int) int64 { return c.off + int64(i) }
	if c.nul {
		// A NUL-separated list holds names as bytes, in any encoding.
		for i, x := range window {
			if isControl(x) && x != 0 {
				return 0, &NotAListError{Problem: ListControl, Offset: at(i)}
			}
		}
		return len(chunk), nil
	}
	for i := 0; i < len(window); {
		x := window[i]
		if x < utf8.RuneSelf {
			switch {
			case x == 0:
				return 0, &NotAListError{Problem: ListNUL, Offset: at(i)}
			case isControl(x):
				return 0, &NotAListError{Problem: ListControl, Offset: at(i)}
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(window[i:])
		if r == utf8.RuneError && size <= 1 {
			if !atEnd && !utf8.FullRune(chunk[i:]) {
				return i, nil // completed by the next read
			}
			return 0, &NotAListError{Problem: ListInvalidUTF8, Offset: at(i)}
		}
		i += size
	}
	return len(chunk), nil
}

// isControl: C0 controls other than tab, newline and carriage return, and
// DEL, which no file name a person typed holds.
func isControl(x byte) bool {
	return x < 0x20 && x != '\t' && x != '\n' && x != '\r' || x == 0x7f
}

// preferImage names an image piped in by mistake rather than the binary
// byte that gave it away, reading the rest of its header if need be.
func (c *listChecker) preferImage(problem error) error {
	if c.format == nil {
		return problem
	}
	var buf [headBytes]byte
	for len(c.head) < headBytes {
		n, err := c.r.Read(buf[:headBytes-len(c.head)])
		c.head = append(c.head, buf[:n]...)
		if err != nil {
			break
		}
	}
	if err := c.imageHead(); err != nil {
		return err
	}
	return problem
}

func (c *listChecker) imageHead() error {
	if c.format == nil || len(c.head) == 0 {
		return nil
	}
	if f := c.format(c.head); f != "" {
		return &NotAListError{Problem: ListImage, Format: f}
	}
	c.headOK = true
	return nil
}

// stdin walks the paths listed on standard input.
func (w *walker) stdin() error {
	if w.opts.Stdin == nil {
		return errors.New("'-' given but there is no standard input")
	}
	in := &listChecker{r: w.opts.Stdin, nul: w.opts.NullSeparated, format: w.opts.ImageFormat}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	if w.opts.NullSeparated {
		sc.Split(splitNUL)
	}
	for sc.Scan() {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		line := sc.Text()
		if !w.opts.NullSeparated {
			line = strings.TrimSuffix(line, "\r")
			if strings.TrimSpace(line) == "" {
				continue
			}
		} else if line == "" {
			continue
		}
		if err := w.arg(line); err != nil {
			return err
		}
	}
	return sc.Err()
}

func splitNUL(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexByte(data, 0); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}
