package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// serveReal runs s.Serve on a loopback listener; stop ends it and returns
// Serve's result.
func serveReal(t *testing.T, s *Server) (addr string, stop func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	var once sync.Once
	var result error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case result = <-done:
			case <-time.After(30 * time.Second):
				result = errors.New("Serve did not return")
			}
		})
		return result
	}
	t.Cleanup(func() { stop() })
	return ln.Addr().String(), stop
}

func newServer(t *testing.T, eng Engine, cfg Config) *Server {
	t.Helper()
	s, err := New(eng, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// dialRaw is a connection to addr for hand-written HTTP, closed when the
// test ends, with a deadline so that a silent server fails the test.
func dialRaw(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	return c
}

// rawResponse is what a client reading after sending everything sees.
type rawResponse struct {
	status  int
	body    string
	readErr error
}

// sendAllThenRead writes a whole request, headers and body, before reading
// anything, as Python's urllib and requests do, then reads the answer.
func sendAllThenRead(t *testing.T, addr, head string, body io.Reader) rawResponse {
	t.Helper()
	c := dialRaw(t, addr)
	if _, err := io.WriteString(c, head); err != nil {
		return rawResponse{readErr: fmt.Errorf("writing headers: %w", err)}
	}
	if _, err := io.Copy(c, body); err != nil {
		return rawResponse{readErr: fmt.Errorf("writing body: %w", err)}
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return rawResponse{readErr: fmt.Errorf("reading answer: %w", err)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return rawResponse{status: resp.StatusCode, body: string(b), readErr: err}
}

// zeros is n bytes of '0' without holding them.
func zeros(n int64) io.Reader { return io.LimitReader(repeatReader('0'), n) }

type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

// TestOversizedBodySendAllClient: a client that sends its whole oversized
// body before reading gets the 413, not a reset. The body is far larger
// than loopback socket buffers, so without draining the server would close
// on unread data.
func TestOversizedBodySendAllClient(t *testing.T) {
	s := newServer(t, &fakeEngine{}, Config{MaxBodyBytes: 4096})
	addr, _ := serveReal(t, s)
	const size = 48 << 20
	tests := []struct {
		name string
		head string
	}{
		{"content length", fmt.Sprintf("POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", size)},
		{"chunked", "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader = zeros(size)
			if strings.Contains(tc.head, "chunked") {
				pr, pw := io.Pipe()
				go func() {
					cw := newChunkedWriter(pw)
					io.Copy(cw, zeros(size))
					cw.Close()
					pw.Close()
				}()
				body = pr
			}
			r := sendAllThenRead(t, addr, tc.head, body)
			if r.readErr != nil || r.status != http.StatusRequestEntityTooLarge {
				t.Fatalf("status %d, error %v; want 413", r.status, r.readErr)
			}
			if !strings.Contains(r.body, "request_too_large") {
				t.Errorf("body %s", r.body)
			}
		})
	}
}

// chunkedWriter writes HTTP/1.1 chunked encoding.
type chunkedWriter struct{ w io.Writer }

func newChunkedWriter(w io.Writer) *chunkedWriter { return &chunkedWriter{w} }

func (c *chunkedWriter) Write(p []byte) (int, error) {
	if _, err := fmt.Fprintf(c.w, "%x\r\n", len(p)); err != nil {
		return 0, err
	}
	if _, err := c.w.Write(p); err != nil {
		return 0, err
	}
	_, err := io.WriteString(c.w, "\r\n")
	return len(p), err
}

func (c *chunkedWriter) Close() error {
	_, err := io.WriteString(c.w, "0\r\n\r\n")
	return err
}

// TestOversizedBodyPythonClient: the same with Python's own urllib, when
// python3 is installed.
func TestOversizedBodyPythonClient(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found: the urllib client test needs it")
	}
	s := newServer(t, &fakeEngine{}, Config{MaxBodyBytes: 4096})
	addr, _ := serveReal(t, s)
	script := filepath.Join(t.TempDir(), "post.py")
	os.WriteFile(script, []byte(`import sys, urllib.request, urllib.error
req = urllib.request.Request(sys.argv[1], data=b"0" * (48 << 20), headers={"Content-Type": "application/json"})
try:
    urllib.request.urlopen(req, timeout=30)
    print("200")
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
`), 0o644)
	out, err := exec.Command(py, script, "http://"+addr+"/v1/embeddings").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "413 ") || !strings.Contains(string(out), "request_too_large") {
		t.Fatalf("python urllib saw %v: %s", err, out)
	}
}

// TestExpectContinueTooLarge: a client that waits for 100 Continue is told
// 413 without being asked for the body.
func TestExpectContinueTooLarge(t *testing.T) {
	s := newServer(t, &fakeEngine{}, Config{MaxBodyBytes: 4096})
	addr, _ := serveReal(t, s)
	c := dialRaw(t, addr)
	fmt.Fprintf(c, "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", 1<<30)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413 (not 100 Continue)", resp.StatusCode)
	}
}

// TestStalledBody: a body that stops arriving gets 408 once the read
// timeout passes, also when the request timeout is shorter.
func TestStalledBody(t *testing.T) {
	for _, timeout := range []time.Duration{time.Minute, 50 * time.Millisecond} {
		t.Run(fmt.Sprint("request timeout ", timeout), func(t *testing.T) {
			s := newServer(t, &fakeEngine{}, Config{ReadTimeout: 300 * time.Millisecond, Timeout: timeout})
			addr, _ := serveReal(t, s)
			c := dialRaw(t, addr)
			start := time.Now()
			io.WriteString(c, "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"input\": ")
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(b), "request_timeout") {
				t.Fatalf("status %d %s, want 408", resp.StatusCode, b)
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("answered after %v", took)
			}
		})
	}
}

