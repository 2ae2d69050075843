// Package cmdtest helps the command packages' tests run a command's flag
// handling through its runF, without loading a model or opening a file.
package cmdtest

import (
	"io"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/fashionclip/fashionclip/internal/cmdutil"
	"github.com/fashionclip/fashionclip/internal/iostreams"
)

// Parse builds the command with newCmd over test streams and the given
// environment, runs it with args, and returns the options its runF saw
// (nil when it stopped before) and the error.
func Parse[O any](t testing.TB, newCmd func(*cmdutil.Factory, func(*O) error) *cobra.Command, env map[string]string, args ...string) (*O, error) {
	t.Helper()
	ios, _, _, _ := iostreams.Test()
	var got *O
	cmd := newCmd(cmdutil.NewFactory(ios, func(k string) string { return env[k] }), func(o *O) error { got = o; return nil })
	cmd.SetArgs(args)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	err := cmd.Execute()
	return got, err
}

// WantUsageError fails the test unless err is a usage error (exit 2)
// whose message contains want.
func WantUsageError(t testing.TB, err error, want string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), want) || cmdutil.ExitCode(err) != cmdutil.ExitUsage {
		t.Fatalf("got %v (exit %d), want a usage error naming %q", err, cmdutil.ExitCode(err), want)
	}
}
