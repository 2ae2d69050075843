package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"

	"github.com/fashionclip/fashionclip/internal/query"
)

// MaxSearchK caps k in one /v1/search request, which bounds the answer.
const MaxSearchK = 1000

// searchRequest is POST /v1/search: one of a query in the CLI's grammar,
// an image, or a result id ("more like this"), searched in one served index
// or all of them.
type searchRequest struct {
	Model    string          `json:"model"`
	Query    *string         `json:"query"`
	Image    json.RawMessage `json:"image"`
	ID       *string         `json:"id"`
	K        *int            `json:"k"`
	MinScore *float64        `json:"min_score"`
	Kind     string          `json:"kind"`
	Index    string          `json:"index"`
}

type searchResult struct {
	ID    string  `json:"id"`
	Path  string  `json:"path,omitempty"`
	Text  *string `json:"text,omitempty"`
	Score float64 `json:"score"`
	Kind  string  `json:"kind"`
	Index string  `json:"index"`
}

type searchResponse struct {
	Object string         `json:"object"`
	Data   []searchResult `json:"data"`
}

func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request) {
	var req searchRequest
	if e := s.readJSON(w, r, &req); e != nil {
		writeError(w, e)
		return
	}
	resp, e := s.search(r, &req)
	if e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) search(r *http.Request, req *searchRequest) (*searchResponse, *APIError) {
	ctx := r.Context()
	if e := s.checkModel(req.Model); e != nil {
		return nil, e
	}
	given := 0
	for _, ok := range []bool{req.Query != nil, present(req.Image), req.ID != nil} {
		if ok {
			given++
		}
	}
	if given != 1 {
		return nil, badRequest("invalid_value", "query",
			"send exactly one of 'query' (a text query), 'image' (a data URL) or 'id' (a result id: more like this)")
	}
	k := 10
	if req.K != nil {
		if *req.K < 1 || *req.K > MaxSearchK {
			return nil, badRequest("invalid_value", "k", "'k' must be between 1 and %d, not %d", MaxSearchK, *req.K)
		}
		k = *req.K
	}
	if req.MinScore != nil && (math.IsNaN(*req.MinScore) || math.IsInf(*req.MinScore, 0)) {
		return nil, badRequest("invalid_value", "min_score", "'min_score' must be a finite number")
	}
	var kind Kind
	switch req.Kind {
	case "":
	case "images":
		kind = ImagesOnly
	case "texts":
		kind = TextsOnly
	default:
		return nil, badRequest("invalid_value", "kind", `'kind' must be "images" or "texts", not %q`, req.Kind)
	}
	if req.Index != "" {
		if _, ok := s.cfg.Indexes.byName[req.Index]; !ok {
			return nil, &APIError{Status: http.StatusNotFound, Type: typeInvalidRequest, Param: "index", Code: "index_not_found",
				Message: fmt.Sprintf("No index named %q is served; GET /v1/indexes lists them.", req.Index)}
		}
	}

	var q []float32
	var e *APIError
	switch {
	case req.Query != nil:
		q, e = s.textQueryVector(r, *req.Query)
	case req.ID != nil:
		_, vec, ok, err := s.cfg.Indexes.Lookup(*req.ID)
		if err != nil {
			s.cfg.Logf("search by id %q: %v", *req.ID, err)
			return nil, &APIError{Status: http.StatusInternalServerError, Type: typeServer, Message: "Reading the index failed; see the server's log."}
		}
		if !ok {
			return nil, &APIError{Status: http.StatusNotFound, Type: typeInvalidRequest, Param: "id", Code: "id_not_found",
				Message: fmt.Sprintf("%q is not the id of an item in a served index (ids come from /v1/search results).", *req.ID)}
		}
		q, e = queryVector([]query.Term{{Weight: 1, Image: *req.ID}}, [][]float32{vec})
	default:
		ref, pe := parseImageInput(req.Image, "image")
		if pe != nil {
			return nil, pe
		}
		embs, ee := s.embedImages(ctx, []imageRef{ref}, []string{"image"})
		if ee != nil {
			return nil, ee
		}
		q, e = queryVector([]query.Term{{Weight: 1, Image: "image"}}, embs)
	}
	if e != nil {
		return nil, e
	}
	if err := ctx.Err(); err != nil {
		return nil, contextError(err)
	}
	hits, err := s.cfg.Indexes.Search(q, req.Index, kind, k, req.MinScore)
	if err != nil {
		s.cfg.Logf("search: %v", err)
		return nil, &APIError{Status: http.StatusInternalServerError, Type: typeServer, Message: "The index search failed; see the server's log."}
	}
	resp := &searchResponse{Object: "list", Data: make([]searchResult, len(hits))}
	for i, h := range hits {
		res := searchResult{ID: h.ID, Score: h.Score, Index: h.Index, Kind: "image", Path: h.Item.Path}
		if h.Item.IsText {
			t := h.Item.Text
			res.Kind, res.Text, res.Path = "text", &t, ""
		}
		resp.Data[i] = res
	}
	return resp, nil
}

