package server

import (
	"errors"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// stopHandshakes makes a listening TCP socket ignore new connection
// attempts, so its accept queue can be drained without new arrivals: a
// socket filter drops segments with SYN set and ACK clear. Handshakes
// already under way still complete (their final ACK passes) and are
// drained; a dropped client retries its SYN, by then meets the closed
// port and is refused, which it reports as such rather than as a reset.
// For a TCP socket the filter sees the TCP header at offset 0; byte 13
// holds the flags. Kernels built without socket filters refuse it (the
// error is returned, for tests); the backlog is then cut to its minimum,
// which keeps all but about one new arrival out while the queue drains.
func stopHandshakes(ln net.Listener) error {
	sc, ok := ln.(syscall.Conn)
	if !ok {
		return errors.New("not a socket")
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	prog := []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_B | unix.BPF_ABS, K: 13},
		{Code: unix.BPF_ALU | unix.BPF_AND | unix.BPF_K, K: 0x12}, // SYN | ACK
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: 0x02, Jt: 0, Jf: 1},
		{Code: unix.BPF_RET | unix.BPF_K, K: 0},          // a bare SYN: drop
		{Code: unix.BPF_RET | unix.BPF_K, K: 0xffffffff}, // anything else: keep
	}
	var serr error
	err = raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptSockFprog(int(fd), unix.SOL_SOCKET, unix.SO_ATTACH_FILTER,
			&unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]})
		if serr != nil {
			// Second best: shrink the backlog to its minimum, so that while
			// the queue is drained the kernel admits at most one more
			// connection for each one accepted, and none once it has one.
			unix.Listen(int(fd), 0)
		}
	})
	if err != nil {
		return err
	}
	return serr
}
