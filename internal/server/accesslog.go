package server

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// accessLog writes one line per request:
//
//	2026-11-01T09:30:00.123Z 127.0.0.1 "POST /v1/embeddings" 200 2154 12.3ms
//
// time (UTC), client address, method and path (quoted: a hostile path
// cannot forge a line), status (499: the client left first), response
// bytes and time to answer. Query strings and headers are left out: they
// may carry keys.
type accessLog struct {
	mu sync.Mutex
	w  io.Writer
}

func newAccessLog(w io.Writer) *accessLog {
	if w == nil {
		return nil
	}
	return &accessLog{w: w}
}

func (l *accessLog) log(r *http.Request, status int, bytes int64, start time.Time, took time.Duration) {
	if l == nil {
		return
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	line := fmt.Sprintf("%s %s %q %d %d %.1fms\n", start.UTC().Format("2006-01-02T15:04:05.000Z"), host,
		r.Method+" "+r.URL.EscapedPath(), status, bytes, float64(took.Microseconds())/1000)
	l.mu.Lock()
	defer l.mu.Unlock()
	io.WriteString(l.w, line)
}
