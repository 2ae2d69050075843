package hub

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/fashionclip/fashionclip/internal/ortlib"
)

// DefaultRuntimeBase is where Microsoft publishes ONNX Runtime releases;
// $FASHIONCLIP_ORT_DOWNLOAD_BASE replaces it (a mirror, or a test server).
const DefaultRuntimeBase = "https://github.com/microsoft/onnxruntime/releases/download"

// EnvRuntimeBase names the variable overriding DefaultRuntimeBase.
const EnvRuntimeBase = "FASHIONCLIP_ORT_DOWNLOAD_BASE"

// RuntimeOptions say what InstallRuntime installs where.
type RuntimeOptions struct {
	// Version is the ONNX Runtime release, e.g. "1.24.3".
	Version string
	// From is a local .tgz or an http(s) URL; empty means the official
	// release archive for this platform.
	From string
	// SHA256 is the archive's expected checksum (hex); empty skips the check.
	SHA256 string
	// DestRoot receives {Version}/ (ort.RuntimeDir()).
	DestRoot string
	// LibraryName is the file the library lookup opens; empty means
	// ortlib.LibraryName(GOOS).
	LibraryName string
	// Getenv reads $FASHIONCLIP_ORT_DOWNLOAD_BASE (nil: os.Getenv).
	Getenv func(string) string
	// Offline refuses any download (a local From still works).
	Offline bool
	// Progress receives archive download bytes (total -1 when unknown).
	Progress func(done, total int64)
	// MaxBytes bounds the archive download (0: DefaultMaxRuntimeArchive).
	MaxBytes int64
	// GOOS and GOARCH pick the archive (empty: this program's).
	GOOS, GOARCH string
}

// RuntimeInstall reports an installation.
type RuntimeInstall struct {
	Version string   `json:"version"`
	Dir     string   `json:"dir"`
	Library string   `json:"library"` // Dir/LibraryName
	Source  string   `json:"source"`  // the URL or file installed from
	SHA256  string   `json:"sha256"`  // of the archive
	Files   []string `json:"files"`   // names created in Dir
}