// TestSlowClients: headers that trickle in and idle keep-alive
// connections are cut off at their timeouts; oversized headers get 431.
func TestSlowClients(t *testing.T) {
	s := newServer(t, &fakeEngine{}, Config{ReadHeaderTimeout: 200 * time.Millisecond, IdleTimeout: 200 * time.Millisecond, MaxHeaderBytes: 4096})
	addr, _ := serveReal(t, s)
	closedWithin := func(c net.Conn, d time.Duration) bool {
		start := time.Now()
		io.Copy(io.Discard, c) // until the server closes
		return time.Since(start) < d
	}
	t.Run("slow headers", func(t *testing.T) {
		c := dialRaw(t, addr)
		io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n")
		if !closedWithin(c, 5*time.Second) {
			t.Error("connection with unfinished headers kept open")
		}
	})
	t.Run("idle keep-alive", func(t *testing.T) {
		c := dialRaw(t, addr)
		io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%v %v", resp, err)
		}
		io.Copy(io.Discard, resp.Body)
		if !closedWithin(c, 5*time.Second) {
			t.Error("idle connection kept open")
		}
	})
	t.Run("header too large", func(t *testing.T) {
		c := dialRaw(t, addr)
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", strings.Repeat("a", 16<<10))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("status %d, want 431", resp.StatusCode)
		}
	})
}

// queuedRequests connects n clients to ln and sends each a request before
// the server accepts any; it returns what each then reads.
func queuedRequests(t *testing.T, addr string, n int) <-chan rawResponse {
	t.Helper()
	out := make(chan rawResponse, n)
	var conns []net.Conn
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(20 * time.Second))
		if _, err := io.WriteString(c, "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Length: 14\r\n\r\n{\"input\": \"a\"}"); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		go func() {
			defer c.Close()
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				out <- rawResponse{readErr: err}
				return
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			out <- rawResponse{status: resp.StatusCode, body: string(b), readErr: err}
		}()
	}
	return out
}

// TestShutdownAnswersAcceptQueue: connections waiting in the accept queue
// when the server stops are answered (503), not reset.
func TestShutdownAnswersAcceptQueue(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cancel bool // stop before Serve starts
	}{{"stopped while serving", false}, {"stopped before serving", true}} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, &fakeEngine{}, Config{})
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			const n = 64
			answers := queuedRequests(t, ln.Addr().String(), n)
			ctx, cancel := context.WithCancel(context.Background())
			if tc.cancel {
				cancel()
			}
			served := make(chan error, 1)
			go func() { served <- s.Serve(ctx, ln) }()
			cancel()
			counts := map[string]int{}
			for range n {
				r := <-answers
				switch {
				case r.readErr != nil:
					counts["error: "+r.readErr.Error()]++
				case r.status == 200 || (r.status == 503 && strings.Contains(r.body, "server_shutting_down")):
					counts[fmt.Sprint(r.status)]++
				default:
					counts[fmt.Sprintf("%d %s", r.status, r.body)]++
				}
			}
			if counts["200"]+counts["503"] != n {
				t.Errorf("answers: %v, want every one 200 or 503", counts)
			}
			if err := <-served; err != nil {
				t.Errorf("Serve: %v", err)
			}
		})
	}
}

// TestShutdownUnderLoad: clients keep opening connections while the server
// stops. Each either gets an answer (200, or 503 while draining) or cannot
// connect at all; none connects, sends its request and is then cut off.
func TestShutdownUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("shutdown load test skipped in -short mode")
	}
	s := newServer(t, &fakeEngine{}, Config{})
	addr, stop := serveReal(t, s)
	const clients = 32
	var mu sync.Mutex
	counts := map[string]int{}
	var lost []string // all of them
	stopped := make(chan struct{})
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stopped:
					return
				default:
				}
				outcome, ok := oneRequest(addr)
				mu.Lock()
				if ok {
					counts[outcome]++
				} else {
					counts["lost"]++
					lost = append(lost, outcome)
				}
				mu.Unlock()
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	if err := stop(); err != nil {
		t.Errorf("Serve: %v", err)
	}
	close(stopped)
	wg.Wait()
	t.Logf("outcomes: %v", counts)
	if counts["200"] == 0 {
		t.Error("no request succeeded before the stop")
	}
	// Without socket filters the kernel may still queue about one
	// connection while the socket closes (see stopHandshakes).
	allowed := 0
	if !socketFiltersWork(t) {
		allowed = 2
		t.Logf("this kernel has no socket filters: up to %d connections may be reset at the close", allowed)
	}
	if len(lost) > allowed {
		for _, l := range lost {
			t.Errorf("request lost after connecting: %s", l)
		}
	}
}

// socketFiltersWork says whether stopHandshakes can hold off new
// connections on this kernel.
func socketFiltersWork(t *testing.T) bool {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return stopHandshakes(ln) == nil
}

// oneRequest sends one request on a new connection. ok is false when the
// connection was made and the request sent, but no answer came.
func oneRequest(addr string) (outcome string, ok bool) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return "no connection", true
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Length: 14\r\n\r\n{\"input\": \"a\"}"); err != nil {
		return "write: " + err.Error(), false
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return "read: " + err.Error(), false
	}
	defer resp.Body.Close()
	if _, err := io.ReadAll(resp.Body); err != nil {
		return "body: " + err.Error(), false
	}
	return fmt.Sprint(resp.StatusCode), resp.StatusCode == 200 || resp.StatusCode == 503
}
