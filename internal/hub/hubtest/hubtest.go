// Package hubtest runs a fake Hugging Face Hub for tests: the model API,
// resolve/ with ETag, X-Linked-Etag, X-Linked-Size and X-Repo-Commit
// headers, LFS files redirected (302) to a separate CDN server, byte ranges,
// Bearer auth for gated repos, request counters and fault injection
// (connections cut mid-body, corrupt bytes, no byte ranges, slow bodies, and
// files served with no size, an opaque ETag or a body without end).
package hubtest

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// Repo is one repo revision served by the fake Hub. Pass several Repo
// values with the same ID and different Revision to serve several commits.
type Repo struct {
	ID       string            // owner/name
	Revision string            // branch or tag; default "main"
	Commit   string            // 40 hex; default derived from the content
	Files    map[string][]byte // repo path -> content
	// LFS lists the files stored in LFS; nil means every *.onnx* file.
	LFS []string
	// Gated repos answer 401 without the server's token, 403 with another.
	Gated bool
}

// Request is one request the fake Hub received.
type Request struct {
	Server string // "hub" or "cdn"
	Method string
	Path   string
	Range  string
	Auth   string // the Authorization header
}

// Server is the fake Hub and its CDN.
type Server struct {
	// URL is the Hub endpoint (HF_ENDPOINT); CDNURL is the separate LFS host.
	URL, CDNURL string
	// Token is the Bearer token gated repos accept.
	Token string

	t     testing.TB
	hub   *httptest.Server
	cdn   *httptest.Server
	mu    sync.Mutex
	repos []*Repo
	log   []Request
	bytes int64
	// body bytes sent per repo file path
	fileBytes map[string]int64
	// fault injection, keyed by repo file path
	truncate map[string]int
	corrupt  map[string]bool
	faults   map[string]FileFaults
	noRange  bool
	delay    time.Duration
}

// FileFaults make one file misbehave the way a careless mirror or proxy
// does. The real Hub always sends a size and a hash for every file.
type FileFaults struct {
	// NoSize drops the size everywhere: from the API listing, from HEAD
	// (no Content-Length, no X-Linked-Size) and from GET, whose body is sent
	// without Content-Length and without chunking, so it ends when the
	// connection closes and a cut connection looks like the end of the file.
	// Such bodies ignore Range.
	NoSize bool
	// OpaqueETag, when set, replaces the ETag (and X-Linked-Etag) with a
	// value that is no hash.
	OpaqueETag string
	// Unhashed drops the file's blob id and LFS object from the API
	// listing. With OpaqueETag too, nothing tells the client what the bytes
	// should hash to.
	Unhashed bool
	// Endless makes GET bodies repeat the content forever.
	Endless bool
}

// NewServer starts the fake Hub with the given repos; it stops with the test.
// The Hub listens on 127.0.0.1 and the CDN on localhost, so they are
// different hosts to a client (the token must not travel to the CDN).
func NewServer(t testing.TB, repos ...Repo) *Server {
	t.Helper()
	s := &Server{t: t, Token: "hf_test_token", truncate: map[string]int{}, corrupt: map[string]bool{},
		faults: map[string]FileFaults{}, fileBytes: map[string]int64{}}
	for i := range repos {
		s.Add(repos[i])
	}
	// The CDN's address is set before the Hub starts: the Hub's handlers read
	// it, and starting the server is what orders that read after this write.
	s.cdn = httptest.NewServer(http.HandlerFunc(s.serveCDN))
	u, _ := url.Parse(s.cdn.URL)
	s.CDNURL = "http://localhost:" + u.Port()
	s.hub = httptest.NewServer(http.HandlerFunc(s.serveHub))
	s.URL = s.hub.URL
	t.Cleanup(s.Close)
	return s
}

// Close stops both hosts early, e.g. to prove a later run needs no network.
// Closing twice is harmless.
func (s *Server) Close() {
	s.hub.Close()
	s.cdn.Close()
}

