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
	"net"
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

// DefaultMaxUnsizedFile bounds a download whose size the Hub did not give.
// The Hub always gives sizes; the bound is for mirrors that do not.
const DefaultMaxUnsizedFile = 8 << 30

// fetchFile makes snapshots/{commit}/{file} exist, downloading its blob
// unless it is already cached. It returns the bytes transferred. ref is
// the reference the caller asked for; errors carry it.
func (c *Client) fetchFile(ctx context.Context, ref Ref, commit string, rf RemoteFile, prog Progress) (int64, error) {
	at := Ref{Repo: ref.Repo, Revision: commit}
	fail := func(kind error, format string, args ...any) error {
		e := newError(kind, format, args...).withRef(ref, "")
		e.File = rf.Path
		return e
	}
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
		return 0, fail(ErrUnverifiable, "%s: the Hub sent no ETag, so the file cannot be cached reliably", rf.Path)
	}
	if !etagPattern.MatchString(etag) {
		return 0, fail(ErrUnsafePath, "%s: refusing ETag %q as a blob file name", rf.Path, etag)
	}
	t := &transfer{url: meta.Location, size: meta.Size, file: rf.Path, at: at, prog: prog,
		want: digestsFor(etag, meta.Linked, rf)}
	if t.size < 0 {
		t.size = rf.Size
	}

	repoDir := c.repoDir(ref.Repo)
	blob := filepath.Join(repoDir, "blobs", etag)
	pointer := filepath.Join(snapshotDir(repoDir, commit), filepath.FromSlash(rf.Path))
	// A blob is trusted as written when its size or its hash was checked
	// then; an unsized, unhashed one may be the half file an older version
	// accepted, and is fetched again (or refused).
	trusted := t.size >= 0 || len(t.want) > 0
	if trusted && blobPresent(blob, t.size) {
		return 0, linkPointer(blob, pointer)
	}
	unlock, err := lockFile(ctx, filepath.Join(c.cfg.CacheDir, ".locks", RepoFolderName(ref.Repo), etag+".lock"))
	if err != nil {
		return 0, fmt.Errorf("lock %s: %w", rf.Path, err)
	}
	defer unlock()
	// Another process may have finished it while we waited.
	if trusted && blobPresent(blob, t.size) {
		return 0, linkPointer(blob, pointer)
	}
	os.Remove(blob) // a blob of the wrong size is not that file
	if err := os.MkdirAll(filepath.Dir(blob), 0o777); err != nil {
		return 0, err
	}
	// If-Range only makes sense where the server's ETag is the one we hold:
	// a regular file served by the Hub itself.
	if !meta.Linked && sameHost(meta.Location, c.endpoint) {
		t.ifRange = `"` + etag + `"`
	}
	t.limit, t.limitIsDisk = c.unsizedLimit(filepath.Dir(blob))
	incomplete := blob + ".incomplete"
	n, err := c.download(ctx, incomplete, t)
	if err != nil {
		var he *Error
		if errors.As(err, &he) {
			he.Ref, he.File = ref, rf.Path
		}
		if errors.Is(err, ErrTooLarge) || errors.Is(err, ErrDiskSpace) || errors.Is(err, ErrUnverifiable) {
			// Refused, not interrupted: what was written is no use to a resume.
			os.Remove(incomplete)
		}
		return n, err
	}
	if err := verify(incomplete, t.want); err != nil {
		os.Remove(incomplete)
		msg := "%s from %s: %v: the downloaded bytes were deleted and nothing was linked"
		if t.size < 0 {
			msg += " (the Hub gave no size, so a cut connection looks like the end of the file)"
		}
		return n, fail(ErrChecksum, msg, rf.Path, ref.Repo, err)
	}
	if err := os.Rename(incomplete, blob); err != nil {
		return n, err
	}
	return n, linkPointer(blob, pointer)
}

// digestsFor lists what the bytes must hash to: the LFS sha256 of the
// listing, a sha256 ETag, and for a regular file the git blob id of its
// ETag or of the listing.
func digestsFor(etag string, linked bool, rf RemoteFile) []digest {
	var want []digest
	add := func(d digest) {
		for _, x := range want {
			if x == d {
				return
			}
		}
		want = append(want, d)
	}
	if rf.SHA256 != "" {
		add(digest{"sha256", rf.SHA256})
	}
	if isHex(etag, 64) {
		add(digest{"sha256", strings.ToLower(etag)})
	}
	if !rf.LFS && !linked {
		// An LFS file's blob id is its pointer's, not its content's.
		if isHex(etag, 40) {
			add(digest{"git-sha1", strings.ToLower(etag)})
		}
		if rf.BlobID != "" {
			add(digest{"git-sha1", rf.BlobID})
		}
	}
	return want
}

// unsizedLimit is how far a download of unknown size may grow: the
// client's bound, or the free disk space when that is less.
func (c *Client) unsizedLimit(dir string) (limit int64, isDisk bool) {
	limit = c.MaxUnsizedFile
	if limit <= 0 {
		limit = DefaultMaxUnsizedFile
	}
	if c.FreeSpace != nil {
		if free, err := c.FreeSpace(dir); err == nil && free < uint64(limit) {
			return int64(free), true
		}
	}
	return limit, false
}

func blobPresent(blob string, size int64) bool {
	st, err := os.Stat(blob)
	return err == nil && st.Mode().IsRegular() && (size < 0 || st.Size() == size)
}