var versionPattern = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$`)

// DefaultMaxRuntimeArchive bounds a runtime archive download: Microsoft's
// largest (GPU) archives are a few hundred MB.
const DefaultMaxRuntimeArchive = 2 << 30

// RuntimeArchiveName is the official release archive for a platform.
func RuntimeArchiveName(goos, goarch, version string) (string, error) {
	plat := map[string]string{
		"linux/amd64":  "linux-x64",
		"linux/arm64":  "linux-aarch64",
		"darwin/arm64": "osx-arm64",
		"darwin/amd64": "osx-x86_64",
	}[goos+"/"+goarch]
	if plat == "" {
		return "", newError(ErrUnsupportedPlatform, "no official ONNX Runtime archive is known for %s/%s", goos, goarch)
	}
	return "onnxruntime-" + plat + "-" + version + ".tgz", nil
}

// InstallRuntime fetches (or opens) an ONNX Runtime release archive,
// checks its sha256, and installs its lib/libonnxruntime* files into
// DestRoot/Version. Nothing is installed unless the whole archive was read
// and verified: the files are staged beside the target and renamed into
// place at the end. Members whose paths or link targets leave the target
// folder make the whole archive refused.
func InstallRuntime(ctx context.Context, opts RuntimeOptions) (*RuntimeInstall, error) {
	if !versionPattern.MatchString(opts.Version) {
		return nil, fmt.Errorf("invalid ONNX Runtime version %q (want e.g. 1.24.3)", opts.Version)
	}
	if opts.DestRoot == "" {
		return nil, errors.New("no folder to install ONNX Runtime into")
	}
	goos, goarch := opts.GOOS, opts.GOARCH
	if goos == "" {
		goos = runtime.GOOS
	}
	if goarch == "" {
		goarch = runtime.GOARCH
	}
	libName := opts.LibraryName
	if libName == "" {
		libName = ortlib.LibraryName(goos)
	}
	want := strings.ToLower(strings.TrimSpace(opts.SHA256))
	if want != "" && !isHex(want, 64) {
		return nil, newError(ErrInvalidChecksum, "the expected archive sha256 %q is not 64 hex digits", opts.SHA256)
	}
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	src := opts.From
	if src == "" {
		name, err := RuntimeArchiveName(goos, goarch, opts.Version)
		if err != nil {
			return nil, err
		}
		base := strings.TrimRight(firstNonEmpty(getenv(EnvRuntimeBase), DefaultRuntimeBase), "/")
		src = base + "/v" + opts.Version + "/" + name
	}
	if err := os.MkdirAll(opts.DestRoot, 0o777); err != nil {
		return nil, err
	}

	archive, sum, cleanup, err := openArchive(ctx, src, opts)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	if want != "" && sum != want {
		e := newError(ErrChecksum, "ONNX Runtime archive %s has sha256 %s, want %s: refusing to install it", src, sum, want)
		e.File = src
		return nil, e
	}
	if _, err := archive.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}

	stage, err := os.MkdirTemp(opts.DestRoot, ".install-"+opts.Version+"-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(stage)
	files, err := extractLibs(archive, stage)
	if err != nil {
		return nil, fmt.Errorf("ONNX Runtime archive %s: %w", src, err)
	}
	if err := ensureLibraryName(stage, libName, files); err != nil {
		return nil, fmt.Errorf("ONNX Runtime archive %s: %w", src, err)
	}
	entries, _ := os.ReadDir(stage)
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)

	dest := filepath.Join(opts.DestRoot, opts.Version)
	old := ""
	if _, err := os.Lstat(dest); err == nil {
		old = filepath.Join(opts.DestRoot, ".old-"+opts.Version+"-"+randomSuffix())
		if err := os.Rename(dest, old); err != nil {
			return nil, err
		}
	}
	if err := os.Rename(stage, dest); err != nil {
		if old != "" {
			os.Rename(old, dest)
		}
		return nil, err
	}
	if old != "" {
		os.RemoveAll(old)
	}
	return &RuntimeInstall{Version: opts.Version, Dir: dest, Library: filepath.Join(dest, libName),
		Source: src, SHA256: sum, Files: names}, nil
}

// openArchive returns the archive as a seekable file with its sha256. A URL
// is downloaded to a temporary file beside the target (removed by cleanup).
func openArchive(ctx context.Context, src string, opts RuntimeOptions) (f *os.File, sum string, cleanup func(), err error) {
	h := sha256.New()
	if !strings.HasPrefix(src, "http://") && !strings.HasPrefix(src, "https://") {
		f, err := os.Open(src)
		if err != nil {
			return nil, "", nil, err
		}
		if _, err := io.Copy(h, f); err != nil {
			f.Close()
			return nil, "", nil, err
		}
		return f, hex.EncodeToString(h.Sum(nil)), func() { f.Close() }, nil
	}
	if opts.Offline {
		e := newError(ErrOfflineMode, "offline mode forbids downloading %s", src)
		e.File = src
		return nil, "", nil, e
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return nil, "", nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = 60 * time.Second
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return nil, "", nil, fmt.Errorf("download %s: %w", src, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, "", nil, fmt.Errorf("download ONNX Runtime %s: %w", opts.Version, &StatusError{URL: src, Status: resp.StatusCode})
	}
	limit := opts.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxRuntimeArchive
	}
	tooLarge := func() error {
		e := newError(ErrTooLarge, "download %s: the archive is larger than the bound of %s", src, FormatBytes(limit))
		e.File = src
		return e
	}
	if resp.ContentLength > limit {
		return nil, "", nil, tooLarge()
	}
	tmp, err := os.CreateTemp(opts.DestRoot, ".download-*.tgz")
	if err != nil {
		return nil, "", nil, err
	}
	cleanup = func() { tmp.Close(); os.Remove(tmp.Name()) }
	var done int64
	w := io.MultiWriter(tmp, h)
	buf := make([]byte, 256<<10)
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if done+int64(n) > limit {
				cleanup()
				return nil, "", nil, tooLarge()
			}
			if _, err := w.Write(buf[:n]); err != nil {
				cleanup()
				return nil, "", nil, err
			}
			done += int64(n)
			if opts.Progress != nil {
				opts.Progress(done, resp.ContentLength)
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			cleanup()
			return nil, "", nil, fmt.Errorf("download %s: %w", src, rerr)
		}
	}
	if resp.ContentLength >= 0 && done != resp.ContentLength {
		cleanup()
		return nil, "", nil, fmt.Errorf("download %s: got %d of %d bytes", src, done, resp.ContentLength)
	}
	return tmp, hex.EncodeToString(h.Sum(nil)), cleanup, nil
}

// archiveMember checks that a member name stays inside the archive root.
func archiveMember(name string) (string, error) {
	clean := strings.TrimPrefix(name, "./")
	if clean == "" || strings.HasPrefix(clean, "/") || strings.Contains(clean, "\\") || (len(clean) >= 2 && clean[1] == ':') {
		return "", newError(ErrUnsafePath, "member %q has an absolute or Windows path: refusing the archive", name)
	}
	for _, seg := range strings.Split(clean, "/") {
		if seg == ".." {
			return "", newError(ErrUnsafePath, "member %q escapes the target folder: refusing the archive", name)
		}
	}
	return path.Clean(clean), nil
}

// isLib: lib/libonnxruntime* at the archive root or one folder down
// (onnxruntime-linux-x64-1.24.3/lib/...).
func isLib(name string) bool {
	dir, base := path.Split(name)
	dir = strings.TrimSuffix(dir, "/")
	return strings.HasPrefix(base, "libonnxruntime") && (dir == "lib" || strings.HasSuffix(dir, "/lib") && strings.Count(dir, "/") == 1)
}

// extractLibs writes the library members flat into stage. Every member is
// checked, extracted or not, so a hostile archive is refused as a whole.
func extractLibs(r io.Reader, stage string) (map[string]bool, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("not a .tgz archive: %w", err)
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	got := map[string]bool{}
	type link struct{ name, target string }
	var links []link
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read archive: %w", err)
		}
		name, err := archiveMember(hdr.Name)
		if err != nil {
			return nil, err
		}
		if hdr.Typeflag == tar.TypeSymlink || hdr.Typeflag == tar.TypeLink {
			target := hdr.Linkname
			if hdr.Typeflag == tar.TypeSymlink {
				if strings.HasPrefix(target, "/") || strings.Contains(target, "\\") {
					return nil, newError(ErrUnsafePath, "symlink %q points to absolute %q: refusing the archive", hdr.Name, hdr.Linkname)
				}
				target = path.Join(path.Dir(name), target)
			} else if target, err = archiveMember(target); err != nil {
				return nil, err
			}
			if strings.HasPrefix(path.Clean(target), "../") || path.Clean(target) == ".." {
				return nil, newError(ErrUnsafePath, "link %q points outside the archive (%q): refusing the archive", hdr.Name, hdr.Linkname)
			}
			if isLib(name) {
				// Extracted flat: the target must be a sibling in lib/.
				if path.Dir(path.Clean(target)) != path.Dir(name) {
					return nil, newError(ErrUnsafePath, "link %q points outside its lib folder (%q): refusing the archive", hdr.Name, hdr.Linkname)
				}
				links = append(links, link{path.Base(name), path.Base(target)})
			}
			continue
		}
		if !isLib(name) || hdr.Typeflag != tar.TypeReg {
			continue
		}
		base := path.Base(name)
		dst := filepath.Join(stage, base)
		os.Remove(dst) // a duplicate member replaces, never writes through
		out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
		if err != nil {
			return nil, err
		}
		// ONNX Runtime's largest library is far below this; the cap stops a
		// decompression bomb from filling the disk.
		if _, err := io.Copy(out, io.LimitReader(tr, 4<<30)); err != nil {
			out.Close()
			return nil, err
		}
		if err := out.Close(); err != nil {
			return nil, err
		}
		got[base] = true
	}
	for _, l := range links {
		if l.name == l.target {
			continue
		}
		dst := filepath.Join(stage, l.name)
		os.Remove(dst)
		if err := os.Symlink(l.target, dst); err != nil {
			return nil, err
		}
		got[l.name] = true
	}
	// Links must resolve to files we extracted.
	for name := range got {
		if _, err := os.Stat(filepath.Join(stage, name)); err != nil {
			return nil, fmt.Errorf("library link %s does not resolve inside the archive", name)
		}
	}
	return got, nil
}

// ensureLibraryName makes the name the lookup opens exist, pointing it at the
// versioned library when the archive lacks it.
func ensureLibraryName(stage, libName string, files map[string]bool) error {
	if len(files) == 0 {
		return errors.New("it holds no lib/libonnxruntime* file: is it an ONNX Runtime release archive?")
	}
	if files[libName] {
		return nil
	}
	var cands []string
	for name := range files {
		if strings.Contains(name, "providers") {
			continue
		}
		if st, err := os.Lstat(filepath.Join(stage, name)); err == nil && st.Mode().IsRegular() &&
			(strings.HasPrefix(name, "libonnxruntime.so.") || (strings.HasPrefix(name, "libonnxruntime.") && strings.HasSuffix(name, ".dylib"))) {
			cands = append(cands, name)
		}
	}
	if len(cands) == 0 {
		return fmt.Errorf("it holds no %s nor a versioned libonnxruntime to link it to", libName)
	}
	sort.Strings(cands)
	return os.Symlink(cands[len(cands)-1], filepath.Join(stage, libName))
}
