package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// idleGrace is how long idle keep-alive connections stay open once draining
// starts: a client that sends on one meanwhile gets 503 and
// "Connection: close" instead of a connection closed under its request.
const idleGrace = 500 * time.Millisecond

// shutdown stops hs in an order that leaves no request unanswered.
// net/http's own Shutdown closes the listening socket at once (resetting
// connections still in the accept queue) and drops, unanswered, any request
// it reads afterwards. So first, while hs still serves: mark the server
// draining (503 for new work, every answer closes its connection), stop new
// handshakes, hand the queued connections to hs and close the socket; then
// wait until every connection has had its request read and idle ones had
// idleGrace to speak; only then Shutdown waits for the requests in flight.
// Past ShutdownTimeout the rest is cut off: cancel ends every request's
// context.
func (s *Server) shutdown(hs *http.Server, dl *drainListener, conns *connTracker, errc <-chan error, cancel context.CancelFunc) error {
	s.draining.Store(true)
	deadline := time.Now().Add(s.cfg.ShutdownTimeout)
	// The listener is only served once hs.Serve has started on it.
	select {
	case <-dl.accepting:
	case err := <-errc:
		dl.Close()
		return err
	}
	dl.Close()
	if err := <-errc; err != nil && !errors.Is(err, net.ErrClosed) {
		s.cfg.Logf("accept loop ended: %v", err)
	}
	conns.settle(deadline)
	ctx, stop := context.WithDeadline(context.Background(), deadline)
	defer stop()
	if err := hs.Shutdown(ctx); err != nil {
		// Out of patience: cancel the running requests and batches too, so
		// Close does not wait on them (an encoder run stops at its next check).
		cancel()
		if s.ready.Load() {
			s.text.abort()
			s.vision.abort()
		}
		hs.Close()
		return fmt.Errorf("shutdown: requests still running after %s were cut off", s.cfg.ShutdownTimeout)
	}
	return nil
}

// connTracker follows connection states (http.Server.ConnState).
type connTracker struct {
	mu    sync.Mutex
	state map[net.Conn]http.ConnState
}

func newConnTracker() *connTracker { return &connTracker{state: map[net.Conn]http.ConnState{}} }

func (t *connTracker) track(c net.Conn, st http.ConnState) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if st == http.StateClosed || st == http.StateHijacked {
		delete(t.state, c)
		return
	}
	t.state[c] = st
}

// settled reports whether no connection is still to send its first
// request, and (once grace has passed) none is idle.
func (t *connTracker) settled(graceOver bool) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, st := range t.state {
		if st == http.StateNew || (st == http.StateIdle && !graceOver) {
			return false
		}
	}
	return true
}

// settle waits until settled, for at most until deadline.
func (t *connTracker) settle(deadline time.Time) {
	start := time.Now()
	for time.Now().Before(deadline) && !t.settled(time.Since(start) >= idleGrace) {
		time.Sleep(5 * time.Millisecond)
	}
}