func sameHost(rawURL string, ep *url.URL) bool {
	u, err := url.Parse(rawURL)
	return err == nil && u.Host == ep.Host && u.Scheme == ep.Scheme
}

// transfer is one file's download.
type transfer struct {
	url, ifRange string
	// size is -1 while unknown; a GET's Content-Length (or Content-Range
	// total) fills it in when the Hub's metadata had none.
	size int64
	want []digest // checked after the download; none: size alone proves it whole
	// limit bounds a download of unknown size (limitIsDisk: it is the free
	// disk space).
	limit       int64
	limitIsDisk bool
	file        string
	at          Ref
	prog        Progress
}

// download fills path (an .incomplete file) from t.url, resuming from the
// bytes already there and retrying interrupted transfers with a Range
// request.
func (c *Client) download(ctx context.Context, path string, t *transfer) (int64, error) {
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
		if restart || (t.size >= 0 && have > t.size) {
			if err := f.Truncate(0); err != nil {
				return fetched, err
			}
			have, restart = 0, false
		}
		if t.size >= 0 && have == t.size {
			t.prog.Update(t.file, have, t.size)
			break // complete already (an earlier run stopped before the rename); verify decides
		}
		n, err := c.getFrom(ctx, f, have, t)
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
	if st, err := f.Stat(); err == nil && t.size >= 0 && st.Size() != t.size {
		return fetched, fmt.Errorf("%s: got %d bytes, want %d", t.file, st.Size(), t.size)
	}
	return fetched, nil
}

// getFrom makes one GET, asking for the bytes after offset, and writes
// them at their place in f.
func (c *Client) getFrom(ctx context.Context, f *os.File, offset int64, t *transfer) (int64, error) {
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
	req, err := c.newRequest(reqCtx, http.MethodGet, t.url)
	if err != nil {
		return 0, err
	}
	if offset > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", offset))
		if t.ifRange != "" {
			req.Header.Set("If-Range", t.ifRange)
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
		if offset == 0 || !ok || start != offset || (t.size >= 0 && total >= 0 && total != t.size) {
			return 0, errRestart
		}
		if t.size < 0 {
			t.size = total
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
		if t.size < 0 {
			t.size = resp.ContentLength // -1 when the body ends with the connection
		}
	case http.StatusRequestedRangeNotSatisfiable:
		return 0, errRestart
	default:
		return 0, c.statusError(resp, t.at, t.file)
	}
	if t.size < 0 && len(t.want) == 0 {
		// Neither a size nor a hash: a cut connection would pass for the
		// end of the file. Refuse before reading the body.
		return 0, newError(ErrUnverifiable, "%s: the Hub gave neither a size nor a hash for it, so a complete download cannot be told from a cut one: refusing it", t.file)
	}
	if t.size > t.limit && t.limitIsDisk {
		return 0, newError(ErrDiskSpace, "%s: %s does not fit in the %s of free disk space", t.file, FormatBytes(t.size), FormatBytes(t.limit))
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return 0, err
	}
	buf := make([]byte, 256<<10)
	var written int64
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			end := offset + written + int64(n)
			if t.size >= 0 && end > t.size {
				return written, fmt.Errorf("%s: the server sent more than the announced %d bytes", t.file, t.size)
			}
			if t.size < 0 && end > t.limit {
				if t.limitIsDisk {
					return written, newError(ErrDiskSpace, "%s: the Hub gave no size and the download outgrew the %s of free disk space", t.file, FormatBytes(t.limit))
				}
				return written, newError(ErrTooLarge, "%s: the Hub gave no size and the download outgrew the bound of %s", t.file, FormatBytes(t.limit))
			}
			if _, err := f.Write(buf[:n]); err != nil {
				return written, err
			}
			written += int64(n)
			t.prog.Update(t.file, offset+written, t.size)
			alive()
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return written, stalled(rerr)
		}
	}
	if t.size >= 0 && offset+written < t.size {
		return written, io.ErrUnexpectedEOF
	}
	return written, nil
}

// parseContentRange reads "bytes START-END/TOTAL" (TOTAL may be "*"). It
// refuses signs, an END before START and a TOTAL that does not hold END.
func parseContentRange(s string) (start, total int64, ok bool) {
	s, found := strings.CutPrefix(strings.TrimSpace(s), "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, tot, found := strings.Cut(s, "/")
	if !found {
		return 0, 0, false
	}
	a, b, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, false
	}
	start, okA := parseDigits(a)
	end, okB := parseDigits(b)
	if !okA || !okB || end < start {
		return 0, 0, false
	}
	total = -1
	if tot != "*" {
		if total, ok = parseDigits(tot); !ok || total <= end {
			return 0, 0, false
		}
	}
	return start, total, true
}

// parseDigits reads a non-negative decimal with no sign or space.
func parseDigits(s string) (int64, bool) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
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
	return errors.Is(err, errRestart) || errors.Is(err, errStalled) || errors.Is(err, io.ErrUnexpectedEOF) || isNetworkError(err)
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

// isNetworkError: the transfer broke below HTTP (reset, timeout, DNS).
func isNetworkError(err error) bool {
	var ne net.Error
	var oe *net.OpError
	var ue *url.Error
	return errors.As(err, &ne) || errors.As(err, &oe) || errors.As(err, &ue)
}
