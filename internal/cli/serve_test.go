package cli

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fashionclip/fashionclip/internal/iostreams"
	"github.com/fashionclip/fashionclip/internal/testutil"
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
			ios, _, _, _ := iostreams.Test()
			f := NewFactory(ios, func(k string) string { return tc.env[k] })
			var got *ServeOptions
			cmd := NewCmdServe(f, func(o *ServeOptions) error { got = o; return nil })
			cmd.SetArgs(tc.args)
			cmd.SetOut(io.Discard)
			cmd.SetErr(io.Discard)
			err := cmd.Execute()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tc.wantErr)
				}
				if tc.wantErr != "unknown command" && ExitCode(err) != ExitUsage {
					t.Errorf("exit code %d, want %d", ExitCode(err), ExitUsage)
				}
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

// TestServeInProcess runs the command on 127.0.0.1:0 with the tiny model,
// checks it answers with its key, and that cancelling (what SIGTERM does
// to the command's context) shuts it down cleanly.
func TestServeInProcess(t *testing.T) {
	model := tinyModel(t)
	ios, _, _, errOut := iostreams.Test()
	env := map[string]string{EnvModel: model, EnvAPIKey: "k3y"}
	f := NewFactory(ios, testGetenv(t, env))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrs := make(chan net.Addr, 1)
	cmd := NewCmdServe(f, func(o *ServeOptions) error {
		o.onListen = func(a net.Addr) { addrs <- a }
		return serveRun(ctx, o)
	})
	cmd.SetArgs([]string{"--addr", "127.0.0.1:0"})
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	var base string
	select {
	case a := <-addrs:
		base = "http://" + a.String()
	case err := <-done:
		t.Fatalf("serve ended early: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("serve did not start listening")
	}
	// It listens before the model loads: 503 "loading" until then.
	sawLoading := false
	for deadline := time.Now().Add(time.Minute); ; {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == 200 {
			break
		}
		if resp.StatusCode != 503 || time.Now().After(deadline) {
			t.Fatalf("/healthz while loading: %d", resp.StatusCode)
		}
		sawLoading = true
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("saw 503 while loading: %v", sawLoading)

	tests := []struct {
		method, path, key string
		wantStatus        int
	}{
		{"GET", "/healthz", "", 200},
		{"GET", "/v1/models", "", 401},
		{"GET", "/v1/models", "k3y", 200},
		{"POST", "/v1/embeddings", "wrong", 401},
		{"POST", "/v1/embeddings", "k3y", 200},
		{"POST", "/v1/classify", "k3y", 200},
	}
	bodies := map[string]string{
		"/v1/embeddings": `{"model": "fashion-clip", "input": ["red dress", "boots"]}`,
		"/v1/classify":   `{"image": "data:image/png;base64,` + samplePNG(t) + `", "labels": ["dress", "boot"]}`,
	}
	for _, tc := range tests {
		req, _ := http.NewRequest(tc.method, base+tc.path, strings.NewReader(bodies[tc.path]))
		if tc.key != "" {
			req.Header.Set("Authorization", "Bearer "+tc.key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.wantStatus {
			t.Errorf("%s %s (key %q): %d, want %d: %s", tc.method, tc.path, tc.key, resp.StatusCode, tc.wantStatus, b)
		}
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve after cancel: %v, want a clean nil", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("serve did not shut down")
	}
	stderr := errOut.String()
	for _, want := range []string{"serving", "on http://127.0.0.1:", "shut down cleanly"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "WARNING: listening") {
		t.Errorf("a loopback server with a key must not warn:\n%s", stderr)
	}
}

func samplePNG(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testutil.ModuleRoot(t), "testdata", "images", "blue-jeans.png"))
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func TestServeAddressInUse(t *testing.T) {
	model := tinyModel(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	r := runCLI(t, false, "", map[string]string{EnvModel: model}, "serve", "--addr", ln.Addr().String())
	if r.code != ExitFatal || !strings.Contains(r.stderr, "listen on "+ln.Addr().String()) {
		t.Fatalf("exit %d, stderr %q; want 1 and the listen error", r.code, r.stderr)
	}
}

// TestServeBinarySIGTERM: the real binary drains and exits 0 on SIGTERM.
func TestServeBinarySIGTERM(t *testing.T) {
	model := tinyModel(t)
	cmd := exec.Command(buildBinary(t), "serve", "--addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "FASHIONCLIP_CACHE="+testCacheDir(t), EnvModel+"="+model)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	addrRe := regexp.MustCompile(`serving .* on http://(127\.0\.0\.1:\d+)`) // once loaded
	var addr string
	var seen []string
	timeout := time.After(time.Minute)
	for addr == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("serve exited before listening:\n%s", strings.Join(seen, "\n"))
			}
			seen = append(seen, l)
			if m := addrRe.FindStringSubmatch(l); m != nil {
				addr = m[1]
			}
		case <-timeout:
			t.Fatalf("no listening line:\n%s", strings.Join(seen, "\n"))
		}
	}
	resp, err := http.Post("http://"+addr+"/v1/embeddings", "application/json", strings.NewReader(`{"input": "red dress"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("embeddings: %d", resp.StatusCode)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for l := range lines {
		seen = append(seen, l)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err := <-waited:
		var ee *exec.ExitError
		if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == ExitOK) {
			t.Fatalf("after SIGTERM: %v, want exit 0\n%s", err, strings.Join(seen, "\n"))
		}
	case <-time.After(time.Minute):
		t.Fatal("serve did not exit after SIGTERM")
	}
	if !strings.Contains(strings.Join(seen, "\n"), "shut down cleanly") {
		t.Errorf("stderr lacks the shutdown note:\n%s", strings.Join(seen, "\n"))
	}
}

// TestServeIndex: `serve --index` answers /v1/search with the CLI's top hit,
// and refuses an index of another model once the model is loaded.
func TestServeIndex(t *testing.T) {
	model := idxModelDir(t, "tiny-optimum")
	idxImagesCopy(t)
	if r := runCLI(t, false, "", nil, "embed", "-m", model, "imgs", "-o", "a", "--text", "red dress"); r.code != 0 {
		t.Fatalf("embed: %s", r.stderr)
	}
	// The text comes first; the API's images-only search must return the
	// CLI's best image, with the path as the index stores it.
	cli := runCLI(t, false, "", nil, "search", "-m", model, "a", "red dress", "-k", "2", "-f", "jsonl")
	if cli.code != 0 {
		t.Fatalf("search: %s", cli.stderr)
	}
	var want string
	for _, line := range strings.Split(strings.TrimSpace(cli.stdout), "\n") {
		var hit struct{ Path string }
		if json.Unmarshal([]byte(line), &hit) == nil && hit.Path != "" {
			want = hit.Path
			break
		}
	}
	ios, _, _, _ := iostreams.Test()
	f := NewFactory(ios, testGetenv(t, map[string]string{EnvModel: model}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrs := make(chan net.Addr, 1)
	cmd := NewCmdServe(f, func(o *ServeOptions) error {
		o.onListen = func(a net.Addr) { addrs <- a }
		return serveRun(ctx, o)
	})
	cmd.SetArgs([]string{"--addr", "127.0.0.1:0", "--index", "a"})
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	var base string
	select {
	case a := <-addrs:
		base = "http://" + a.String()
	case err := <-done:
		t.Fatalf("serve ended early: %v", err)
	}
	var body []byte
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		resp, err := http.Post(base+"/v1/search", "application/json", strings.NewReader(`{"query": "red dress", "k": 1, "kind": "images"}`))
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			break
		}
		if resp.StatusCode != 503 || time.Now().After(deadline) {
			t.Fatalf("/v1/search: %d %s", resp.StatusCode, body)
		}
	}
	if want == "" || !strings.Contains(string(body), `"path":"`+want+`"`) {
		t.Errorf("/v1/search top hit %s; the CLI's: %s", body, want)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("shutdown: %v", err)
	}

	r := runCLI(t, false, "", map[string]string{EnvModel: model}, "serve", "--addr", "127.0.0.1:0", "--index", "imgs")
	if r.code != ExitFatal || !strings.Contains(r.stderr, "imgs") {
		t.Errorf("--index of a folder without indexes: exit %d: %s", r.code, r.stderr)
	}
}
