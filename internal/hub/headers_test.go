package hub

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/fashionclip/fashionclip/internal/hub/hubtest"
)

func TestParseContentRange(t *testing.T) {
	tests := []struct {
		in           string
		start, total int64
		ok           bool
	}{
		{"bytes 100000-299999/300000", 100000, 300000, true},
		{" bytes 0-0/1 ", 0, 1, true},
		{"bytes 5-9/*", 5, -1, true},
		{"bytes */100", 0, 0, false}, // the 416 form: no range
		{"bytes +5-9/10", 0, 0, false},
		{"bytes -5-9/10", 0, 0, false},
		{"bytes 9-5/10", 0, 0, false},
		{"bytes 0-99/50", 0, 0, false},   // the total does not hold the range
		{"bytes 0-99/100", 0, 100, true}, // the last byte is 99
		{"bytes 0-99/99", 0, 0, false},
		{"bytes 0-99/-1", 0, 0, false},
		{"bytes 0-9999999999999999999/*", 0, 0, false}, // overflows int64
		{"items 0-9/10", 0, 0, false},
		{"", 0, 0, false},
	}
	for _, tt := range tests {
		start, total, ok := parseContentRange(tt.in)
		if ok != tt.ok || (ok && (start != tt.start || total != tt.total)) {
			t.Errorf("parseContentRange(%q) = %d, %d, %v; want %d, %d, %v", tt.in, start, total, ok, tt.start, tt.total, tt.ok)
		}
	}
	for in, want := range map[string]int64{"300000": 300000, " 7 ": 7, "": -1, "-1": -1, "+5": -1, "1e3": -1, "0x10": -1} {
		if got := parseSize(in); got != want {
			t.Errorf("parseSize(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestPing(t *testing.T) {
	srv := hubtest.NewServer(t)
	tests := []struct {
		name   string
		server *hubtest.Server
		env    map[string]string
		status int
		kind   error
	}{
		{"reachable", srv, nil, http.StatusNotFound, nil}, // the fake Hub has no front page
		{"nothing listens", nil, nil, 0, ErrUnreachable},
		{"offline", srv, map[string]string{"HF_HUB_OFFLINE": "1"}, 0, ErrOfflineMode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.Reset()
			status, _, err := newTestClient(t, tt.server, t.TempDir(), tt.env).Ping(context.Background())
			if status != tt.status || !errors.Is(err, tt.kind) || (tt.kind == nil) != (err == nil) {
				t.Fatalf("Ping = %d, %v; want %d, %v", status, err, tt.status, tt.kind)
			}
			noAdvice(t, err)
			var he *Error
			if err != nil && (!errors.As(err, &he) || he.Endpoint == "") {
				t.Errorf("error %v does not name the endpoint", err)
			}
			if tt.kind == ErrOfflineMode && srv.Count() != 0 {
				t.Errorf("offline ping made %d requests", srv.Count())
			}
		})
	}
}
