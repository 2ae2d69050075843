package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"
)

// Remote images make the server fetch whatever address a client names
// (server-side request forgery). Every connection, the first and each
// redirect's, is checked in the dialer's Control hook, that is on the IP
// address actually being connected to after DNS resolution: a name that
// resolves to a public address when checked and to 127.0.0.1 when
// connected (DNS rebinding) cannot slip through.

var errAddrNotAllowed = errors.New("address not allowed")

// Address ranges refused unless private images are allowed: the server's
// own host and the networks behind it.
var privateRanges = prefixes(
	"127.0.0.0/8", "::1/128", // loopback
	"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", // private
	"100.64.0.0/10", // carrier-grade NAT, often internal
	"192.0.0.0/24",  // IETF protocol assignments
	"198.18.0.0/15", // benchmarking, used inside data centres
	"fec0::/10",     // deprecated site-local
)

// Address ranges always refused: link-local (cloud metadata services live
// at 169.254.169.254), multicast, broadcast and addresses that are not
// hosts at all.
var forbiddenRanges = prefixes(
	"0.0.0.0/8", "::/128", // "this host", unspecified
	"169.254.0.0/16", "fe80::/10", // link-local
	"224.0.0.0/4", "ff00::/8", // multicast
	"240.0.0.0/4", // reserved, and 255.255.255.255 broadcast
)

// IPv6 prefixes that carry an IPv4 address (NAT64 and 6to4).
var (
	nat64Prefixes = prefixes("64:ff9b::/96", "64:ff9b:1::/48")
	sixToFour     = netip.MustParsePrefix("2002::/16")
)

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// embeddedIPv4 is the IPv4 address an IPv6 address carries by a
// translation scheme (IPv4-mapped, NAT64, 6to4), so that ::ffff:127.0.0.1
// or 64:ff9b::a00:1 is judged as the IPv4 address it reaches.
func embeddedIPv4(ip netip.Addr) (netip.Addr, bool) {
	if ip.Is4In6() {
		return ip.Unmap(), true
	}
	if !ip.Is6() {
		return netip.Addr{}, false
	}
	b := ip.As16()
	for _, p := range nat64Prefixes {
		if p.Contains(ip) {
			return netip.AddrFrom4([4]byte(b[12:16])), true
		}
	}
	if sixToFour.Contains(ip) {
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
}

// checkRemoteAddr says whether a remote fetch may connect to ip.
func checkRemoteAddr(ip netip.Addr, allowPrivate bool) error {
	ip = ip.WithZone("")
	if v4, ok := embeddedIPv4(ip); ok {
		if err := checkRemoteAddr(v4, allowPrivate); err != nil {
			return err
		}
	}
	for _, p := range forbiddenRanges {
		if p.Contains(ip) {
			return errAddrNotAllowed
		}
	}
	if !allowPrivate {
		for _, p := range privateRanges {
			if p.Contains(ip) {
				return errAddrNotAllowed
			}
		}
	}
	return nil
}

// newRemoteClient is the HTTP client for remote images. check judges every
// address connected to; a refusal fails the dial before any byte is sent.
func newRemoteClient(timeout time.Duration, check func(netip.Addr) error) *http.Client {
	dialer := &net.Dialer{
		Timeout: timeout,
		Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return errAddrNotAllowed
			}
			return check(ap.Addr())
		},
	}
	return &http.Client{
		Timeout: timeout,
		// Proxy nil: an environment proxy would connect on our behalf to
		// addresses the hook never sees.
		Transport: &http.Transport{DialContext: dialer.DialContext, Proxy: nil, TLSHandshakeTimeout: timeout,
			ResponseHeaderTimeout: timeout, MaxResponseHeaderBytes: 64 << 10},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > 3 { // via holds the original request too
				return errors.New("too many redirects")
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return fmt.Errorf("redirect to %s is not allowed", req.URL.Scheme)
			}
			return nil
		},
	}
}

// fetcher downloads remote images with a time and size limit.
type fetcher struct {
	client   *http.Client
	maxBytes int64
}

// fetchFailed is the one answer for every failed download. Telling a
// refused connection from a timeout, or echoing the remote status, would
// let a client map ports and services the server can reach.
func fetchFailed(param string, u *url.URL) *APIError {
	return badRequest("image_fetch_failed", param,
		"%s: the image at %s could not be fetched (unreachable, not an allowed address, too slow, or not a successful answer)", param, u.Redacted())
}

// fetch downloads rawURL. A nil error with nil data means the request's
// own context ended; the caller reports that.
func (f *fetcher) fetch(ctx context.Context, rawURL, param string) ([]byte, *APIError) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return nil, badRequest("invalid_image_url", param, "%s: not a valid http(s) URL", param)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, badRequest("invalid_image_url", param, "%s: not a valid http(s) URL", param)
	}
	req.Header.Set("Accept", "image/*")
	resp, err := f.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil
		}
		return nil, fetchFailed(param, u)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, fetchFailed(param, u)
	}
	if resp.ContentLength > f.maxBytes {
		return nil, tooLargeImage(param, f.maxBytes)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, f.maxBytes+1))
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil
		}
		return nil, fetchFailed(param, u)
	}
	if int64(len(data)) > f.maxBytes {
		return nil, tooLargeImage(param, f.maxBytes)
	}
	return data, nil
}

func tooLargeImage(param string, limit int64) *APIError {
	return badRequest("image_too_large", param, "%s: the image is larger than the server's limit of %d bytes", param, limit)
}
