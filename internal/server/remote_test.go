package server

import (
	"fmt"
	"image/color"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// imageOrigin serves a small PNG and some misbehaving paths.
func imageOrigin(t *testing.T, ln net.Listener) *httptest.Server {
	img := pngBytes(t, 3, 3, color.RGBA{0, 255, 0, 255})
	origin := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/ok.png":
			w.Write(img)
		case r.URL.Path == "/big.png":
			w.Write(make([]byte, 4096))
		case strings.HasPrefix(r.URL.Path, "/hop"):
			n := int(r.URL.Path[len(r.URL.Path)-1] - '0')
			next := "/ok.png"
			if n > 1 {
				next = fmt.Sprintf("/hop%d", n-1)
			}
			http.Redirect(w, r, next, http.StatusFound)
		case r.URL.Path == "/to":
			http.Redirect(w, r, r.URL.Query().Get("u"), http.StatusFound)
		case r.URL.Path == "/slow.png":
			time.Sleep(300 * time.Millisecond)
			w.Write(img)
		case r.URL.Path == "/teapot":
			http.Error(w, "secret internal detail", http.StatusTeapot)
		default:
			http.NotFound(w, r)
		}
	}))
	if ln != nil {
		origin.Listener.Close()
		origin.Listener = ln
	}
	origin.Start()
	t.Cleanup(origin.Close)
	return origin
}

func imagePart(u string) string {
	return `{"input": [{"type": "image_url", "image_url": {"url": "` + u + `"}}]}`
}

func TestRemoteImages(t *testing.T) {
	origin := imageOrigin(t, nil)
	part := func(path string) string { return imagePart(origin.URL + path) }
	tests := []struct {
		name         string
		allow        bool
		allowPrivate bool
		body         string
		wantStatus   int
		wantCode     string
	}{
		{"allowed", true, true, part("/ok.png"), 200, ""},
		{"disabled", false, true, part("/ok.png"), 400, "remote_images_disabled"},
		{"plain string is text", false, false, `{"input": "` + origin.URL + `/ok.png"}`, 200, ""},
		{"upstream 404", true, true, part("/missing.png"), 400, "image_fetch_failed"},
		{"three redirects", true, true, part("/hop3"), 200, ""},
		{"four redirects", true, true, part("/hop4"), 400, "image_fetch_failed"},
		{"over size limit", true, true, part("/big.png"), 400, "image_too_large"},
		{"over time limit", true, true, part("/slow.png"), 400, "image_fetch_failed"},
		{"classify plain URL", true, true, `{"image": "` + origin.URL + `/ok.png", "labels": ["a", "b"]}`, 200, ""},
		// Without --allow-private-images the server's own network is out of reach.
		{"loopback refused", true, false, part("/ok.png"), 400, "image_fetch_failed"},
		{"localhost name refused", true, false, imagePart(strings.Replace(origin.URL, "127.0.0.1", "localhost", 1) + "/ok.png"), 400, "image_fetch_failed"},
		{"mapped IPv6 loopback refused", true, false, imagePart(strings.Replace(origin.URL, "127.0.0.1", "[::ffff:127.0.0.1]", 1) + "/ok.png"), 400, "image_fetch_failed"},
		{"classify loopback refused", true, false, `{"image": "` + origin.URL + `/ok.png", "labels": ["a", "b"]}`, 400, "image_fetch_failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eng := &fakeEngine{}
			_, ts := start(t, eng, Config{AllowRemoteImages: tc.allow, AllowPrivateImages: tc.allowPrivate,
				MaxImageBytes: 1024, RemoteImageTimeout: 100 * time.Millisecond})
			path := "/v1/embeddings"
			if strings.Contains(tc.body, `"labels"`) {
				path = "/v1/classify"
			}
			r := post(t, ts.URL+path, tc.body)
			if r.status != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", r.status, tc.wantStatus, r.body)
			}
			if tc.wantStatus != 200 {
				checkErrorShape(t, r, tc.wantCode)
			}
		})
	}
}

// TestRemoteRedirectChecked: every hop's address is checked when it is
// connected to, not only the first URL's.
func TestRemoteRedirectChecked(t *testing.T) {
	allowed := imageOrigin(t, nil) // 127.0.0.1
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no 127.0.0.2 on this host: %v", err)
	}
	other := imageOrigin(t, ln)
	only := netip.MustParseAddr("127.0.0.1")
	var dialed []netip.Addr
	client := newRemoteClient(time.Second, func(ip netip.Addr) error {
		dialed = append(dialed, ip)
		if ip != only {
			return errAddrNotAllowed
		}
		return nil
	})
	_, ts := start(t, &fakeEngine{}, Config{AllowRemoteImages: true, RemoteClient: client})
	if r := post(t, ts.URL+"/v1/embeddings", imagePart(allowed.URL+"/hop2")); r.status != 200 {
		t.Fatalf("redirects within the allowed host: %d %s", r.status, r.body)
	}
	r := post(t, ts.URL+"/v1/embeddings", imagePart(allowed.URL+"/to?u="+other.URL+"/ok.png"))
	if r.status != 400 {
		t.Fatalf("redirect to a refused address: %d %s", r.status, r.body)
	}
	checkErrorShape(t, r, "image_fetch_failed")
	if last := dialed[len(dialed)-1]; last != netip.MustParseAddr("127.0.0.2") {
		t.Errorf("last address checked = %v, want the redirect target 127.0.0.2 (checked: %v)", last, dialed)
	}
}

