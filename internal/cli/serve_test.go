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
	"github.com/fashionclip/fashionclip/internal/index"
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
	srv := startServe(t, map[string]string{cmdutil.EnvModel: model}, "", "--index", "a")
	body, code := srv.search(t, `{"query": "red dress", "k": 1, "kind": "images"}`)
	if code != 200 || want == "" || !strings.Contains(body, `"path":"`+want+`"`) {
		t.Errorf("/v1/search: %d, top hit %s; the CLI's: %s", code, body, want)
	}
	if _, err := srv.stop(t); err != nil {
		t.Errorf("shutdown: %v", err)
	}

	r := runCLI(t, false, "", map[string]string{cmdutil.EnvModel: model}, "serve", "--addr", "127.0.0.1:0", "--index", "imgs")
	if r.code != cmdutil.ExitFatal || !strings.Contains(r.stderr, "imgs") {
		t.Errorf("--index of a folder without indexes: exit %d: %s", r.code, r.stderr)
	}
}

// servedCLI is a serve command running in-process on 127.0.0.1:0.
type servedCLI struct {
	base   string
	cancel context.CancelFunc
	done   chan error
	errOut interface{ String() string }
}

// startServe runs serve with env and args (variant stands for --variant,
// a global flag) and waits until it listens.
func startServe(t *testing.T, env map[string]string, variant string, args ...string) *servedCLI {
	t.Helper()
	ios, _, _, errOut := iostreams.Test()
	f := cmdutil.NewFactory(ios, testGetenv(t, env))
	f.Flags.Variant = variant
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan net.Addr, 1)
	cmd := servecmd.NewCmdServe(f, func(o *servecmd.ServeOptions) error {
		o.OnListen = func(a net.Addr) { addrs <- a }
		return servecmd.ServeRun(ctx, o)
	})
	cmd.SetArgs(append([]string{"--addr", "127.0.0.1:0"}, args...))
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	s := &servedCLI{cancel: cancel, done: make(chan error, 1), errOut: errOut}
	go func() { s.done <- cmd.ExecuteContext(ctx) }()
	t.Cleanup(cancel)
	select {
	case a := <-addrs:
		s.base = "http://" + a.String()
	case err := <-s.done:
		t.Fatalf("serve ended early: %v\n%s", err, errOut)
	case <-time.After(time.Minute):
		t.Fatal("serve did not start listening")
	}
	return s
}

// search posts a /v1/search request, waiting out the 503s of a model still
// loading; a server that failed to load answers 503 until it ends.
func (s *servedCLI) search(t *testing.T, req string) (body string, status int) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		resp, err := http.Post(s.base+"/v1/search", "application/json", strings.NewReader(req))
		if err != nil {
			return err.Error(), 0 // it shut down: it failed to load
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 503 || time.Now().After(deadline) {
			return string(b), resp.StatusCode
		}
	}
}

// stop cancels the server (what SIGTERM does) and returns its stderr and
// how it ended.
func (s *servedCLI) stop(t *testing.T) (stderr string, err error) {
	t.Helper()
	s.cancel()
	select {
	case err = <-s.done:
	case <-time.After(time.Minute):
		t.Fatal("serve did not shut down")
	}
	return s.errOut.String(), err
}

// TestServeUsesTheIndexVariant: serve runs the model in its indexes'
// variant unless told otherwise, and refuses an index of another variant
// unless --allow-variant-mismatch (as search does).
func TestServeUsesTheIndexVariant(t *testing.T) {
	model := tinyModel(t)
	images := sampleImages(t)
	env := map[string]string{"FASHIONCLIP_CACHE": t.TempDir(), cmdutil.EnvModel: model}
	idx := filepath.Join(t.TempDir(), "int8.idx")
	if r := runCLI(t, false, "", env, "embed", images, "--variant", "int8", "-o", idx); r.code != 0 {
		t.Fatalf("embed --variant int8: exit %d: %s", r.code, r.stderr)
	}
	cli := runCLI(t, false, "", env, "search", idx, "red dress", "-k", "1", "-f", "json")
	if cli.code != 0 {
		t.Fatalf("search: exit %d: %s", cli.code, cli.stderr)
	}
	var hits []struct{ Score float64 }
	if err := json.Unmarshal([]byte(cli.stdout), &hits); err != nil || len(hits) != 1 {
		t.Fatalf("search output %q: %v", cli.stdout, err)
	}
	tests := []struct {
		name    string
		variant string
		args    []string
		status  int
		stderr  string
	}{
		{"the index's variant by default", "", nil, 200, ""},
		{"the same variant named", "int8", nil, 200, ""},
		{"another variant is refused", "fp32", nil, 0, ""},
		{"unless allowed", "fp32", []string{"--allow-variant-mismatch"}, 200, "serving it all the same"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServe(t, env, tc.variant, append([]string{"--index", idx}, tc.args...)...)
			body, status := srv.search(t, `{"query": "red dress", "k": 1}`)
			stderr, err := srv.stop(t)
			if status != tc.status || !strings.Contains(stderr, tc.stderr) {
				t.Fatalf("/v1/search %d (want %d) %s; stderr %q (want %q)", status, tc.status, body, stderr, tc.stderr)
			}
			if tc.status != 200 {
				if fix := cmdutil.WithRemedy(err); !errors.As(err, new(*index.VariantMismatchError)) || !strings.Contains(fix, "fix: pass --variant int8") {
					t.Errorf("serve ended with %q, want a variant mismatch and its fix", fix)
				}
				return
			}
			var resp struct {
				Data []struct{ Score float64 }
			}
			if err := json.Unmarshal([]byte(body), &resp); err != nil || len(resp.Data) != 1 {
				t.Fatalf("/v1/search body %s: %v", body, err)
			}
			// The index's own variant scores as search does; another one close to it.
			same := tc.variant != "fp32"
			if d := resp.Data[0].Score - hits[0].Score; (same && d != 0) || (!same && (d == 0 || d > 0.01 || d < -0.01)) {
				t.Errorf("served score %v, search's %v", resp.Data[0].Score, hits[0].Score)
			}
		})
	}
}
