package cli

import (
	"errors"
	"fmt"
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

// exitStatusHelp is appended to every command's help.
const exitStatusHelp = `EXIT STATUS
  0    success: every input was handled
  1    fatal: no model, no ONNX Runtime, unreadable file, no input found, or every input failed
  2    usage error: unknown flag, missing or contradictory arguments
  3    partial: the run finished but some inputs failed (each is named on stderr and in the output)
  130  interrupted (Ctrl-C)
`

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

// errSilentInterrupted ends a run with status 130 after a clean stop.
var errSilentInterrupted = &ExitError{Code: ExitInterrupted}

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
