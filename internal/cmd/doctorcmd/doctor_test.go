package doctorcmd

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fashionclip/fashionclip/internal/cmdutil"
	"github.com/fashionclip/fashionclip/internal/doctor"
	"github.com/fashionclip/fashionclip/internal/iostreams"
	"github.com/fashionclip/fashionclip/internal/ortlib"
	"github.com/fashionclip/fashionclip/internal/output"
)

// fakeChecker is a doctor on fakes whose runtime fails as given.
func fakeChecker(t *testing.T, model string, rtErr error) *doctor.Checker {
	c := newChecker(cmdutil.NewFactory(iostreams.System(), func(string) string { return "" }))
	c.LoadRuntime = func() (doctor.Runtime, error) {
		return doctor.Runtime{Path: "/x/libonnxruntime.so.1", Source: "flag", Version: "1.24.3"}, rtErr
	}
	c.Model, c.Hub.Offline, c.Hub.CacheDir, c.CacheDir = model, true, t.TempDir(), t.TempDir()
	return c
}

func TestDoctorLinesAndExit(t *testing.T) {
	model := t.TempDir()
	os.WriteFile(filepath.Join(model, "model.onnx"), nil, 0o644)
	cases := []struct {
		name  string
		rtErr error
		code  int
		lines []string
	}{
		{"ready", nil, 0, []string{"ok    onnxruntime    1.24.3 at /x/libonnxruntime.so.1 (named explicitly)", "ok    model ", "skip  hub", "fashionclip can classify"}},
		{"runtime missing", &ortlib.NotFoundError{Tried: []string{"/nowhere"}}, 1,
			[]string{"FAIL  onnxruntime    ONNX Runtime library not found (looked in: /nowhere); fix: run `fashionclip runtime install`", "fashionclip cannot classify yet"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			io, _, out, errOut := iostreams.Test()
			f := cmdutil.NewFactory(io, func(string) string { return "" })
			err := doctorRun(context.Background(), &DoctorOptions{f: f, Format: output.Table, Checker: fakeChecker(t, model, c.rtErr)})
			if cmdutil.ExitCode(err) != c.code {
				t.Errorf("exit %d, want %d:\n%s", cmdutil.ExitCode(err), c.code, out)
			}
			for _, want := range c.lines {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			if n := strings.Count(out.String(), "\n"); n != 8 {
				t.Errorf("%d lines, want 7 checks + a summary:\n%s", n, out)
			}
			if errOut.Len() != 0 {
				t.Errorf("stderr should be empty (the report is the output), got %q", errOut)
			}
		})
	}
}

func TestDoctorColourOnlyWhenEnabled(t *testing.T) {
	for _, colour := range []bool{true, false} {
		io, _, out, _ := iostreams.Test()
		io.SetTTY(true, true, true)
		io.SetColorEnabled(colour)
		f := cmdutil.NewFactory(io, func(string) string { return "" })
		doctorRun(context.Background(), &DoctorOptions{f: f, Format: output.Table, Checker: fakeChecker(t, t.TempDir(), errors.New("no runtime"))})
		got := out.String()
		if hasEscapes := strings.Contains(got, "\x1b["); hasEscapes != colour {
			t.Errorf("colour %v: escapes present %v:\n%q", colour, hasEscapes, got)
		}
		if colour && (!strings.Contains(got, ansiGreen+"ok"+ansiReset) || !strings.Contains(got, ansiRed+"FAIL"+ansiReset)) {
			t.Errorf("want green ok and red FAIL:\n%q", got)
		}
	}
}
