package server

import (
	"net"
	"strconv"
)

// DisplayAddr is the HOST:PORT to show users for a listening address. A
// listener on every interface (0.0.0.0 or [::]) is shown as 127.0.0.1,
// an address one can paste into a browser or curl on the same machine;
// all reports whether that was the case, for a note such as "(all
// interfaces)".
func DisplayAddr(a net.Addr) (hostPort string, all bool) {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String(), false
	}
	if tcp.IP == nil || tcp.IP.IsUnspecified() {
		return net.JoinHostPort("127.0.0.1", strconv.Itoa(tcp.Port)), true
	}
	return tcp.String(), false
}
