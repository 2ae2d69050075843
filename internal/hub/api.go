package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/fashionclip/fashionclip/internal/buildinfo"
)

// Client talks to one Hub and one cache. Its methods are safe for
// concurrent use once its fields are set.
type Client struct {
	cfg      Config
	endpoint *url.URL
	http     *http.Client // follows redirects, keeping the token on the Hub's host only
	noFollow *http.Client // stops at the first redirect (metadata requests)

	// Parallel bounds concurrent file downloads (default 4).
	Parallel int
	// Retries is how many times an interrupted transfer is resumed (default 4).
	Retries int
	// RetryWait is the first pause between attempts; it doubles each time.
	RetryWait time.Duration
	// StallTimeout ends (and retries) a transfer that receives nothing for
	// that long (default one minute; 0 = never).
	StallTimeout time.Duration
	// FreeSpace reports the free bytes of the file system holding dir;
	// tests replace it.
	FreeSpace func(dir string) (uint64, error)
}

// NewClient returns a client for cfg.
func NewClient(cfg Config) *Client {
	if cfg.Endpoint == "" {
		cfg.Endpoint = DefaultEndpoint
	}
	cfg.Endpoint = strings.TrimRight(cfg.Endpoint, "/")
	ep, err := url.Parse(cfg.Endpoint)
	if err != nil || ep.Host == "" {
		// Requests will fail with a clear error naming the endpoint.
		ep = &url.URL{}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// Byte ranges and sizes must refer to the stored bytes, not a gzip stream.
	tr.DisableCompression = true
	tr.ResponseHeaderTimeout = 60 * time.Second
	c := &Client{cfg: cfg, endpoint: ep, Parallel: 4, Retries: 4, RetryWait: 500 * time.Millisecond, StallTimeout: time.Minute, FreeSpace: freeSpace}
	c.http = &http.Client{Transport: tr, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		// Go would keep the token for a subdomain of the Hub (and for another
		// port); we keep it for the Hub's own host only.
		if req.URL.Host != via[0].URL.Host || req.URL.Scheme != via[0].URL.Scheme {
			req.Header.Del("Authorization")
			req.Header.Del("If-Range") // the Hub's etag means nothing to a CDN
		}
		return nil
	}}
	c.noFollow = &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	return c
}

// Config is the client's configuration.
func (c *Client) Config() Config { return c.cfg }

// CacheDir is the hub cache folder.
func (c *Client) CacheDir() string { return c.cfg.CacheDir }

func (c *Client) newRequest(ctx context.Context, method, u string) (*http.Request, error) {
	if c.cfg.Offline {
		return nil, newError(ErrOfflineMode, "offline mode (HF_HUB_OFFLINE=1 or --offline) forbids contacting %s", u)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "fashionclip/"+buildinfo.Version)
	req.Header.Set("Accept-Encoding", "identity")
	if c.cfg.Token != "" && req.URL.Host == c.endpoint.Host && req.URL.Scheme == c.endpoint.Scheme {
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	}
	return req, nil
}

// RemoteFile is one file of a repo revision as the Hub API lists it.
type RemoteFile struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"` // -1 when the Hub did not say
	BlobID string `json:"blob_id,omitempty"`
	// SHA256 is the LFS object id (the content's sha256) of LFS files.
	SHA256 string `json:"sha256,omitempty"`
	LFS    bool   `json:"lfs"`
}

// RepoInfo is a repo revision as the Hub API describes it.
type RepoInfo struct {
	Repo     string       `json:"repo"`
	Revision string       `json:"revision"`
	Commit   string       `json:"commit"`
	Private  bool         `json:"private"`
	Gated    string       `json:"gated,omitempty"` // "", "auto" or "manual"
	Files    []RemoteFile `json:"files"`
}

// File returns the entry for path.
func (ri *RepoInfo) File(path string) (RemoteFile, bool) {
	for _, f := range ri.Files {
		if f.Path == path {
			return f, true
		}
	}
	return RemoteFile{}, false
}

