package cli

import (
	"strings"
	"testing"

	"github.com/fashionclip/fashionclip/internal/cmdutil"
)

func TestDataPullOthers(t *testing.T) {
	tests := []struct {
		args   []string
		env    map[string]string
		code   int
		stderr string
	}{
		{[]string{"kagl"}, nil, cmdutil.ExitFatal, "kaggle.com/datasets/paramaggarwal/fashion-product-images-small"},
		{[]string{"deepfashion"}, nil, cmdutil.ExitFatal, "AttributePrediction.html"},
		{[]string{"mnist"}, nil, cmdutil.ExitUsage, `unknown dataset "mnist"`},
		{nil, nil, cmdutil.ExitUsage, "accepts 1 arg"},
		{[]string{"fmnist", "--offline"}, nil, cmdutil.ExitFatal, "forbids downloading"},
		{[]string{"fmnist"}, map[string]string{"HF_HUB_OFFLINE": "1"}, cmdutil.ExitFatal, "forbids downloading"},
		{[]string{"fmnist", "--base-url", "ftp://x"}, nil, cmdutil.ExitUsage, "not http(s)"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := runCLI(t, false, "", tt.env, append([]string{"data", "pull", "--to", t.TempDir()}, tt.args...)...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, tt.code, tt.stderr)
			}
		})
	}
}
