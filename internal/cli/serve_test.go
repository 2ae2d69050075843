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

	"github.com/fashionclip/fashionclip/internal/cmd/servecmd"
	"github.com/fashionclip/fashionclip/internal/cmdutil"
	"github.com/fashionclip/fashionclip/internal/iostreams"
	"github.com/fashionclip/fashionclip/internal/testutil"
)

// TestServeInProcess runs the command on 127.0.0.1:0 with the tiny model,
// checks it answers with its key, and that cancelling (what SIGTERM does
// to the command's context) shuts it down cleanly.
func TestServeInProcess(t *testing.T) {
	model := tinyModel(t)
	ios, _, _, errOut := iostreams.Test()
	env := map[string]string{cmdutil.EnvModel: model, servecmd.EnvAPIKey: "k3y"}
	f := cmdutil.NewFactory(ios, testGetenv(t, env))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrs := make(chan net.Addr, 1)
	cmd := servecmd.NewCmdServe(f, func(o *servecmd.ServeOptions) error {
		o.OnListen = func(a net.Addr) { addrs <- a }
		return servecmd.ServeRun(ctx, o)
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
	r := runCLI(t, false, "", map[string]string{cmdutil.EnvModel: model}, "serve", "--addr", ln.Addr().String())
	if r.code != cmdutil.ExitFatal || !strings.Contains(r.stderr, "listen on "+ln.Addr().String()) {
		t.Fatalf("exit %d, stderr %q; want 1 and the listen error", r.code, r.stderr)
	}
}

// TestServeBinarySIGTERM: the real binary drains and exits 0 on SIGTERM.
func TestServeBinarySIGTERM(t *testing.T) {
	model := tinyModel(t)
	cmd := exec.Command(buildBinary(t), "serve", "--addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "FASHIONCLIP_CACHE="+testCacheDir(t), cmdutil.EnvModel+"="+model)
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
		if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == cmdutil.ExitOK) {
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
	f := cmdutil.NewFactory(ios, testGetenv(t, map[string]string{cmdutil.EnvModel: model}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrs := make(chan net.Addr, 1)
	cmd := servecmd.NewCmdServe(f, func(o *servecmd.ServeOptions) error {
		o.OnListen = func(a net.Addr) { addrs <- a }
		return servecmd.ServeRun(ctx, o)
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

	r := runCLI(t, false, "", map[string]string{cmdutil.EnvModel: model}, "serve", "--addr", "127.0.0.1:0", "--index", "imgs")
	if r.code != cmdutil.ExitFatal || !strings.Contains(r.stderr, "imgs") {
		t.Errorf("--index of a folder without indexes: exit %d: %s", r.code, r.stderr)
	}
}