// TestRemoteErrorsAreGeneric: a refused port, a timeout, a remote error
// status and a refused address read alike, so a client cannot map what the
// server reaches.
func TestRemoteErrorsAreGeneric(t *testing.T) {
	origin := imageOrigin(t, nil)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + closed.Addr().String()
	closed.Close()
	_, ts := start(t, &fakeEngine{}, Config{AllowRemoteImages: true, AllowPrivateImages: true, RemoteImageTimeout: 100 * time.Millisecond})
	_, strict := start(t, &fakeEngine{}, Config{AllowRemoteImages: true, RemoteImageTimeout: 100 * time.Millisecond})
	var messages []string
	for _, c := range []struct{ server, url string }{
		{ts.URL, closedURL + "/x.png"},
		{ts.URL, origin.URL + "/slow.png"},
		{ts.URL, origin.URL + "/teapot"},
		{ts.URL, origin.URL + "/missing.png"},
		{strict.URL, origin.URL + "/ok.png"},
	} {
		r := post(t, c.server+"/v1/embeddings", imagePart(c.url))
		checkErrorShape(t, r, "image_fetch_failed")
		msg := r.json(t)["error"].(map[string]any)["message"].(string)
		msg = strings.Replace(msg, c.url, "URL", 1)
		for _, leak := range []string{"refused", "418", "teapot", "secret", "timeout", "deadline", "dial", "404"} {
			if strings.Contains(strings.ToLower(msg), leak) && !strings.Contains(msg, "not an allowed address") {
				t.Errorf("%s: message %q leaks %q", c.url, msg, leak)
			}
		}
		messages = append(messages, msg)
	}
	for _, m := range messages[1:] {
		if m != messages[0] {
			t.Errorf("fetch errors differ:\n%q\n%q", messages[0], m)
		}
	}
}

func TestCheckRemoteAddr(t *testing.T) {
	tests := []struct {
		ip                string
		public, ifPrivate bool // allowed without / with AllowPrivateImages
	}{
		{"93.184.215.14", true, true},
		{"2606:2800:21f:cb07:6820:80da:af6b:8b2c", true, true},
		{"127.0.0.1", false, true},
		{"127.8.9.10", false, true},
		{"::1", false, true},
		{"10.1.2.3", false, true},
		{"172.16.0.1", false, true},
		{"172.31.255.255", false, true},
		{"172.32.0.1", true, true},
		{"192.168.1.1", false, true},
		{"100.64.0.1", false, true},
		{"fd00::1", false, true},
		{"::ffff:127.0.0.1", false, true},
		{"::ffff:10.0.0.1", false, true},
		{"64:ff9b::a00:1", false, true},    // NAT64 of 10.0.0.1
		{"2002:7f00:1::1", false, true},    // 6to4 of 127.0.0.1
		{"64:ff9b::5db8:d70e", true, true}, // NAT64 of a public address
		{"169.254.169.254", false, false},
		{"fe80::1", false, false},
		{"fe80::1%eth0", false, false},
		{"::ffff:169.254.169.254", false, false},
		{"224.0.0.1", false, false},
		{"ff02::1", false, false},
		{"0.0.0.0", false, false},
		{"::", false, false},
		{"255.255.255.255", false, false},
	}
	for _, tc := range tests {
		ip := netip.MustParseAddr(tc.ip)
		if got := checkRemoteAddr(ip, false) == nil; got != tc.public {
			t.Errorf("%s without private: allowed=%v, want %v", tc.ip, got, tc.public)
		}
		if got := checkRemoteAddr(ip, true) == nil; got != tc.ifPrivate {
			t.Errorf("%s with private: allowed=%v, want %v", tc.ip, got, tc.ifPrivate)
		}
	}
}

func TestRemoteClientRefusesLinkLocal(t *testing.T) {
	c := newRemoteClient(time.Second, func(ip netip.Addr) error { return checkRemoteAddr(ip, true) })
	for _, u := range []string{"http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/x", "http://0.0.0.0:1/"} {
		resp, err := c.Get(u)
		if err == nil {
			resp.Body.Close()
			t.Errorf("%s: fetched, want refused", u)
		} else if !strings.Contains(err.Error(), errAddrNotAllowed.Error()) {
			t.Errorf("%s: %v, want a refusal", u, err)
		}
	}
}
