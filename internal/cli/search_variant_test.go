package cli

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/fashionclip/fashionclip/internal/cmdutil"
)

// TestSearchUsesTheIndexVariant: an index records the variant that made
// it; search uses it by default and refuses another variant of the same
// model unless --allow-variant-mismatch.
func TestSearchUsesTheIndexVariant(t *testing.T) {
	model := tinyModel(t)
	images := sampleImages(t)
	env := map[string]string{"FASHIONCLIP_CACHE": t.TempDir()}
	idx := filepath.Join(t.TempDir(), "int8.idx")
	if r := runCLI(t, false, "", env, "embed", images, "-m", model, "--variant", "int8", "-o", idx); r.code != 0 {
		t.Fatalf("embed --variant int8: exit %d: %s", r.code, r.stderr)
	}
	if r := runCLI(t, false, "", env, "index", "info", idx, "-f", "json"); r.code != 0 || !strings.Contains(r.stdout, `"variant":"int8"`) {
		t.Errorf("index info does not show the int8 variant: exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
	tests := []struct {
		name string
		args []string
		code int
		want string // in stderr
	}{
		{"the index's variant by default", nil, 0, ""},
		{"the same variant named", []string{"--variant", "int8"}, 0, ""},
		{"another variant is refused", []string{"--variant", "fp32"}, cmdutil.ExitFatal, "fix: pass --variant int8"},
		{"unless allowed", []string{"--variant", "fp32", "--allow-variant-mismatch"}, 0, "searching all the same"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"search", idx, "red dress", "-m", model, "-k", "2"}, tc.args...)
			r := runCLI(t, false, "", env, args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d (want %d), stderr %q (want %q)", r.code, tc.code, r.stderr, tc.want)
			}
			if tc.code == 0 && strings.Count(r.stdout, "\n") != 2 {
				t.Errorf("want 2 results:\n%s", r.stdout)
			}
		})
	}
}
