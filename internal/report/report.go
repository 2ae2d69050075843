// Package report writes self-contained HTML reports of classify and search
// runs: one file that opens offline in any browser, thumbnails inline as
// data: URIs (or as files in an assets folder), no script, style or image
// fetched from elsewhere. The page is plain JavaScript (web/report.js)
// that renders cards from a compact JSON block, a page at a time, so a
// report of 10,000 images stays quick.
//
// A classify report is streamed: thumbnails go to the file as results
// arrive and only a few dozen bytes per record are kept in memory; the
// rest of the page is written by Close.
package report

import (
	"bufio"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

//go:embed web/report.css
var reportCSS string

//go:embed web/report.js
var reportJS string

// Score is one label's score for an image.
type Score struct {
	Label string
	Score float64
}

// Group is one label group's scores for an image, best first, as classify
// ranked them. Name is empty for the plain --labels set.
type Group struct {
	Name   string
	Scores []Score
}

// LabelGroup declares a group's labels up front, so that labels no image
// got still show (with a count of 0) and keep the order given.
type LabelGroup struct {
	Name   string
	Labels []string
}

// Options tune a report.
type Options struct {
	// Title heads the page (default "fashionclip classify" or "fashionclip search").
	Title string
	// Command is shown under the title, e.g. the command line.
	Command string
	// AssetsDir, when set, receives the thumbnails as JPEG files, which the
	// page references relatively; the report itself then stays small.
	AssetsDir string
	// RawScores says scores are cosines, not probabilities (for the score
	// slider and histogram ranges).
	RawScores bool
	// Groups declares the label groups (optional; see LabelGroup).
	Groups []LabelGroup
	// PageSize is the number of cards per page (default 120).
	PageSize int
	// MaxThumbnailBytes refuses larger thumbnails (default 256 KiB): a
	// report holds thumbnails, never full images.
	MaxThumbnailBytes int
	// Now stamps the report (default time.Now).
	Now func() time.Time
}

const (
	defaultPageSize     = 120
	defaultMaxThumbSize = 256 << 10
	// blockChars is the size at which a new block of inline thumbnails
	// starts: the page reads one block's text at a time.
	blockChars = 4 << 20
)

func (o *Options) defaults(title string) {
	if o.Title == "" {
		o.Title = title
	}
	if o.PageSize <= 0 {
		o.PageSize = defaultPageSize
	}
	if o.MaxThumbnailBytes <= 0 {
		o.MaxThumbnailBytes = defaultMaxThumbSize
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// ThumbnailError is a thumbnail Add refused; the record itself is kept,
// without a picture.
type ThumbnailError struct {
	Path   string
	Reason string
}

func (e *ThumbnailError) Error() string {
	return fmt.Sprintf("report: thumbnail of %s left out: %s", e.Path, e.Reason)
}

func checkThumbnail(path string, b []byte, limit int) error {
	switch {
	case len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 || b[2] != 0xFF:
		return &ThumbnailError{path, "not a JPEG"}
	case len(b) > limit:
		return &ThumbnailError{path, fmt.Sprintf("%d bytes, over the limit of %d", len(b), limit)}
	}
	return nil
}

// page writes a report file: a temporary file beside the target, renamed
// over it by commit, so a failed run never leaves half a report under the
// name asked for.
//
// Inline thumbnails are spooled, base64-encoded, to an unlinked file beside
// the report as they arrive, and copied to the end of the page by finish:
//
//	head, CSS | data (JSON) | block 0: the first page's thumbnails | script | blocks 1…N: all thumbnails
//
// so the script runs, and the first page paints, once the first megabytes
// are parsed; the bulk streams in behind it (the script waits for
// DOMContentLoaded before it reads blocks 1…N).
type page struct {
	path   string
	tmp    *os.File
	w      *bufio.Writer
	err    error
	spool  *os.File // base64 of the thumbnails, blocks 1…N back to back
	sw     *bufio.Writer
	spoolN int64 // characters spooled
	thumbs int   // thumbnails spooled
	// skipBulk: block 0 holds every thumbnail (a search report).
	skipBulk bool
	blocks   []int64 // characters in each spooled block (block i+1)

	// Links from the report to the images and the assets folder.
	toCwd     string // URL prefix from the report's folder to the working folder
	assetsDir string
	toAssets  string // URL prefix from the report's folder to AssetsDir
	assets    int
	spoolGone bool
}

func newPage(path, title, kind string, o *Options) (*page, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(abs)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(abs)+".*.tmp")
	if err != nil {
		return nil, err
	}
	p := &page{path: abs, tmp: tmp, w: bufio.NewWriterSize(tmp, 256<<10)}
	if o.AssetsDir == "" {
		if p.spool, err = os.CreateTemp(dir, "."+filepath.Base(abs)+".*.thumbs"); err != nil {
			p.abort()
			return nil, err
		}
		// Unlinked at once: nothing is left behind whatever happens to the
		// run (where the system cannot remove an open file, finish does).
		if os.Remove(p.spool.Name()) == nil {
			p.spoolGone = true
		}
		p.sw = bufio.NewWriterSize(p.spool, 256<<10)
	}
	cwd, err := os.Getwd()
	if err == nil {
		p.toCwd, err = relURL(dir, cwd)
	}
	if err == nil && o.AssetsDir != "" {
		p.assetsDir, err = filepath.Abs(o.AssetsDir)
		if err == nil {
			err = os.MkdirAll(p.assetsDir, 0o755)
		}
		if err == nil {
			p.toAssets, err = relURL(dir, p.assetsDir)
		}
	}
	if err != nil {
		p.abort()
		return nil, err
	}
	p.printf(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="fashionclip">
<title>%s</title>
<style>
%s</style>
</head>
<body class="%s">
<header id="top"><h1>%s</h1><p id="loading">Loading…</p></header>
<noscript><p>This report needs JavaScript to show its results.</p></noscript>
`, html.EscapeString(title), reportCSS, kind, html.EscapeString(title))
	return p, p.err
}

// relURL is the relative URL from folder from to folder to, ending in "/".
func relURL(from, to string) (string, error) {
	rel, err := filepath.Rel(from, to)
	if err != nil {
		return "", err
	}
	if rel == "." {
		return "./", nil
	}
	parts := strings.Split(filepath.ToSlash(rel), "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return "./" + strings.Join(parts, "/") + "/", nil
}

func (p *page) printf(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

func (p *page) write(s string) {
	if p.err == nil {
		_, p.err = p.w.WriteString(s)
	}
}

// thumbRef locates a thumbnail: block, offset and length in base64
// characters of an inline block (and where it sits in the spool), or
// (block -1) the number of an asset file.
type thumbRef struct {
	block  int32
	off    int32
	length int32
	at     int64
}

var noThumb = thumbRef{block: -2}

// addThumbnail stores one JPEG: spooled for the inline blocks, or written
// to the assets folder.
func (p *page) addThumbnail(jpg []byte) (thumbRef, error) {
	if p.err != nil {
		return noThumb, p.err
	}
	if p.assetsDir != "" {
		n := p.assets
		if err := os.WriteFile(filepath.Join(p.assetsDir, assetName(n)), jpg, 0o644); err != nil {
			return noThumb, err
		}
		p.assets++
		return thumbRef{block: -1, off: int32(n)}, nil
	}
	n := int64(base64.StdEncoding.EncodedLen(len(jpg)))
	if len(p.blocks) == 0 || p.blocks[len(p.blocks)-1]+n > blockChars {
		p.blocks = append(p.blocks, 0)
	}
	last := len(p.blocks) - 1
	ref := thumbRef{block: int32(last + 1), off: int32(p.blocks[last]), length: int32(n), at: p.spoolN}
	enc := base64.NewEncoder(base64.StdEncoding, p.sw)
	if _, err := enc.Write(jpg); err != nil {
		p.err = err
		return noThumb, err
	}
	if err := enc.Close(); err != nil {
		p.err = err
		return noThumb, err
	}
	p.blocks[last] += n
	p.spoolN += n
	p.thumbs++
	return ref, nil
}

// keepThumbnail checks one thumbnail and stores it. A refused one (not a
// JPEG, too large) is left out as noThumb and refused says why; err is a
// failure to write it. A nil jpg is no thumbnail.
func (p *page) keepThumbnail(path string, jpg []byte, limit int) (ref thumbRef, refused, err error) {
	if jpg == nil {
		return noThumb, nil, nil
	}
	if refused = checkThumbnail(path, jpg, limit); refused != nil {
		return noThumb, refused, nil
	}
	ref, err = p.addThumbnail(jpg)
	return ref, nil, err
}

// firstBlock writes block 0, a copy of the given thumbnails (the first page
// the reader sees), and returns their references into it.
func (p *page) firstBlock(refs []thumbRef) []thumbRef {
	out := make([]thumbRef, len(refs))
	if p.err == nil && p.sw != nil {
		p.err = p.sw.Flush()
	}
	var off int64
	copied := 0
	started := false
	buf := make([]byte, 0, 16<<10)
	for i, r := range refs {
		out[i] = r
		if r.block < 1 || p.err != nil {
			continue
		}
		if !started {
			p.write(`<script type="text/plain" class="thumbs" id="t0">`)
			started = true
		}
		if cap(buf) < int(r.length) {
			buf = make([]byte, r.length)
		}
		buf = buf[:r.length]
		if _, err := p.spool.ReadAt(buf, r.at); err != nil {
			p.err = err
			break
		}
		if _, err := p.w.Write(buf); err != nil {
			p.err = err
			break
		}
		out[i] = thumbRef{block: 0, off: int32(off), length: r.length}
		off += int64(r.length)
		copied++
	}
	// When block 0 holds every thumbnail, blocks 1…N would only repeat it.
	p.skipBulk = copied == p.thumbs
	if started {
		p.write("</script>\n")
	}
	return out
}

// copyBlocks writes blocks 1…N from the spool.
func (p *page) copyBlocks() {
	if p.spool == nil || p.err != nil || p.skipBulk {
		return
	}
	if p.err = p.sw.Flush(); p.err != nil {
		return
	}
	var at int64
	for i, n := range p.blocks {
		p.printf(`<script type="text/plain" class="thumbs" id="t%d">`, i+1)
		if p.err == nil {
			_, p.err = io.Copy(p.w, io.NewSectionReader(p.spool, at, n))
		}
		p.write("</script>\n")
		at += n
	}
}

func assetName(n int) string { return fmt.Sprintf("%06d.jpg", n) }

// appendRef writes a thumbnail reference as the page reads it:
// [block, offset, length] for inline thumbnails, the asset file name, or null.
func appendRef(buf []byte, r thumbRef) []byte {
	switch r.block {
	case -2:
		return append(buf, "null"...)
	case -1:
		return jsonString(buf, assetName(int(r.off)))
	}
	buf = append(buf, '[')
	buf = strconv.AppendInt(buf, int64(r.block), 10)
	buf = append(buf, ',')
	buf = strconv.AppendInt(buf, int64(r.off), 10)
	buf = append(buf, ',')
	buf = strconv.AppendInt(buf, int64(r.length), 10)
	return append(buf, ']')
}

// appendScore writes a score with 4 decimals, as the CLI's table shows
// it; a score that is not a number is null.
func appendScore(buf []byte, s float64) []byte {
	if math.IsNaN(s) || math.IsInf(s, 0) {
		return append(buf, "null"...)
	}
	return strconv.AppendFloat(buf, roundScore(s), 'f', -1, 64)
}

// roundScore is the score as the page reads it: 4 decimals, no -0.
func roundScore(s float64) float64 {
	v := math.Round(s*1e4) / 1e4
	if v == 0 {
		return 0
	}
	return v
}

// finish writes the first page's thumbnails (block 0), the data block
// (JSON, by writeData, given the references into block 0), the script and
// the spooled thumbnails, then commits. Strings in the data must go through
// jsonString, which escapes <, > and &, so the block cannot end early.
func (p *page) finish(first []thumbRef, writeData func(w *bufio.Writer, first []thumbRef) error) error {
	first = p.firstBlock(first)
	p.write(`<script type="application/json" id="data">`)
	if p.err == nil {
		p.err = writeData(p.w, first)
	}
	p.write("</script>\n<script>\n")
	p.write(reportJS)
	p.write("</script>\n")
	p.copyBlocks()
	p.write("</body>\n</html>\n")
	if p.err == nil {
		p.err = p.w.Flush()
	}
	p.closeSpool()
	if p.err == nil {
		p.err = p.tmp.Close()
	} else {
		p.tmp.Close()
	}
	if p.err == nil {
		p.err = os.Rename(p.tmp.Name(), p.path)
	}
	if p.err != nil {
		os.Remove(p.tmp.Name())
	}
	return p.err
}

func (p *page) closeSpool() {
	if p.spool != nil {
		p.spool.Close()
		if !p.spoolGone {
			os.Remove(p.spool.Name())
		}
		p.spool = nil
	}
}

// jsonString appends s as a JSON string, HTML-safe as encoding/json makes it.
func jsonString(dst []byte, s string) []byte {
	b, _ := json.Marshal(s) // a string always marshals
	return append(dst, b...)
}

// jsonValue appends v as JSON (for the small parts of the data).
func jsonValue(dst []byte, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	return append(dst, b...), err
}

func (p *page) abort() {
	p.closeSpool()
	p.tmp.Close()
	os.Remove(p.tmp.Name())
	if p.err == nil {
		p.err = errors.New("report: aborted")
	}
}

// header is the data common to both kinds of report.
type header struct {
	Version  int    `json:"v"`
	Kind     string `json:"kind"`
	Title    string `json:"title"`
	Command  string `json:"command,omitempty"`
	Created  string `json:"created"`
	Raw      bool   `json:"raw"`
	PageSize int    `json:"pageSize"`
	// Cwd and Assets are URL prefixes from the report's folder to the
	// working folder (for links to relative image paths) and to the assets.
	Cwd    string `json:"cwd"`
	Assets string `json:"assets,omitempty"`
}

func (p *page) header(kind string, o *Options) header {
	return header{Version: 1, Kind: kind, Title: o.Title, Command: o.Command, Created: o.Now().Format(time.RFC3339),
		Raw: o.RawScores, PageSize: o.PageSize, Cwd: p.toCwd, Assets: p.toAssets}
}