// textQueryVector embeds a query in the CLI's +/- grammar through the text
// batcher and combines the terms as the CLI does.
func (s *Server) textQueryVector(r *http.Request, text string) ([]float32, *APIError) {
	args, err := query.Split(text)
	if err != nil {
		return nil, badRequest("invalid_query", "query", "%v", err)
	}
	terms, err := query.Parse(args, nil, func(string) bool { return false })
	if err != nil {
		return nil, badRequest("invalid_query", "query", "%v", err)
	}
	texts := make([]string, len(terms))
	for i, t := range terms {
		texts[i] = t.Text
	}
	j, err := s.text.enqueue(r.Context(), texts)
	if err != nil {
		return nil, s.batchError(err, "text")
	}
	embs, err := j.wait()
	if err != nil {
		return nil, s.batchError(err, "text")
	}
	return queryVector(terms, embs)
}

func queryVector(terms []query.Term, embs [][]float32) ([]float32, *APIError) {
	q, err := query.Vector(terms, embs)
	if errors.Is(err, query.ErrCancelOut) {
		return nil, badRequest("invalid_query", "query", "%v", err)
	}
	if err != nil {
		return nil, &APIError{Status: http.StatusInternalServerError, Type: typeServer, Message: err.Error()}
	}
	return q, nil
}

type indexObject struct {
	ID     string `json:"id"`
	Object string `json:"object"`
	IndexInfo
}

// handleIndexes lists the served indexes at their newest generations.
func (s *Server) handleIndexes(w http.ResponseWriter, r *http.Request) {
	infos := s.cfg.Indexes.Info()
	data := make([]indexObject, len(infos))
	for i, in := range infos {
		data[i] = indexObject{ID: in.Name, Object: "index", IndexInfo: in}
	}
	writeJSON(w, http.StatusOK, struct {
		Object string        `json:"object"`
		Data   []indexObject `json:"data"`
	}{"list", data})
}

// Route names of the search endpoints, for metrics.
const (
	routeSearch     = "/v1/search"
	routeIndexes    = "/v1/indexes"
	routeThumbnails = "/v1/thumbnails"
	routePage       = "/"
)

// searchRoute picks the handler of the search endpoints and the page, which
// exist only when the server has indexes; nil h means none matched.
func (s *Server) searchRoute(path string) (route, method string, h http.HandlerFunc) {
	switch {
	case s.cfg.Indexes == nil:
	case path == "/v1/search":
		return routeSearch, http.MethodPost, s.api(s.handleSearch)
	case path == "/v1/indexes":
		return routeIndexes, http.MethodGet, s.api(s.handleIndexes)
	case strings.HasPrefix(path, "/v1/thumbnails/"):
		return routeThumbnails, http.MethodGet, s.api(s.handleThumbnail)
	case isPagePath(path):
		return routePage, http.MethodGet, s.handlePage
	}
	return routeOther, "", nil
}

// checkIndexDims refuses indexes whose vectors are not the engine's width.
func checkIndexDims(e Engine, x *Indexes) error {
	if x == nil {
		return nil
	}
	for _, in := range x.Info() {
		if in.Dim != 0 && in.Dim != e.Dim() {
			return fmt.Errorf("index %s holds %d-dimensional vectors, the model makes %d: it was built with another model", in.Dir, in.Dim, e.Dim())
		}
	}
	return nil
}
