package hub

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Progress receives download progress. Calls come from several goroutines
// (one per file being fetched); implementations must be safe for that.
type Progress interface {
	// Start announces the files about to be fetched, with sizes (-1 unknown).
	Start(files []FileSize)
	// Update reports bytes on disk out of total for one file; bytes kept
	// from an interrupted download count as done.
	Update(path string, done, total int64)
	// Finish reports the end of one file, successful or not.
	Finish(path string, err error)
}

// FileSize is a file and its size, -1 when unknown.
type FileSize struct {
	Path string
	Size int64
}

type nopProgress struct{}

func (nopProgress) Start([]FileSize)            {}
func (nopProgress) Update(string, int64, int64) {}
func (nopProgress) Finish(string, error)        {}

// errStalled: no byte arrived for Client.StallTimeout.
var errStalled = errors.New("download stalled")

// errRestart asks for the transfer to start over from byte 0 (the server
// refused or garbled our range).
var errRestart = errors.New("range not honoured; restarting the file")

// digest is one checksum the downloaded bytes must have.
type digest struct {
	algo string // "sha256" or "git-sha1" (git's blob id: sha1 of "blob <size>\0" + content)
	want string
}

// fetchFile makes snapshots/{commit}/{file} exist, downloading its blob
// unless it is already cached. It returns the bytes transferred.
func (c *Client) fetchFile(ctx context.Context, repo, commit string, rf RemoteFile, prog Progress) (int64, error) {
	at := Ref{Repo: repo, Revision: commit}
	meta, err := c.head(ctx, at, rf.Path)
	if err != nil {
		return 0, err
	}
	if meta.Commit != "" && meta.Commit != commit {
		return 0, fmt.Errorf("%s: the Hub served commit %s for a request pinned to %s", rf.Path, meta.Commit, commit)
	}
	etag := meta.ETag
	if etag == "" {
		etag = firstNonEmpty(rf.SHA256, rf.BlobID)
	}
	if etag == "" {
		return 0, fmt.Errorf("%s: the Hub sent no ETag, so the file cannot be cached reliably", rf.Path)
	}
	if !etagPattern.MatchString(etag) {
		return 0, newError(ErrUnsafePath, "%s: refusing ETag %q as a blob file name", rf.Path, etag)
	}
	size := meta.Size
	if size < 0 {
		size = rf.Size
	}
	var want []digest
	if rf.SHA256 != "" {
		want = append(want, digest{"sha256", rf.SHA256})
	}
	if isHex(etag, 64) && !strings.EqualFold(etag, rf.SHA256) {
		want = append(want, digest{"sha256", strings.ToLower(etag)})
	}
	if isHex(etag, 40) && !rf.LFS {
		want = append(want, digest{"git-sha1", strings.ToLower(etag)})
	}

	repoDir := c.repoDir(repo)
	blob := filepath.Join(repoDir, "blobs", etag)
	pointer := filepath.Join(snapshotDir(repoDir, commit), filepath.FromSlash(rf.Path))
	if blobPresent(blob, size) {
		return 0, linkPointer(blob, pointer)
	}
	unlock, err := lockFile(ctx, filepath.Join(c.cfg.CacheDir, ".locks", RepoFolderName(repo), etag+".lock"))
	if err != nil {
		return 0, fmt.Errorf("lock %s: %w", rf.Path, err)
	}
	defer unlock()
	// Another process may have finished it while we waited.
	if blobPresent(blob, size) {
		return 0, linkPointer(blob, pointer)
	}
	os.Remove(blob) // a blob of the wrong size is not that file
	if err := os.MkdirAll(filepath.Dir(blob), 0o777); err != nil {
		return 0, err
	}
	// If-Range only makes sense where the server's ETag is the one we hold:
	// a regular file served by the Hub itself.
	ifRange := ""
	if !meta.Linked && sameHost(meta.Location, c.endpoint) {
		ifRange = `"` + etag + `"`
	}
	incomplete := blob + ".incomplete"
	n, err := c.download(ctx, meta.Location, ifRange, incomplete, size, at, rf.Path, prog)
	if err != nil {
		return n, err
	}
	if err := verify(incomplete, want); err != nil {
		os.Remove(incomplete)
		return n, newError(ErrChecksum, "%s from %s: %v: the downloaded bytes were deleted and nothing was linked; pull again, and report it if it keeps failing", rf.Path, repo, err)
	}
	if err := os.Rename(incomplete, blob); err != nil {
		return n, err
	}
	return n, linkPointer(blob, pointer)
}

func blobPresent(blob string, size int64) bool {
	st, err := os.Stat(blob)
	return err == nil && st.Mode().IsRegular() && (size < 0 || st.Size() == size)
}

func sameHost(rawURL string, ep *url.URL) bool {
	u, err := url.Parse(rawURL)
	return err == nil && u.Host == ep.Host && u.Scheme == ep.Scheme
}

