package cmdutil

import (
	"errors"
	"fmt"
	"strings"
)

// Exit statuses, the same for every command (documented under EXIT STATUS in
// each command's help and in the README).
const (
	ExitOK          = 0   // every input handled
	ExitFatal       = 1   // nothing useful could be done (no model, no runtime, ...)
	ExitUsage       = 2   // bad flags or arguments
	ExitPartial     = 3   // finished, but some inputs failed
	ExitInterrupted = 130 // stopped by Ctrl-C / SIGTERM
)

// exitStatuses are documented in every command's help and man page.
var exitStatuses = []struct {
	code           int
	short, meaning string
}{
	{ExitOK, "success", "success: every input was handled"},
	{ExitFatal, "fatal", "fatal: no model, no runtime, no input found, or every input failed"},
	{ExitUsage, "usage error", "usage error: unknown flag or command, missing or contradictory arguments"},
	{ExitPartial, "some inputs failed (named on stderr)", "partial: the run finished but some inputs failed (each is named on stderr)"},
	{ExitInterrupted, "interrupted", "interrupted (Ctrl-C, SIGTERM)"},
}

// ExitStatusHelp ends every command's help: the statuses, compactly.
var ExitStatusHelp = func() string {
	parts := make([]string, len(exitStatuses))
	for i, e := range exitStatuses {
		parts[i] = fmt.Sprintf("%d %s", e.code, e.short)
	}
	return "EXIT STATUS  " + strings.Join(parts[:3], " · ") + "\n             " + strings.Join(parts[3:], " · ")
}()

// ExitStatusTable is the statuses as a man page section body.
func ExitStatusTable() string {
	var b strings.Builder
	for _, e := range exitStatuses {
		fmt.Fprintf(&b, "  %-4d %s\n", e.code, e.meaning)
	}
	return b.String()
}

// ExitError carries an exit status with the error to print.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// UsageError marks a mistake in how the command was called.
func UsageError(format string, args ...any) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, args...)}
}

// ErrSilentInterrupted ends a run with status 130 after a clean stop.
var ErrSilentInterrupted = &ExitError{Code: ExitInterrupted}

// ExitCode maps an error returned by a command to the process status.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return ExitFatal
}

// Plural is "1 item", "2 items", "3 indexes": counts in messages.
func Plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	switch {
	case strings.HasSuffix(noun, "s"), strings.HasSuffix(noun, "x"), strings.HasSuffix(noun, "ch"), strings.HasSuffix(noun, "sh"):
		return fmt.Sprintf("%d %ses", n, noun)
	case strings.HasSuffix(noun, "y") && !strings.HasSuffix(noun, "ay") && !strings.HasSuffix(noun, "ey"):
		return fmt.Sprintf("%d %sies", n, strings.TrimSuffix(noun, "y"))
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
