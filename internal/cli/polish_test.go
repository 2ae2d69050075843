package cli

import (
	"strings"
	"testing"
)

// Issue 14, defect 1: known devices fall back with one fashionclip warning
// and no ONNX Runtime log lines; unknown devices are usage errors.
func TestDeviceFallbackAndUnknownDevice(t *testing.T) {
	model := tinyModel(t)
	img := sampleImages(t)
	if r := runCLI(t, false, "", nil, "classify", img, "--labels", "a,b", "--model", model, "--device", "tpu"); r.code != ExitUsage ||
		!strings.Contains(r.stderr, `unknown device "tpu"`) {
		t.Errorf("--device tpu: exit %d, stderr %q", r.code, r.stderr)
	}
	for _, device := range []string{"cuda", "coreml"} {
		t.Run(device, func(t *testing.T) {
			r := runBinary(t, t.TempDir(), "", []string{"NO_COLOR=1"}, "classify", img, "--labels", "a,b", "--model", model, "--device", device, "-q")
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			var warnings int
			for _, l := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
				switch {
				case strings.Contains(l, "SYNTHETIC"):
				case strings.HasPrefix(l, "fashionclip: WARNING: ") && strings.Contains(l, "running on the CPU"):
					warnings++
				default:
					t.Errorf("unexpected stderr line %q", l)
				}
			}
			if warnings != 1 {
				t.Errorf("%d fallback warnings, want 1:\n%s", warnings, r.stderr)
			}
		})
	}
}

// Issue 14, defect 4: mistyped subcommands and flags are usage errors with a suggestion.
func TestUnknownSubcommandsAndFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"model", "lst"}, "Did you mean this?\n\tlist"},
		{[]string{"index", "inf", "x"}, "Did you mean this?\n\tinfo"},
		{[]string{"runtime", "instal"}, "Did you mean this?\n\tinstall"},
		{[]string{"clasify"}, "Did you mean this?\n\tclassify"},
		{[]string{"classify", "x.jpg", "--lables", "a"}, "Did you mean this?\n\t--labels"},
		{[]string{"index", "info"}, "accepts 1 arg"},
	} {
		r := runCLI(t, false, "", nil, tc.args...)
		if r.code != ExitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 with %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}

// Help shows the global flags a command uses, and the exit statuses once.
func TestHelpShowsApplicableGlobalsAndExitStatusOnce(t *testing.T) {
	for _, tc := range []struct {
		cmd      []string
		has, not []string
	}{
		{[]string{"tokenize"}, []string{"--model", "--variant"}, []string{"--device", "--threads", "--ort-lib"}},
		{[]string{"index", "info"}, []string{"--quiet"}, []string{"--model", "--device"}},
		{[]string{"classify"}, []string{"--model", "--device", "--threads", "--ort-lib"}, nil},
	} {
		r := runCLI(t, false, "", nil, append(tc.cmd, "--help")...)
		for _, h := range tc.has {
			if !strings.Contains(r.stdout, h) {
				t.Errorf("%v --help lacks %s", tc.cmd, h)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(r.stdout, n) {
				t.Errorf("%v --help shows %s, which it ignores", tc.cmd, n)
			}
		}
		if strings.Count(r.stdout, "EXIT STATUS") != 1 {
			t.Errorf("%v --help: EXIT STATUS %d times", tc.cmd, strings.Count(r.stdout, "EXIT STATUS"))
		}
	}
}
