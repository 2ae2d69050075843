package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	// MaxUnsizedFile bounds the download of a file whose size the Hub did
	// not give (default DefaultMaxUnsizedFile; the free disk space bounds it
	// too).
	MaxUnsizedFile int64
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
	c := &Client{cfg: cfg, endpoint: ep, Parallel: 4, Retries: 4, RetryWait: 500 * time.Millisecond, StallTimeout: time.Minute,
		FreeSpace: freeSpace, MaxUnsizedFile: DefaultMaxUnsizedFile}
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

func (c *Client) newRequest(ctx context.Context, method, u string) (*http.Request, error) {
	if c.cfg.Offline {
		e := newError(ErrOfflineMode, "offline mode forbids contacting %s", u)
		e.Endpoint = c.cfg.Endpoint
		return nil, e
	}
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "fashionclip/"+buildinfo.Version)
	req.Header.Set("Accept-Encoding", "identity")
	if c.sendsToken(req.URL) {
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	}
	return req, nil
}

// sendsToken: the token goes to the Hub's own scheme and host only.
func (c *Client) sendsToken(u *url.URL) bool {
	return c.cfg.Token != "" && u.Host == c.endpoint.Host && u.Scheme == c.endpoint.Scheme
}

// Ping sends a HEAD to the Hub's front page, as a reachability check: the
// HTTP status and the round-trip time, or an ErrUnreachable (or
// ErrOfflineMode) error.
func (c *Client) Ping(ctx context.Context) (status int, rtt time.Duration, err error) {
	req, err := c.newRequest(ctx, http.MethodHead, c.cfg.Endpoint)
	if err != nil {
		return 0, 0, err
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, 0, c.unreachable(err, Ref{})
	}
	resp.Body.Close()
	return resp.StatusCode, time.Since(start), nil
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
			Size   *int64 `json:"size"`
		} `json:"lfs"`
	} `json:"siblings"`
}

// unreachable wraps a failed round trip as ErrUnreachable. A cancelled or
// expired context is the caller's doing and stays as it is.
func (c *Client) unreachable(err error, ref Ref) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // the URL is in the message already
	}
	return &Error{Kind: ErrUnreachable, Ref: ref, Endpoint: c.cfg.Endpoint, Cause: err,
		Msg: fmt.Sprintf("cannot reach the Hub at %s (%v)", c.cfg.Endpoint, err)}
}

// maxAPIAnswer bounds the Hub's JSON answers: the model info of a repo with
// thousands of files is a few MB.
const maxAPIAnswer = 64 << 20

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
		return nil, c.unreachable(err, ref)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, c.statusError(resp, ref, "")
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAPIAnswer+1))
	if err != nil {
		return nil, fmt.Errorf("read the Hub's answer for %s: %w", ref, err)
	}
	if len(body) > maxAPIAnswer {
		return nil, fmt.Errorf("the Hub's answer for %s is larger than %s", ref, FormatBytes(maxAPIAnswer))
	}
	return parseModelInfo(ref, body)
}

// parseModelInfo reads the Hub's model-info answer
// (/api/models/{repo}/revision/{rev}?blobs=true) for ref. It refuses an
// answer without a commit hash and hashes that are not hex of the right
// length; a missing or negative size is -1 (unknown).
func parseModelInfo(ref Ref, body []byte) (*RepoInfo, error) {
	var m apiModel
	if err := json.Unmarshal(body, &m); err != nil {
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
		f := RemoteFile{Path: s.RFilename, Size: -1}
		if s.Size != nil && *s.Size >= 0 {
			f.Size = *s.Size
		}
		if s.BlobID != "" {
			if !isHex(s.BlobID, 40) {
				return nil, fmt.Errorf("the Hub's answer for %s gives %s the blob id %q, not a git hash", ref, s.RFilename, s.BlobID)
			}
			f.BlobID = strings.ToLower(s.BlobID)
		}
		if s.LFS != nil {
			if !isHex(s.LFS.SHA256, 64) {
				return nil, fmt.Errorf("the Hub's answer for %s gives %s the LFS sha256 %q, not 64 hex digits", ref, s.RFilename, s.LFS.SHA256)
			}
			f.LFS = true
			f.SHA256 = strings.ToLower(s.LFS.SHA256)
			if f.Size < 0 && s.LFS.Size != nil && *s.LFS.Size >= 0 {
				f.Size = *s.LFS.Size
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
			return fileMeta{}, c.unreachable(err, ref)
		}
		resp.Body.Close()
		meta := fileMeta{
			Linked: resp.Header.Get("X-Linked-Etag") != "",
			Commit: resp.Header.Get("X-Repo-Commit"),
			ETag:   normalizeETag(firstNonEmpty(resp.Header.Get("X-Linked-Etag"), resp.Header.Get("ETag"))),
			Size:   parseSize(resp.Header.Get("X-Linked-Size")),
		}
		if meta.Size < 0 && resp.StatusCode >= 200 && resp.StatusCode < 300 {
			// A redirect's Content-Length is the length of the redirect's
			// own body, not the file's.
			meta.Size = parseSize(resp.Header.Get("Content-Length"))
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

// statusError turns a failed reply into a typed error naming what is
// missing or refused.
func (c *Client) statusError(resp *http.Response, ref Ref, file string) error {
	se := &StatusError{URL: resp.Request.URL.String(), Status: resp.StatusCode,
		Code: resp.Header.Get("X-Error-Code"), Msg: resp.Header.Get("X-Error-Message")}
	e := &Error{Ref: ref, File: file, Endpoint: c.cfg.Endpoint, Cause: se,
		TokenSent: c.sendsToken(resp.Request.URL)}
	switch {
	case se.Code == "RepoNotFound" && !e.TokenSent && (se.Status == 401 || se.Status == 403):
		// The Hub answers so for private repos too when no token is sent.
		e.Kind, e.Msg = ErrRepoNotFound, fmt.Sprintf("repo %s not found on %s, or it is gated or private and no token was sent", ref.Repo, c.cfg.Endpoint)
	case se.Code == "RepoNotFound":
		e.Kind, e.Msg = ErrRepoNotFound, fmt.Sprintf("repo %s not found on %s", ref.Repo, c.cfg.Endpoint)
	case se.Code == "GatedRepo" || se.Status == 401 || se.Status == 403:
		e.Kind, e.Msg = ErrGated, fmt.Sprintf("repo %s is gated or private and no token was sent", ref.Repo)
		if e.TokenSent {
			e.Msg = fmt.Sprintf("repo %s is gated or private and the token in use has no access", ref.Repo)
		}
	case se.Code == "RevisionNotFound":
		e.Kind, e.Msg = ErrRevisionNotFound, fmt.Sprintf("revision %q not found in repo %s", ref.Revision, ref.Repo)
	case se.Code == "EntryNotFound" || (se.Status == 404 && file != ""):
		e.Kind, e.Msg = ErrFileNotFound, fmt.Sprintf("file %s not found in %s@%s", file, ref.Repo, ref.Revision)
	case se.Status == 404:
		e.Kind, e.Msg = ErrNotFound, fmt.Sprintf("repo %s or its revision %q not found on %s", ref.Repo, ref.Revision, c.cfg.Endpoint)
	default:
		return se
	}
	return e
}

// normalizeETag strips the weak marker and the quotes.
func normalizeETag(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "W/")
	return strings.Trim(s, `"`)
}

func parseSize(s string) int64 {
	if n, ok := parseDigits(strings.TrimSpace(s)); ok {
		return n
	}
	return -1
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
