package server

import (
	"io"
	"net"
	"testing"
	"time"
)

// TestStopHandshakes: once the filter is on, new connection attempts get
// no answer, while a connection made before it still carries data.
func TestStopHandshakes(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	before, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer before.Close()
	if err := stopHandshakes(ln); err != nil {
		t.Skipf("this kernel refuses socket filters (%v): new connections cannot be held off during the drain here", err)
	}
	if c, err := net.DialTimeout("tcp", ln.Addr().String(), 300*time.Millisecond); err == nil {
		c.Close()
		t.Fatal("a new connection was made after stopHandshakes")
	}
	if _, err := io.WriteString(before, "ping"); err != nil {
		t.Fatal(err)
	}
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second))
	server, err := ln.Accept()
	if err != nil {
		t.Fatalf("the connection queued before the filter was not accepted: %v", err)
	}
	defer server.Close()
	server.SetDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4)
	if _, err := io.ReadFull(server, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("read %q, %v: data of a queued connection must still arrive", buf, err)
	}
}
