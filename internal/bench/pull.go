package bench

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// RemoteFile is a file to download and the MD5 it must have.
type RemoteFile struct {
	Name string
	MD5  string
}

// FMNISTFiles are the four canonical Fashion-MNIST files with the MD5s
// Zalando publishes.
var FMNISTFiles = []RemoteFile{
	{"train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"},
	{"train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"},
	{"t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"},
	{"t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"},
}

// FMNISTMirrors are the canonical download locations, tried in order: the
// GitHub repository's data folder (HTTPS) and Zalando's S3 bucket.
var FMNISTMirrors = []string{
	"https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion",
	"http://fashion-mnist.s3-website.eu-central-1.amazonaws.com",
}

// PullOptions tune Pull.
type PullOptions struct {
	// Client does the requests (default http.DefaultClient).
	Client *http.Client
	// BaseURLs are tried in order for each file; a file's URL is base + "/" + name.
	BaseURLs []string
	// Files are what to fetch.
	Files []RemoteFile
	// Progress, when set, hears about each file as it is handled.
	Progress func(PullResult)
}

// PullResult tells what happened to one file.
type PullResult struct {
	Path    string
	Bytes   int64
	Cached  bool   // already present with the right MD5: not downloaded
	FromURL string // where it came from when downloaded
}

// Pull downloads every file into dir. A file already there with the right
// MD5 is kept; anything else is fetched to NAME.partial, checked, and only
// then renamed into place, so dir never keeps a file whose MD5 differs from
// the published one (a stale NAME is replaced, or removed when no download
// succeeds).
func Pull(ctx context.Context, dir string, o PullOptions) ([]PullResult, error) {
	if o.Client == nil {
		o.Client = http.DefaultClient
	}
	if len(o.BaseURLs) == 0 {
		return nil, errors.New("no base URL to download from")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var out []PullResult
	for _, f := range o.Files {
		res, err := pullOne(ctx, dir, f, o)
		if err != nil {
			return out, err
		}
		out = append(out, res)
		if o.Progress != nil {
			o.Progress(res)
		}
	}
	return out, nil
}

func pullOne(ctx context.Context, dir string, f RemoteFile, o PullOptions) (PullResult, error) {
	dst := filepath.Join(dir, f.Name)
	stale := false
	if sum, n, err := fileMD5(dst); err == nil && strings.EqualFold(sum, f.MD5) {
		return PullResult{Path: dst, Bytes: n, Cached: true}, nil
	} else if err == nil {
		stale = true
	} else if !errors.Is(err, fs.ErrNotExist) {
		return PullResult{}, err
	}
	var errs []error
	for _, base := range o.BaseURLs {
		url := strings.TrimRight(base, "/") + "/" + f.Name
		n, err := download(ctx, o.Client, url, dst, f.MD5)
		if err == nil {
			return PullResult{Path: dst, Bytes: n, FromURL: url}, nil
		}
		if ctx.Err() != nil {
			return PullResult{}, ctx.Err()
		}
		errs = append(errs, err)
	}
	if stale {
		// What is there is not the published file: better none than a wrong one.
		if err := os.Remove(dst); err == nil {
			errs = append(errs, fmt.Errorf("removed %s, whose MD5 was not the published one", dst))
		}
	}
	return PullResult{}, fmt.Errorf("%s: %w", f.Name, errors.Join(errs...))
}

// download fetches url to dst+".partial", hashing as it writes, and renames
// it to dst only when the MD5 matches.
func download(ctx context.Context, c *http.Client, url, dst, wantMD5 string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	partial := dst + ".partial"
	fh, err := os.Create(partial)
	if err != nil {
		return 0, err
	}
	keep := false
	defer func() {
		if !keep {
			fh.Close()
			os.Remove(partial)
		}
	}()
	h := md5.New()
	n, err := io.Copy(io.MultiWriter(fh, h), resp.Body)
	if err != nil {
		return 0, fmt.Errorf("GET %s: %w", url, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, wantMD5) {
		return 0, fmt.Errorf("GET %s: MD5 %s, want %s (file discarded)", url, got, wantMD5)
	}
	if err := fh.Close(); err != nil {
		return 0, err
	}
	if err := os.Rename(partial, dst); err != nil {
		return 0, err
	}
	keep = true
	return n, nil
}

func fileMD5(path string) (string, int64, error) {
	fh, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer fh.Close()
	h := md5.New()
	n, err := io.Copy(h, fh)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