// download fills path (an .incomplete file) from u, resuming from the bytes
// already there and retrying interrupted transfers with a Range request.
func (c *Client) download(ctx context.Context, u, ifRange, path string, size int64, at Ref, file string, prog Progress) (int64, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var fetched int64
	restart := false
	wait := c.RetryWait
	for attempt := 0; ; attempt++ {
		st, err := f.Stat()
		if err != nil {
			return fetched, err
		}
		have := st.Size()
		if restart || (size >= 0 && have > size) {
			if err := f.Truncate(0); err != nil {
				return fetched, err
			}
			have, restart = 0, false
		}
		if size >= 0 && have == size {
			prog.Update(file, have, size)
			break // complete already (an earlier run stopped before the rename); verify decides
		}
		n, err := c.getFrom(ctx, f, u, ifRange, have, size, at, file, prog)
		fetched += n
		if err == nil {
			break
		}
		if errors.Is(err, errRestart) {
			restart = true
		}
		if ctx.Err() != nil {
			return fetched, ctx.Err()
		}
		if !retryable(err) || attempt >= c.Retries {
			return fetched, err
		}
		select {
		case <-ctx.Done():
			return fetched, ctx.Err()
		case <-time.After(wait):
		}
		wait *= 2
	}
	if err := f.Sync(); err != nil {
		return fetched, err
	}
	if st, err := f.Stat(); err == nil && size >= 0 && st.Size() != size {
		return fetched, fmt.Errorf("%s: got %d bytes, want %d", file, st.Size(), size)
	}
	return fetched, nil
}

// getFrom makes one GET, asking for the bytes after offset, and writes
// them at their place in f.
func (c *Client) getFrom(ctx context.Context, f *os.File, u, ifRange string, offset, size int64, at Ref, file string, prog Progress) (int64, error) {
	// A connection that stops sending without closing would hang forever:
	// cancel the request when no byte arrives for StallTimeout.
	reqCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	alive := func() {}
	if c.StallTimeout > 0 {
		timer := time.AfterFunc(c.StallTimeout, func() { cancel(errStalled) })
		defer timer.Stop()
		alive = func() { timer.Reset(c.StallTimeout) }
	}
	stalled := func(err error) error {
		if ctx.Err() == nil && context.Cause(reqCtx) == errStalled {
			return fmt.Errorf("%w: no data for %v", errStalled, c.StallTimeout)
		}
		return err
	}
	req, err := c.newRequest(reqCtx, http.MethodGet, u)
	if err != nil {
		return 0, err
	}
	if offset > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", offset))
		if ifRange != "" {
			req.Header.Set("If-Range", ifRange)
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, stalled(err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusPartialContent:
		start, total, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if offset == 0 || !ok || start != offset || (size >= 0 && total >= 0 && total != size) {
			return 0, errRestart
		}
	case http.StatusOK:
		// The server sent the whole file (no range support, or If-Range
		// said the file changed): start over.
		if offset > 0 {
			if err := f.Truncate(0); err != nil {
				return 0, err
			}
			offset = 0
		}
	case http.StatusRequestedRangeNotSatisfiable:
		return 0, errRestart
	default:
		return 0, c.statusError(resp, at, file)
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return 0, err
	}
	buf := make([]byte, 256<<10)
	var written int64
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if size >= 0 && offset+written+int64(n) > size {
				return written, fmt.Errorf("%s: the server sent more than the announced %d bytes", file, size)
			}
			if _, err := f.Write(buf[:n]); err != nil {
				return written, err
			}
			written += int64(n)
			prog.Update(file, offset+written, size)
			alive()
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return written, stalled(rerr)
		}
	}
	if size >= 0 && offset+written < size {
		return written, io.ErrUnexpectedEOF
	}
	return written, nil
}

// parseContentRange reads "bytes START-END/TOTAL" (TOTAL may be "*").
func parseContentRange(s string) (start, total int64, ok bool) {
	s, found := strings.CutPrefix(strings.TrimSpace(s), "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, tot, found := strings.Cut(s, "/")
	if !found {
		return 0, 0, false
	}
	a, _, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, false
	}
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil {
		return 0, 0, false
	}
	total = -1
	if tot != "*" {
		if total, err = strconv.ParseInt(tot, 10, 64); err != nil {
			return 0, 0, false
		}
	}
	return start, total, true
}

func retryable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var se *StatusError
	if errors.As(err, &se) {
		return se.retryable()
	}
	var he *Error
	if errors.As(err, &he) {
		return false // an answer we understood (gated, not found, ...)
	}
	return errors.Is(err, errRestart) || errors.Is(err, errStalled) || errors.Is(err, io.ErrUnexpectedEOF) || IsNetworkError(err)
}

// verify checks every expected digest of the file in one read.
func verify(path string, want []digest) error {
	if len(want) == 0 {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	hashes := make([]hash.Hash, len(want))
	writers := make([]io.Writer, len(want))
	for i, d := range want {
		if d.algo == "git-sha1" {
			h := sha1.New()
			fmt.Fprintf(h, "blob %d\x00", st.Size())
			hashes[i] = h
		} else {
			hashes[i] = sha256.New()
		}
		writers[i] = hashes[i]
	}
	if _, err := io.Copy(io.MultiWriter(writers...), f); err != nil {
		return err
	}
	for i, d := range want {
		if got := hex.EncodeToString(hashes[i].Sum(nil)); got != d.want {
			return fmt.Errorf("%s mismatch (want %s, got %s)", d.algo, d.want, got)
		}
	}
	return nil
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}
