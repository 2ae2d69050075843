// Package iostreams carries the standard streams and what is known about them
// (terminal or pipe, colour allowed, width), so commands behave the same in
// tests. On a terminal it keeps a progress bar and the output apart: see
// ProgressWriter.
package iostreams

import (
	"bytes"
	"io"
	"os"
	"strconv"

	"golang.org/x/term"
)

// IOStreams is handed to every command instead of os.Stdin/Stdout/Stderr.
type IOStreams struct {
	In io.Reader
	// Out and ErrOut clear a progress bar drawn by ProgressWriter before
	// each write and draw it again after (Out only when stdout and stderr
	// are the same terminal): write results and messages through them.
	Out    io.Writer
	ErrOut io.Writer

	stdinTTY, stdoutTTY, stderrTTY bool
	colorEnabled                   bool
	// Quiet suppresses progress and notes on stderr (errors still print).
	Quiet bool
	// TermWidth is the width tables fit when stdout is a terminal: $COLUMNS
	// when it holds a positive number, else the terminal's own width (80
	// when it cannot be read); 0 when stdout is not a terminal.
	TermWidth int

	status *statusLine
}

// System returns streams bound to the process's own.
func System() *IOStreams {
	isTTY := func(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }
	s := &IOStreams{In: os.Stdin,
		stdinTTY: isTTY(os.Stdin), stdoutTTY: isTTY(os.Stdout), stderrTTY: isTTY(os.Stderr)}
	s.colorEnabled = colorAllowed(s.stdoutTTY, os.Getenv)
	s.TermWidth = fitWidth(s.stdoutTTY, func() (int, error) {
		w, _, err := term.GetSize(int(os.Stdout.Fd()))
		return w, err
	}, os.Getenv)
	s.bind(os.Stdout, os.Stderr, s.stdoutTTY && s.stderrTTY && sameFile(os.Stdout, os.Stderr))
	return s
}

// sameFile reports whether two streams are one terminal (tmux, a plain
// shell): then a stdout write lands on the progress bar's line.
func sameFile(a, b *os.File) bool {
	sa, err1 := a.Stat()
	sb, err2 := b.Stat()
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

// fitWidth is TermWidth's rule.
func fitWidth(stdoutTTY bool, size func() (int, error), getenv func(string) string) int {
	if !stdoutTTY {
		return 0
	}
	if n, err := strconv.Atoi(getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	if w, err := size(); err == nil && w > 0 {
		return w
	}
	return 80
}

// colorAllowed: colour only on a terminal that can show it, and never when
// NO_COLOR holds a value (no-color.org).
func colorAllowed(stdoutTTY bool, getenv func(string) string) bool {
	return stdoutTTY && getenv("NO_COLOR") == "" && getenv("TERM") != "dumb"
}

// Test returns streams over buffers: stdin, stdout and stderr.
func Test() (*IOStreams, *bytes.Buffer, *bytes.Buffer, *bytes.Buffer) {
	in, out, errOut := &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	s := &IOStreams{In: in}
	s.bind(out, errOut, false)
	return s, in, out, errOut
}

// SetTTY pretends, in tests, that the streams are terminals or pipes.
func (s *IOStreams) SetTTY(stdin, stdout, stderr bool) {
	s.stdinTTY, s.stdoutTTY, s.stderrTTY = stdin, stdout, stderr
}

// SetColorEnabled overrides colour detection.
func (s *IOStreams) SetColorEnabled(on bool) { s.colorEnabled = on }

func (s *IOStreams) IsStdinTTY() bool  { return s.stdinTTY }
func (s *IOStreams) IsStdoutTTY() bool { return s.stdoutTTY }
func (s *IOStreams) IsStderrTTY() bool { return s.stderrTTY }
func (s *IOStreams) ColorEnabled() bool {
	return s.colorEnabled
}

// ShowProgress reports whether a progress bar belongs on stderr.
func (s *IOStreams) ShowProgress() bool { return s.stderrTTY && !s.Quiet }
