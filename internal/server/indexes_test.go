package server

import (
	"regexp"
	"testing"
)

func TestIDRoundTrip(t *testing.T) {
	for _, c := range []struct {
		name, chunk string
		row         int
		id          string
	}{
		{"catalog", "emb-00000.npy", 0, "catalog:0:0"},
		{"shop.idx", "emb-00042.npy", 1023, "shop.idx:42:1023"},
		{"big", "emb-123456.npy", 7, "big:123456:7"},
	} {
		id := formatID(c.name, c.chunk, c.row)
		if id != c.id {
			t.Errorf("formatID(%q, %q, %d) = %q, want %q", c.name, c.chunk, c.row, id, c.id)
		}
		name, chunk, row, ok := parseID(id)
		if !ok || name != c.name || row != c.row || formatID(name, chunk, row) != id {
			t.Errorf("parseID(%q) = %q %q %d %v", id, name, chunk, row, ok)
		}
	}
	for _, bad := range []string{"", "x", "x:1", "x:01:2", "x:1:02", "x:-1:2", "x:1:-2", "x:+1:2", "x:1:2:", ":1:2", "x: 1:2", "x:1:2 ", "x:99999999999999999999:1"} {
		if _, _, _, ok := parseID(bad); ok {
			t.Errorf("parseID(%q) accepted", bad)
		}
	}
}

// FuzzParseID: an id the server accepts is exactly one it could have made.
func FuzzParseID(f *testing.F) {
	for _, s := range []string{"catalog:0:0", "shop.idx:42:1023", "a:b:1:2", "x:01:2", "../../etc/passwd", ":1:2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		name, chunk, row, ok := parseID(id)
		if !ok {
			return
		}
		if got := formatID(name, chunk, row); got != id {
			t.Fatalf("parseID(%q) accepted an id formatID writes as %q", id, got)
		}
		if !chunkFileName.MatchString(chunk) {
			t.Fatalf("parseID(%q) gave chunk %q", id, chunk)
		}
	})
}

var chunkFileName = regexp.MustCompile(`^emb-[0-9]{5,}\.npy$`)
