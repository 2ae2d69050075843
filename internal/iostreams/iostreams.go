// Package iostreams carries the standard streams and what is known about them
// (terminal or pipe, colour allowed), so commands behave the same in tests.
package iostreams

import (
	"bytes"
	"io"
	"os"

	"golang.org/x/term"
)

// IOStreams is handed to every command instead of os.Stdin/Stdout/Stderr.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	stdinTTY, stdoutTTY, stderrTTY bool
	colorEnabled                   bool
	// Quiet suppresses progress and notes on stderr (errors still print).
	Quiet bool
	// TermWidth is the terminal's width, 0 when unknown.
	TermWidth int
}

// System returns streams bound to the process's own.
func System() *IOStreams {
	isTTY := func(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }
	s := &IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
		stdinTTY: isTTY(os.Stdin), stdoutTTY: isTTY(os.Stdout), stderrTTY: isTTY(os.Stderr)}
	s.colorEnabled = colorAllowed(s.stdoutTTY, os.Getenv)
	if s.stdoutTTY {
		if w, _, err := term.GetSize(int(os.Stdout.Fd())); err == nil {
			s.TermWidth = w
		}
	}
	return s
}

// colorAllowed: colour only on a terminal that can show it, and never when
// NO_COLOR holds a value (no-color.org).
func colorAllowed(stdoutTTY bool, getenv func(string) string) bool {
	return stdoutTTY && getenv("NO_COLOR") == "" && getenv("TERM") != "dumb"
}

// Test returns streams over buffers: stdin, stdout and stderr.
func Test() (*IOStreams, *bytes.Buffer, *bytes.Buffer, *bytes.Buffer) {
	in, out, errOut := &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: in, Out: out, ErrOut: errOut}, in, out, errOut
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