type apiModel struct {
	ID       string          `json:"id"`
	SHA      string          `json:"sha"`
	Private  bool            `json:"private"`
	Gated    json.RawMessage `json:"gated"`
	Siblings []struct {
		RFilename string `json:"rfilename"`
		BlobID    string `json:"blobId"`
		Size      *int64 `json:"size"`
		LFS       *struct {
			SHA256 string `json:"sha256"`
			Size   int64  `json:"size"`
		} `json:"lfs"`
	} `json:"siblings"`
}

// unreachable explains a failed connection and what to do about it.
func (c *Client) unreachable(err error) error {
	return fmt.Errorf("cannot reach the Hub at %s (%w); fix: check the network or proxy (HTTPS_PROXY), "+
		"set HF_ENDPOINT to a mirror, or pass --model DIR with a local model folder", c.cfg.Endpoint, err)
}

// Info asks the Hub API for the revision's commit and files (with sizes and
// LFS checksums: ?blobs=true).
func (c *Client) Info(ctx context.Context, ref Ref) (*RepoInfo, error) {
	u := c.cfg.Endpoint + "/api/models/" + ref.Repo + "/revision/" + url.PathEscape(ref.Revision) + "?blobs=true"
	req, err := c.newRequest(ctx, http.MethodGet, u)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.unreachable(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, c.statusError(resp, ref, "")
	}
	var m apiModel
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&m); err != nil {
		return nil, fmt.Errorf("read the Hub's answer for %s: %w", ref, err)
	}
	if !IsCommitHash(m.SHA) {
		return nil, fmt.Errorf("the Hub's answer for %s has no usable commit hash (%q)", ref, m.SHA)
	}
	ri := &RepoInfo{Repo: ref.Repo, Revision: ref.Revision, Commit: m.SHA, Private: m.Private}
	if s, err := strconv.Unquote(string(m.Gated)); err == nil {
		ri.Gated = s
	}
	for _, s := range m.Siblings {
		f := RemoteFile{Path: s.RFilename, BlobID: s.BlobID, Size: -1}
		if s.Size != nil {
			f.Size = *s.Size
		}
		if s.LFS != nil {
			f.LFS = true
			f.SHA256 = strings.ToLower(s.LFS.SHA256)
			if f.Size < 0 {
				f.Size = s.LFS.Size
			}
		}
		ri.Files = append(ri.Files, f)
	}
	return ri, nil
}

// fileMeta is what a HEAD on resolve/ tells about one file.
type fileMeta struct {
	Commit   string
	ETag     string
	Size     int64  // -1 unknown
	Location string // where to GET the bytes (the CDN for LFS files)
	Linked   bool   // the etag came from X-Linked-Etag (an LFS file)
}

