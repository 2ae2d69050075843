package server

import (
	"net"
	"sync"
	"time"
)

// How the accept queue is drained on shutdown: connections are accepted
// until none has arrived for drainQuiet (handshakes already under way
// complete within a round trip), for at most drainMax in all.
const (
	drainQuiet = 50 * time.Millisecond
	drainMax   = 2 * time.Second
)

// drainListener closes gracefully. Closing a listening socket resets every
// connection still waiting in the kernel's accept queue: their clients have
// connected and sent a request that would never be answered. So Close
// first stops new handshakes where the platform allows it (stopHandshakes),
// then accepts what is queued, and only then closes the socket; Accept
// hands the drained connections to the HTTP server, which answers them
// (503 while shutting down) before it stops.
type drainListener struct {
	net.Listener

	acceptOnce sync.Once
	accepting  chan struct{} // closed when the server first calls Accept

	closeOnce sync.Once
	closing   chan struct{} // closed when Close starts
	closed    chan struct{} // closed once drained holds the queue
	closeErr  error

	mu      sync.Mutex
	drained []net.Conn
}

func newDrainListener(ln net.Listener) *drainListener {
	return &drainListener{Listener: ln, accepting: make(chan struct{}), closing: make(chan struct{}), closed: make(chan struct{})}
}

func (l *drainListener) Accept() (net.Conn, error) {
	l.acceptOnce.Do(func() { close(l.accepting) })
	c, err := l.Listener.Accept()
	if err == nil {
		return c, nil
	}
	select {
	case <-l.closing:
		// Woken by the drain's deadline or by the close: serve what the
		// drain collected, then report the listener closed.
		<-l.closed
		l.mu.Lock()
		defer l.mu.Unlock()
		if len(l.drained) > 0 {
			c := l.drained[0]
			l.drained = l.drained[1:]
			return c, nil
		}
		return nil, net.ErrClosed
	default:
		return nil, err
	}
}

func (l *drainListener) Close() error {
	l.closeOnce.Do(func() {
		close(l.closing)
		stopHandshakes(l.Listener) // best effort
		conns := acceptQueued(l.Listener)
		l.mu.Lock()
		l.drained = conns
		l.mu.Unlock()
		close(l.closed)
		l.closeErr = l.Listener.Close()
	})
	return l.closeErr
}

// acceptQueued accepts the connections waiting in ln's queue.
func acceptQueued(ln net.Listener) []net.Conn {
	dl, ok := ln.(interface{ SetDeadline(time.Time) error })
	if !ok {
		return nil
	}
	var conns []net.Conn
	end := time.Now().Add(drainMax)
	for time.Now().Before(end) {
		if dl.SetDeadline(time.Now().Add(drainQuiet)) != nil {
			break
		}
		c, err := ln.Accept()
		if err != nil {
			break // quiet for drainQuiet: the queue is empty (or the socket failed)
		}
		conns = append(conns, c)
	}
	return conns
}
