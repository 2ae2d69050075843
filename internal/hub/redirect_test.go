package hub

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// A GET that the Hub redirects elsewhere must leave the token behind, even
// for a same-IP host on another port and across further hops.
func TestTokenStaysOnHubHost(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]string{} // path -> Authorization
	record := func(r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		seen[r.URL.Path] = r.Header.Get("Authorization")
	}
	cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		record(r)
		if r.URL.Path == "/hop" {
			http.Redirect(w, r, "/final", http.StatusFound)
			return
		}
		w.Write([]byte("ok"))
	}))
	defer cdn.Close()
	// Same IP, another port: Go's own rule (same host name) would forward
	// the token; ours must not.
	cdnURL := cdn.URL
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		record(r)
		switch r.URL.Path {
		case "/renamed":
			http.Redirect(w, r, "/file", http.StatusTemporaryRedirect) // same host: keeps the token
		case "/file":
			http.Redirect(w, r, cdnURL+"/hop", http.StatusFound)
		}
	}))
	defer hub.Close()

	c := NewClient(Config{Endpoint: hub.URL, Token: "hf_secret", CacheDir: t.TempDir()})
	req, err := c.newRequest(context.Background(), http.MethodGet, hub.URL+"/renamed")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := map[string]string{"/renamed": "Bearer hf_secret", "/file": "Bearer hf_secret", "/hop": "", "/final": ""}
	for path, auth := range want {
		if got, ok := seen[path]; !ok || got != auth {
			t.Errorf("%s saw Authorization %q (requested: %v), want %q", path, got, ok, auth)
		}
	}
	// Requests that start on another host never carry it.
	req, _ = c.newRequest(context.Background(), http.MethodGet, cdnURL+"/direct")
	if req.Header.Get("Authorization") != "" {
		t.Error("token set on a request to another host")
	}
}
