package server

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestLoading: a server can listen before its engine exists; it says so on
// /healthz and answers /v1/ with 503 and Retry-After until Ready.
func TestLoading(t *testing.T) {
	s := NewLoading(Config{ModelIDs: []string{"placeholder"}})
	addr, stop := serveReal(t, s)
	url := "http://" + addr
	for _, path := range []string{"/v1/embeddings", "/v1/models", "/healthz"} {
		method, body := "GET", ""
		if path == "/v1/embeddings" {
			method, body = "POST", `{"input": "a"}`
		}
		r := do(t, method, url+path, body, nil)
		if r.status != 503 || r.header.Get("Retry-After") == "" {
			t.Errorf("%s while loading: %d (Retry-After %q), want 503 with Retry-After", path, r.status, r.header.Get("Retry-After"))
		}
		if path == "/healthz" {
			if !strings.Contains(string(r.body), `"loading"`) {
				t.Errorf("healthz while loading: %s", r.body)
			}
		} else {
			checkErrorShape(t, r, "model_loading")
		}
	}
	if r := do(t, "GET", url+"/metrics", "", nil); r.status != 200 {
		t.Errorf("metrics while loading: %d", r.status)
	}
	if err := s.Ready(&fakeEngine{}, []string{"owner/model"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Ready(&fakeEngine{}, nil); err == nil {
		t.Error("a second Ready was accepted")
	}
	if r := post(t, url+"/v1/embeddings", `{"input": "a", "model": "owner/model"}`); r.status != 200 {
		t.Errorf("after Ready: %d %s", r.status, r.body)
	}
	if r := do(t, "GET", url+"/healthz", "", nil); r.status != 200 || !strings.Contains(string(r.body), "owner/model") {
		t.Errorf("healthz after Ready: %d %s", r.status, r.body)
	}
	if err := stop(); err != nil {
		t.Errorf("Serve: %v", err)
	}
}

// TestLoadFailure: when loading fails, Serve stops and returns the error.
func TestLoadFailure(t *testing.T) {
	s := NewLoading(Config{})
	_, stop := serveReal(t, s)
	boom := errors.New("model.onnx: not an ONNX file")
	s.Fail(boom)
	if err := stop(); !errors.Is(err, boom) {
		t.Errorf("Serve = %v, want the load error", err)
	}
	if err := s.Ready(&fakeEngine{}, nil); err == nil {
		t.Error("Ready after Fail was accepted")
	}
}

// TestLoadingConcurrentReady: Ready while requests arrive is race-free
// (run with -race).
func TestLoadingConcurrentReady(t *testing.T) {
	s := NewLoading(Config{})
	addr, _ := serveReal(t, s)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				r := post(t, "http://"+addr+"/v1/embeddings", `{"input": "a"}`)
				if r.status != 200 && r.status != 503 {
					t.Errorf("status %d", r.status)
				}
				do(t, "GET", "http://"+addr+"/metrics", "", nil)
			}
		}()
	}
	time.Sleep(10 * time.Millisecond)
	if err := s.Ready(&fakeEngine{}, nil); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func TestAccessLog(t *testing.T) {
	var log syncBuffer
	_, ts := start(t, &fakeEngine{}, Config{AccessLog: &log, APIKey: "k"})
	do(t, "POST", ts.URL+"/v1/embeddings?key=secret", `{"input": "a"}`, map[string]string{"Authorization": "Bearer k"})
	do(t, "GET", ts.URL+"/healthz", "", nil)
	do(t, "GET", ts.URL+`/x"y%0Az`, "", nil)
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3:\n%s", len(lines), log.String())
	}
	re := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z 127\.0\.0\.1 "(.*)" (\d{3}) (\d+) \d+\.\dms$`)
	want := []struct{ req, status string }{{"POST /v1/embeddings", "200"}, {"GET /healthz", "200"}, {`GET /x%22y%0Az`, "404"}}
	for i, l := range lines {
		m := re.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("line %q does not match the format", l)
			continue
		}
		if m[1] != want[i].req || m[2] != want[i].status || m[3] == "0" {
			t.Errorf("line %q, want %q %s", l, want[i].req, want[i].status)
		}
	}
	if strings.Contains(log.String(), "secret") || strings.Contains(log.String(), "Bearer") {
		t.Error("the log holds the query string or the key")
	}
	// Off by default.
	s := newServer(t, &fakeEngine{}, Config{})
	if s.access != nil {
		t.Error("access log on without AccessLog")
	}
}

func TestDisplayAddr(t *testing.T) {
	tests := []struct {
		addr    net.Addr
		want    string
		wantAll bool
	}{
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 8080}, "127.0.0.1:8080", true},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 80}, "127.0.0.1:80", true},
		{&net.TCPAddr{Port: 9000}, "127.0.0.1:9000", true},
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}, "127.0.0.1:8080", false},
		{&net.TCPAddr{IP: net.IPv6loopback, Port: 8080}, "[::1]:8080", false},
		{&net.TCPAddr{IP: net.ParseIP("192.168.1.5"), Port: 1}, "192.168.1.5:1", false},
		{&net.UnixAddr{Name: "/run/fc.sock", Net: "unix"}, "/run/fc.sock", false},
	}
	for _, tc := range tests {
		got, all := DisplayAddr(tc.addr)
		if got != tc.want || all != tc.wantAll {
			t.Errorf("DisplayAddr(%v) = %q, %v; want %q, %v", tc.addr, got, all, tc.want, tc.wantAll)
		}
	}
	// A real listener on every interface.
	ln, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if got, all := DisplayAddr(ln.Addr()); !all || !strings.HasPrefix(got, "127.0.0.1:") || got != fmt.Sprintf("127.0.0.1:%d", ln.Addr().(*net.TCPAddr).Port) {
		t.Errorf("DisplayAddr(%v) = %q, %v", ln.Addr(), got, all)
	}
}