// Add serves one more repo revision.
func (s *Server) Add(r Repo) {
	if r.Revision == "" {
		r.Revision = "main"
	}
	if r.Commit == "" {
		r.Commit = CommitFor(r)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repos = append(s.repos, &r)
}

// CommitFor is the commit hash a Repo gets when it names none.
func CommitFor(r Repo) string {
	if r.Revision == "" {
		r.Revision = "main"
	}
	h := sha1.New()
	fmt.Fprintf(h, "%s\x00%s\x00", r.ID, r.Revision)
	names := make([]string, 0, len(r.Files))
	for n := range r.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%x\x00", n, sha256.Sum256(r.Files[n]))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// GitBlobSHA1 is git's object id of content (the Hub's ETag of regular files).
func GitBlobSHA1(content []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(content))
	h.Write(content)
	return hex.EncodeToString(h.Sum(nil))
}

// SHA256 is the hex sha256 of content (the LFS object id).
func SHA256(content []byte) string {
	sum := sha256.Sum256(content)
	return hex.EncodeToString(sum[:])
}

// ETag is the blob name huggingface_hub uses for a file of r.
func (r Repo) ETag(path string) string {
	if r.isLFS(path) {
		return SHA256(r.Files[path])
	}
	return GitBlobSHA1(r.Files[path])
}

func (r *Repo) isLFS(path string) bool {
	if r.LFS == nil {
		return strings.Contains(path, ".onnx")
	}
	for _, p := range r.LFS {
		if p == path {
			return true
		}
	}
	return false
}

// Requests returns a copy of the request log.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.log...)
}

// Count is the number of requests received.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.log)
}

// BytesServed is the number of file body bytes sent (Hub and CDN).
func (s *Server) BytesServed() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes
}

// FileBytesServed is the number of body bytes sent for one repo file path
// (files with equal content share the count of the first one served).
func (s *Server) FileBytesServed(path string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fileBytes[path]
}

// Reset clears the counters and the log.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log, s.bytes, s.fileBytes = nil, 0, map[string]int64{}
}

// TruncateNext makes the next download of path stop after n body bytes by
// dropping the connection (an interrupted transfer).
func (s *Server) TruncateNext(path string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.truncate[path] = n
}

// Corrupt makes every download of path carry one flipped byte.
func (s *Server) Corrupt(path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.corrupt[path] = true
}

// SetFaults makes every later request for path misbehave as f says.
func (s *Server) SetFaults(path string, f FileFaults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[path] = f
}

func (s *Server) faultsFor(path string) FileFaults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults[path]
}

// DisableRanges makes the servers ignore Range headers (answering 200).
func (s *Server) DisableRanges() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noRange = true
}

// SlowBodies pauses d between 4 KiB chunks of file bodies, so concurrent
// clients overlap.
func (s *Server) SlowBodies(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

func (s *Server) record(server string, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, Request{Server: server, Method: r.Method, Path: r.URL.Path,
		Range: r.Header.Get("Range"), Auth: r.Header.Get("Authorization")})
}

// find returns the repo revision for id at rev (a branch or a commit).
func (s *Server) find(id, rev string) (repoKnown bool, r *Repo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.repos {
		if x.ID == id {
			repoKnown = true
			if x.Revision == rev || x.Commit == rev {
				return true, x
			}
		}
	}
	return repoKnown, nil
}

func (s *Server) gatedFor(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.repos {
		if x.ID == id && x.Gated {
			return true
		}
	}
	return false
}

func hubError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("X-Error-Code", code)
	w.Header().Set("X-Error-Message", msg)
	http.Error(w, msg, status)
}

// authorize applies the gate; it reports whether the request may go on.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, id string) bool {
	if !s.gatedFor(id) {
		return true
	}
	switch r.Header.Get("Authorization") {
	case "Bearer " + s.Token:
		return true
	case "":
		hubError(w, http.StatusUnauthorized, "GatedRepo", "Access to model "+id+" is restricted. You must be authenticated to access it.")
	default:
		hubError(w, http.StatusForbidden, "GatedRepo", "Access to model "+id+" is restricted and you are not in the authorized list.")
	}
	return false
}

