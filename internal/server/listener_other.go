//go:build !linux

package server

import (
	"errors"
	"net"
)

// stopHandshakes has no portable equivalent: elsewhere the accept queue
// is drained while new connections may still arrive (bounded by drainMax).
func stopHandshakes(net.Listener) error { return errors.ErrUnsupported }
