package servecmd

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/fashionclip/fashionclip/internal/cmdutil/cmdtest"
)

func TestServeFlags(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		wantErr  string // substring of a usage error
		check    func(*ServeOptions) bool
		describe string
	}{
		{name: "defaults", check: func(o *ServeOptions) bool {
			return o.Addr == "127.0.0.1:8080" && o.APIKey == "" && !o.AllowRemoteImages && o.MaxBatch == 32 &&
				o.MaxWait == 0 && o.Queue == 256 && o.Timeout == time.Minute && o.ReadHeaderTimeout == 10*time.Second &&
				o.ReadTimeout == 30*time.Second && o.IdleTimeout == 2*time.Minute && o.MaxImages == 256 &&
				o.DecodePixels == 100_000_000 && !o.AllowPrivateImages && o.AccessLog == "" && len(o.Indexes) == 0
		}, describe: "the documented defaults (docs/serve.md)"},
		{name: "limits", args: []string{"--allow-remote-images", "--allow-private-images", "--read-timeout", "5s", "--idle-timeout", "1s",
			"--read-header-timeout", "2s", "--max-images", "3", "--decode-pixels", "1000", "--index", "a", "--index", "b=c"},
			check: func(o *ServeOptions) bool {
				c := o.config(nil)
				return c.AllowPrivateImages && c.ReadTimeout == 5*time.Second && c.IdleTimeout == time.Second &&
					c.ReadHeaderTimeout == 2*time.Second && c.MaxImages == 3 && c.MaxDecodePixels == 1000 &&
					c.Thumbnails != nil && strings.Join(o.Indexes, " ") == "a b=c"
			}, describe: "the limits passed to the server"},
		{name: "private without remote", args: []string{"--allow-private-images"}, wantErr: "--allow-remote-images"},
		{name: "zero read timeout", args: []string{"--read-timeout", "0s"}, wantErr: "--read-timeout"},
		{name: "zero images", args: []string{"--max-images", "0"}, wantErr: "--max-images"},
		{name: "key from env", env: map[string]string{EnvAPIKey: "from-env"},
			check: func(o *ServeOptions) bool { return o.APIKey == "from-env" }, describe: "the key from $FASHIONCLIP_API_KEY"},
		{name: "flag beats env", args: []string{"--api-key", "from-flag"}, env: map[string]string{EnvAPIKey: "from-env"},
			check: func(o *ServeOptions) bool { return o.APIKey == "from-flag" }, describe: "--api-key over the environment"},
		{name: "tuning", args: []string{"--addr", "[::1]:9000", "--max-batch", "8", "--max-wait", "0", "--queue", "4", "--allow-remote-images"},
			check: func(o *ServeOptions) bool {
				c := o.config([]string{"m"})
				return o.Addr == "[::1]:9000" && c.MaxBatch == 8 && c.MaxWait < 0 && c.Queue == 4 && c.AllowRemoteImages
			}, describe: "the flags passed through, --max-wait 0 as no wait"},
		{name: "bad addr", args: []string{"--addr", "8080"}, wantErr: "--addr"},
		{name: "zero batch", args: []string{"--max-batch", "0"}, wantErr: "--max-batch"},
		{name: "negative wait", args: []string{"--max-wait", "-1ms"}, wantErr: "--max-wait"},
		{name: "zero queue", args: []string{"--queue", "0"}, wantErr: "--queue"},
		{name: "zero timeout", args: []string{"--timeout", "0s"}, wantErr: "--timeout"},
		{name: "zero body", args: []string{"--max-body-mb", "0"}, wantErr: "--max-body-mb"},
		{name: "no arguments", args: []string{"extra"}, wantErr: "unknown command"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := cmdtest.Parse(t, NewCmdServe, tc.env, tc.args...)
			if tc.wantErr == "unknown command" { // cobra's own: not one of ours
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %s", err, tc.wantErr)
				}
				return
			}
			if tc.wantErr != "" {
				cmdtest.WantUsageError(t, err, tc.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(got) {
				t.Errorf("options addr=%s batch=%d wait=%v queue=%d key=%q: want %s", got.Addr, got.MaxBatch, got.MaxWait, got.Queue, got.APIKey, tc.describe)
			}
		})
	}
}

func TestServeExposureWarning(t *testing.T) {
	tests := []struct {
		addr   string
		hasKey bool
		warn   bool
	}{
		{"127.0.0.1:8080", false, false},
		{"[::1]:8080", false, false},
		{"0.0.0.0:8080", false, true},
		{"[::]:8080", false, true},
		{"192.168.1.10:8080", false, true},
		{"0.0.0.0:8080", true, false},
	}
	for _, tc := range tests {
		addr, err := net.ResolveTCPAddr("tcp", tc.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := exposureWarning(addr, tc.hasKey); (got != "") != tc.warn {
			t.Errorf("exposureWarning(%s, key=%v) = %q, want a warning: %v", tc.addr, tc.hasKey, got, tc.warn)
		}
	}
}