func (s *Server) serveHub(w http.ResponseWriter, r *http.Request) {
	s.record("hub", r)
	p := r.URL.EscapedPath()
	if rest, ok := strings.CutPrefix(p, "/api/models/"); ok {
		s.serveAPI(w, r, rest)
		return
	}
	// /{owner}/{name}/resolve/{rev}/{path...}
	parts := strings.SplitN(strings.TrimPrefix(p, "/"), "/", 5)
	if len(parts) < 5 || parts[2] != "resolve" {
		http.NotFound(w, r)
		return
	}
	id := parts[0] + "/" + parts[1]
	rev, _ := url.PathUnescape(parts[3])
	file, _ := url.PathUnescape(parts[4])
	repo, ok := s.lookup(w, r, id, rev)
	if !ok {
		return
	}
	content, ok := repo.Files[file]
	if !ok {
		hubError(w, http.StatusNotFound, "EntryNotFound", "Entry not found")
		return
	}
	w.Header().Set("X-Repo-Commit", repo.Commit)
	ff := s.faultsFor(file)
	if repo.isLFS(file) {
		// As the Hub: the pointer's ETag, the object's in X-Linked-Etag,
		// and a redirect to the content-addressed CDN URL.
		w.Header().Set("ETag", quoted(firstNonEmpty(ff.OpaqueETag, GitBlobSHA1(content))))
		w.Header().Set("X-Linked-Etag", quoted(firstNonEmpty(ff.OpaqueETag, SHA256(content))))
		if !ff.NoSize {
			w.Header().Set("X-Linked-Size", fmt.Sprint(len(content)))
		}
		w.Header().Set("Location", s.CDNURL+"/lfs/"+SHA256(content)+"?file="+url.QueryEscape(id+"/"+file))
		w.WriteHeader(http.StatusFound)
		return
	}
	w.Header().Set("ETag", quoted(firstNonEmpty(ff.OpaqueETag, GitBlobSHA1(content))))
	s.serveBody(w, r, file, content)
}

// lookup authorizes the request and finds the repo revision, answering 401,
// 403 or 404 as the Hub does when it cannot.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request, id, rev string) (*Repo, bool) {
	if !s.authorize(w, r, id) {
		return nil, false
	}
	known, repo := s.find(id, rev)
	switch {
	case !known:
		hubError(w, http.StatusNotFound, "RepoNotFound", "Repository not found")
		return nil, false
	case repo == nil:
		hubError(w, http.StatusNotFound, "RevisionNotFound", "Invalid rev id: "+rev)
		return nil, false
	}
	return repo, true
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, rest string) {
	// {owner}/{name}/revision/{rev}
	parts := strings.SplitN(rest, "/", 4)
	if len(parts) != 4 || parts[2] != "revision" {
		http.NotFound(w, r)
		return
	}
	id := parts[0] + "/" + parts[1]
	rev, _ := url.PathUnescape(parts[3])
	repo, ok := s.lookup(w, r, id, rev)
	if !ok {
		return
	}
	type lfs struct {
		SHA256      string `json:"sha256"`
		Size        *int   `json:"size,omitempty"`
		PointerSize int    `json:"pointerSize"`
	}
	type sibling struct {
		RFilename string `json:"rfilename"`
		BlobID    string `json:"blobId,omitempty"`
		Size      *int   `json:"size,omitempty"`
		LFS       *lfs   `json:"lfs,omitempty"`
	}
	blobs := r.URL.Query().Get("blobs") == "true"
	names := make([]string, 0, len(repo.Files))
	for n := range repo.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	sibs := []sibling{}
	for _, n := range names {
		sb := sibling{RFilename: n}
		if ff := s.faultsFor(n); blobs {
			size := len(repo.Files[n])
			sizep := &size
			if ff.NoSize {
				sizep = nil
			}
			sb.Size = sizep
			if !ff.Unhashed {
				sb.BlobID = GitBlobSHA1(repo.Files[n])
				if repo.isLFS(n) {
					sb.LFS = &lfs{SHA256: SHA256(repo.Files[n]), Size: sizep, PointerSize: 134}
				}
			}
		}
		sibs = append(sibs, sb)
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"id": id, "modelId": id, "sha": repo.Commit, "private": false, "gated": repo.Gated,
		"siblings": sibs,
	})
}