func (c *Client) resolveURL(repo, rev, file string) string {
	segs := strings.Split(file, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return c.cfg.Endpoint + "/" + repo + "/resolve/" + url.PathEscape(rev) + "/" + strings.Join(segs, "/")
}

// head fetches a file's metadata the way huggingface_hub does: HEAD on
// resolve/, following redirects on the Hub's own host (renamed repos) but
// not to the CDN, whose location is kept for the GET. X-Linked-Etag (the LFS
// sha256) wins over ETag (the git blob sha1, or the LFS pointer's).
func (c *Client) head(ctx context.Context, ref Ref, file string) (fileMeta, error) {
	u := c.resolveURL(ref.Repo, ref.Revision, file)
	for hop := 0; ; hop++ {
		req, err := c.newRequest(ctx, http.MethodHead, u)
		if err != nil {
			return fileMeta{}, err
		}
		resp, err := c.noFollow.Do(req)
		if err != nil {
			return fileMeta{}, c.unreachable(err)
		}
		resp.Body.Close()
		meta := fileMeta{
			Linked: resp.Header.Get("X-Linked-Etag") != "",
			Commit: resp.Header.Get("X-Repo-Commit"),
			ETag:   normalizeETag(firstNonEmpty(resp.Header.Get("X-Linked-Etag"), resp.Header.Get("ETag"))),
			Size:   parseSize(firstNonEmpty(resp.Header.Get("X-Linked-Size"), resp.Header.Get("Content-Length"))),
		}
		switch {
		case resp.StatusCode >= 300 && resp.StatusCode < 400:
			loc, err := resp.Location()
			if err != nil {
				return fileMeta{}, fmt.Errorf("%s: redirect without a usable Location: %v", u, err)
			}
			if loc.Host == req.URL.Host && loc.Scheme == req.URL.Scheme && hop < 10 {
				u = loc.String()
				continue
			}
			meta.Location = loc.String()
		case resp.StatusCode >= 200 && resp.StatusCode < 300:
			meta.Location = u
		default:
			return fileMeta{}, c.statusError(resp, ref, file)
		}
		return meta, nil
	}
}

// statusError turns a failed reply into a message that says what to do.
func (c *Client) statusError(resp *http.Response, ref Ref, file string) error {
	se := &StatusError{URL: resp.Request.URL.String(), Status: resp.StatusCode,
		Code: resp.Header.Get("X-Error-Code"), Msg: resp.Header.Get("X-Error-Message")}
	repoURL := c.cfg.Endpoint + "/" + ref.Repo
	switch {
	case se.Code == "RepoNotFound" && c.cfg.Token == "" && (se.Status == 401 || se.Status == 403):
		// The Hub answers so for private repos too when no token is sent.
		return &Error{Kind: ErrNotFound, Cause: se, Msg: fmt.Sprintf("repo %s not found on %s, or it is gated or private: set HF_TOKEN to a token with access", ref.Repo, c.cfg.Endpoint)}
	case se.Code == "RepoNotFound":
		return &Error{Kind: ErrNotFound, Cause: se, Msg: fmt.Sprintf("repo %s not found on %s (check the spelling, or that your token can see it)", ref.Repo, c.cfg.Endpoint)}
	case se.Code == "GatedRepo" || se.Status == 401 || se.Status == 403:
		if c.cfg.Token == "" {
			return &Error{Kind: ErrGated, Cause: se, Msg: fmt.Sprintf("repo %s is gated or private: set HF_TOKEN to a token with access", ref.Repo)}
		}
		return &Error{Kind: ErrGated, Cause: se, Msg: fmt.Sprintf("repo %s is gated or private and the token in use has no access: request access at %s, then use a token of that account", ref.Repo, repoURL)}
	case se.Code == "RevisionNotFound":
		return &Error{Kind: ErrNotFound, Cause: se, Msg: fmt.Sprintf("revision %q not found in repo %s", ref.Revision, ref.Repo)}
	case se.Code == "EntryNotFound" || (se.Status == 404 && file != ""):
		return &Error{Kind: ErrNotFound, Cause: se, Msg: fmt.Sprintf("file %s not found in %s@%s", file, ref.Repo, ref.Revision)}
	case se.Status == 404:
		return &Error{Kind: ErrNotFound, Cause: se, Msg: fmt.Sprintf("repo %s or its revision %q not found on %s", ref.Repo, ref.Revision, c.cfg.Endpoint)}
	}
	return se
}

// normalizeETag strips the weak marker and the quotes.
func normalizeETag(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "W/")
	return strings.Trim(s, `"`)
}

func parseSize(s string) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// IsNetworkError reports whether err means the Hub could not be reached at
// all (as opposed to an answer we did not like).
func IsNetworkError(err error) bool {
	var ne net.Error
	var oe *net.OpError
	var ue *url.Error
	return errors.As(err, &ne) || errors.As(err, &oe) || errors.As(err, &ue)
}
