package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strconv"
	"strings"

	"github.com/fashionclip/fashionclip/internal/fileread"
)

// Thumbnailer renders the small JPEGs of /v1/thumbnails. It needs an image
// decoder (cgo), so the server only holds this interface; modelengine
// implements it. Implementations must be safe for concurrent use.
type Thumbnailer interface {
	// Thumbnail decodes an encoded image and returns a JPEG whose longer
	// side is at most maxEdge pixels (never upscaled).
	Thumbnail(data []byte, maxEdge int) ([]byte, error)
}

// Thumbnail sizes: the grid's default, and the largest a client may ask
// for (the page's "open" view). Full images are never served.
const (
	DefaultThumbEdge = 256
	MaxThumbEdge     = 1024
)

// handleThumbnail answers GET /v1/thumbnails/{id}[?size=N]: a JPEG of the
// file a served index records under that result id. Any other id is 404,
// so only files an index names can be read, never an arbitrary path.
func (s *Server) handleThumbnail(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, "/v1/thumbnails/")
	edge := DefaultThumbEdge
	if v := r.URL.Query().Get("size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 16 || n > MaxThumbEdge {
			writeError(w, badRequest("invalid_value", "size", "'size' must be a whole number of pixels from 16 to %d", MaxThumbEdge))
			return
		}
		edge = n
	}
	notFound := &APIError{Status: http.StatusNotFound, Type: typeInvalidRequest, Code: "id_not_found",
		Message: "No image of a served index has this id (ids come from /v1/search results)."}
	file, ok, err := s.cfg.Indexes.ImageFile(id)
	if err != nil {
		s.cfg.Logf("thumbnail %q: %v", id, err)
		writeError(w, &APIError{Status: http.StatusInternalServerError, Type: typeServer, Message: "Reading the index failed; see the server's log."})
		return
	}
	if !ok {
		writeError(w, notFound)
		return
	}
	if s.cfg.Thumbnails == nil {
		writeError(w, &APIError{Status: http.StatusNotImplemented, Type: typeServer, Code: "thumbnails_unavailable",
			Message: "This server makes no thumbnails."})
		return
	}
	jpg, e := s.thumbnail(r.Context(), file, edge)
	if e != nil {
		writeError(w, e)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "image/jpeg")
	h.Set("Content-Length", strconv.Itoa(len(jpg)))
	// The id names a vector that is never rewritten; the file may change,
	// so the answer is kept for a short while, and only by the client.
	h.Set("Cache-Control", "private, max-age=300")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(jpg)
	}
}

// thumbnail reads an indexed file within the image size limit and renders
// it within the decode budget, as request images are.
func (s *Server) thumbnail(ctx context.Context, path string, edge int) ([]byte, *APIError) {
	// Bounded: an index may name anything, a FIFO or a device included.
	data, err := fileread.Read(ctx, path, s.cfg.MaxImageBytes)
	switch {
	case errors.Is(err, fileread.ErrTooLarge):
		return nil, &APIError{Status: http.StatusUnprocessableEntity, Type: typeInvalidRequest, Code: "image_too_large",
			Message: fmt.Sprintf("The indexed file is larger than the server's image limit of %d bytes.", s.cfg.MaxImageBytes)}
	case errors.Is(err, fs.ErrNotExist):
		return nil, &APIError{Status: http.StatusNotFound, Type: typeInvalidRequest, Code: "file_not_found",
			Message: "The indexed file is no longer there."}
	case err != nil:
		s.cfg.Logf("thumbnail of %s: %v", path, err)
		return nil, &APIError{Status: http.StatusNotFound, Type: typeInvalidRequest, Code: "file_not_found",
			Message: "The indexed file cannot be read."}
	}
	release, e := s.acquireDecode(ctx, data)
	if e != nil {
		return nil, e
	}
	defer release()
	jpg, err := s.safeThumbnail(data, edge)
	if err != nil {
		return nil, &APIError{Status: http.StatusUnprocessableEntity, Type: typeInvalidRequest, Code: "invalid_image",
			Message: fmt.Sprintf("The indexed file is not a usable image: %v", err)}
	}
	return jpg, nil
}

// safeThumbnail turns a decoder panic on hostile bytes into an error.
func (s *Server) safeThumbnail(data []byte, edge int) (jpg []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			jpg, err = nil, fmt.Errorf("decoder failed: %v", r)
		}
	}()
	return s.cfg.Thumbnails.Thumbnail(data, edge)
}