func (s *Server) serveCDN(w http.ResponseWriter, r *http.Request) {
	s.record("cdn", r)
	oid, ok := strings.CutPrefix(r.URL.Path, "/lfs/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	var content []byte
	var file string
	for _, repo := range s.repos {
		for name, c := range repo.Files {
			if SHA256(c) == oid {
				content, file = c, name
			}
		}
	}
	s.mu.Unlock()
	if content == nil {
		http.NotFound(w, r)
		return
	}
	// A CDN's own validator, unrelated to the Hub's etags.
	w.Header().Set("ETag", `"cdn-`+oid[:16]+`"`)
	s.serveBody(w, r, file, content)
}

// serveBody sends content honouring Range (unless disabled) and applies the
// faults registered for file.
func (s *Server) serveBody(w http.ResponseWriter, r *http.Request, file string, content []byte) {
	s.mu.Lock()
	cut, truncate := s.truncate[file]
	if truncate && r.Method == http.MethodGet {
		delete(s.truncate, file)
	}
	if s.corrupt[file] && len(content) > 0 {
		content = bytes.Clone(content)
		content[len(content)/2] ^= 0xff
	}
	noRange, delay, ff := s.noRange, s.delay, s.faults[file]
	s.mu.Unlock()
	if noRange {
		r.Header.Del("Range")
	}
	cw := &countingWriter{ResponseWriter: w, s: s, file: file, delay: delay, limit: -1}
	if truncate && r.Method == http.MethodGet {
		cw.limit = cut
	}
	switch {
	case ff.NoSize || ff.Endless:
		if ff.NoSize {
			// No length and no chunks: the body ends when the connection does.
			w.Header().Set("Transfer-Encoding", "identity")
		}
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			for {
				if _, err := cw.Write(content); err != nil || !ff.Endless || len(content) == 0 {
					break
				}
			}
		}
	default:
		http.ServeContent(cw, r, "", time.Time{}, bytes.NewReader(content))
	}
	if cw.cut {
		// Drop the connection mid-body, as a network failure would.
		panic(http.ErrAbortHandler)
	}
}

type countingWriter struct {
	http.ResponseWriter
	s     *Server
	file  string
	delay time.Duration
	limit int // body bytes allowed before cutting; -1 = no limit
	sent  int
	cut   bool
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.cut {
		return 0, http.ErrAbortHandler
	}
	if c.limit >= 0 && c.sent+len(p) > c.limit {
		p = p[:c.limit-c.sent]
		c.cut = true
	}
	written := 0
	for len(p) > 0 {
		n := min(len(p), 4096)
		if c.delay > 0 {
			time.Sleep(c.delay)
		}
		m, err := c.ResponseWriter.Write(p[:n])
		written += m
		c.sent += m
		c.s.mu.Lock()
		c.s.bytes += int64(m)
		c.s.fileBytes[c.file] += int64(m)
		c.s.mu.Unlock()
		if err != nil {
			return written, err
		}
		p = p[n:]
	}
	if c.cut {
		if f, ok := c.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
		return written, http.ErrAbortHandler
	}
	return written, nil
}

func quoted(etag string) string { return `"` + etag + `"` }

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Env is the environment a client needs to use the server with cacheDir.
func (s *Server) Env(cacheDir string) map[string]string {
	return map[string]string{"HF_ENDPOINT": s.URL, "HF_HUB_CACHE": cacheDir, "HF_HOME": cacheDir + "-home"}
}
