package iostreams

import (
	"bytes"
	"io"
	"sync"
)

// clearLine returns to the line's start and erases it (ANSI EL 2).
const clearLine = "\r\x1b[2K"

// statusLine owns the last line of stderr while a progress bar is drawn
// there. The bar writes through ProgressWriter; every other write to stderr,
// and to stdout when it is the same terminal, first erases the bar, then
// draws it again below what was written, so rows and messages never share
// a line with it. The bar's last frame is remembered for that redraw.
type statusLine struct {
	mu     sync.Mutex
	errOut io.Writer // the real stderr
	frame  []byte    // the bar as drawn: its bytes after the last \r or \n
	shown  bool      // frame is on screen
	// midLine: the last write to the terminal left the cursor inside a
	// line; the bar waits for the line to end rather than overwrite it.
	midLine bool
}

// bind installs the coordinated writers. shared: stdout and stderr are one
// terminal.
func (s *IOStreams) bind(out, errOut io.Writer, shared bool) {
	s.status = &statusLine{errOut: errOut}
	s.ErrOut = &lineWriter{st: s.status, w: errOut}
	if shared {
		out = &lineWriter{st: s.status, w: out}
	}
	s.Out = stdout{Writer: out, s: s}
}

// stdout is Out: it also tells the tables of package output the width to
// fit, so every table a command draws on a terminal fits it.
type stdout struct {
	io.Writer
	s *IOStreams
}

// TermWidth is the width tables written here fit: IOStreams.TermWidth on
// a terminal, 0 (no fitting) in a pipe.
func (o stdout) TermWidth() int {
	if !o.s.stdoutTTY {
		return 0
	}
	return o.s.TermWidth
}

// ProgressWriter is the writer a progress bar draws on (stderr); see
// statusLine. A bar that clears itself when it finishes leaves nothing
// to redraw.
func (s *IOStreams) ProgressWriter() io.Writer {
	if s.status == nil { // streams built by hand: nothing to coordinate
		return s.ErrOut
	}
	return progressWriter{st: s.status}
}

// lineWriter is stdout or stderr on the bar's terminal.
type lineWriter struct {
	st *statusLine
	w  io.Writer
}

func (l *lineWriter) Write(p []byte) (int, error) {
	st := l.st
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(p) == 0 {
		return 0, nil
	}
	if st.shown {
		io.WriteString(st.errOut, clearLine)
		st.shown = false
	}
	n, err := l.w.Write(p)
	st.midLine = p[len(p)-1] != '\n'
	st.redraw()
	return n, err
}

// redraw puts the bar back when the cursor is at a line's start.
func (st *statusLine) redraw() {
	if st.midLine || st.shown || len(bytes.TrimSpace(st.frame)) == 0 {
		return
	}
	st.errOut.Write(st.frame)
	st.shown = true
}

type progressWriter struct{ st *statusLine }

func (pw progressWriter) Write(p []byte) (int, error) {
	st := pw.st
	st.mu.Lock()
	defer st.mu.Unlock()
	frame := append(st.frame, p...)
	if i := bytes.LastIndexAny(frame, "\r\n"); i >= 0 {
		frame = frame[i+1:]
	}
	st.frame = append(st.frame[:0:0], frame...)
	if st.midLine {
		return len(p), nil // drawn once the other line ends
	}
	if !st.shown && bytes.IndexByte(p, '\n') < 0 {
		// Not on screen (erased for a write, or never drawn): draw the
		// whole frame, not a fragment.
		if _, err := io.WriteString(st.errOut, clearLine); err != nil {
			return 0, err
		}
		if _, err := st.errOut.Write(st.frame); err != nil {
			return 0, err
		}
		st.shown = len(bytes.TrimSpace(st.frame)) > 0
		return len(p), nil
	}
	_, err := st.errOut.Write(p)
	st.shown = len(bytes.TrimSpace(st.frame)) > 0
	return len(p), err
}
