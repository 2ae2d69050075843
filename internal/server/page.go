package server

import (
	"embed"
	"net/http"
	"path"
	"strconv"
)

// The search page: static files, no framework, nothing fetched from
// elsewhere (the Content-Security-Policy says so to the browser too).
//
//go:embed web/index.html web/app.js web/app.css
var pageFiles embed.FS

const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

var pageTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
}

// isPagePath reports whether GET path is one of the page's files.
func isPagePath(p string) bool {
	return p == "/" || p == "/static/app.js" || p == "/static/app.css"
}

// handlePage serves the search page. It is open (no API key): it holds no
// data, and asks for the key itself when /v1/ needs one.
func (s *Server) handlePage(w http.ResponseWriter, r *http.Request) {
	name := "web/index.html"
	if r.URL.Path != "/" {
		name = "web/" + path.Base(r.URL.Path)
	}
	b, err := pageFiles.ReadFile(name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", pageTypes[path.Ext(name)])
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(b)
	}
}
