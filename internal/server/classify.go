package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// maxLabels caps one classify request's labels × templates, the number of
// prompts a cache miss costs the text encoder.
const maxLabels = 4096

// classifyRequest is POST /v1/classify: one "image" or a batch of "images",
// scored against "labels" under the prompt "template"(s).
type classifyRequest struct {
	Model     string          `json:"model"`
	Image     json.RawMessage `json:"image"`
	Images    json.RawMessage `json:"images"`
	Labels    []string        `json:"labels"`
	Template  json.RawMessage `json:"template"`
	TopK      *int            `json:"top_k"`
	RawScores bool            `json:"raw_scores"`
}

type classifyResult struct {
	Index  int          `json:"index"`
	Labels []LabelScore `json:"labels"`
}

func (s *Server) handleClassify(w http.ResponseWriter, r *http.Request) {
	var req classifyRequest
	if e := s.readJSON(w, r, &req); e != nil {
		writeError(w, e)
		return
	}
	resp, e := s.classify(r, &req)
	if e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) classify(r *http.Request, req *classifyRequest) (any, *APIError) {
	ctx := r.Context()
	if e := s.checkModel(req.Model); e != nil {
		return nil, e
	}
	refs, params, batch, e := s.classifyImages(req)
	if e != nil {
		return nil, e
	}
	if len(req.Labels) == 0 {
		return nil, badRequest("missing_labels", "labels", "'labels' is required: a non-empty array of label strings")
	}
	for i, l := range req.Labels {
		if strings.TrimSpace(l) == "" {
			return nil, badRequest("invalid_value", fmt.Sprintf("labels[%d]", i), "labels[%d] is empty", i)
		}
		if e := s.checkText(l, fmt.Sprintf("labels[%d]", i)); e != nil {
			return nil, e
		}
	}
	templates, e := parseTemplates(req.Template)
	if e != nil {
		return nil, e
	}
	for _, t := range templates {
		if e := s.checkText(t, "template"); e != nil {
			return nil, e
		}
	}
	if n := len(req.Labels) * max(1, len(templates)); n > maxLabels {
		return nil, badRequest("invalid_value", "labels", "%d labels × templates is over the limit of %d prompts", n, maxLabels)
	}
	topK := 0
	if req.TopK != nil {
		if *req.TopK < 0 {
			return nil, badRequest("invalid_value", "top_k", "'top_k' must be 0 (all labels) or more, not %d", *req.TopK)
		}
		topK = *req.TopK
	}

	// Labels (usually a cache hit) are embedded while the images decode.
	type labelsResult struct {
		set LabelSet
		err error
	}
	lc := make(chan labelsResult, 1)
	go func() {
		set, hit, err := s.labels.get(ctx, labelKey(req.Labels, templates), func() (set LabelSet, err error) {
			// Not a handler goroutine: net/http would not catch a panic here.
			defer func() {
				if r := recover(); r != nil {
					set, err = nil, fmt.Errorf("label embedding panicked: %v", r)
				}
			}()
			return s.engine.EmbedLabels(ctx, req.Labels, templates)
		})
		if hit {
			s.metrics.cacheHits.Add(1)
		} else {
			s.metrics.cacheMisses.Add(1)
		}
		lc <- labelsResult{set, err}
	}()
	embs, e := s.embedImages(ctx, refs, params)
	if e != nil {
		return nil, e
	}
	lr := <-lc
	if lr.err != nil {
		return nil, s.batchError(lr.err, "text")
	}
	scale := s.engine.LogitScale()
	score := func(emb []float32) []LabelScore {
		out := lr.set.Score(emb, scale, req.RawScores, topK)
		if out == nil {
			out = []LabelScore{}
		}
		return out
	}
	if !batch {
		return struct {
			Labels []LabelScore `json:"labels"`
		}{score(embs[0])}, nil
	}
	data := make([]classifyResult, len(embs))
	for i, emb := range embs {
		data[i] = classifyResult{Index: i, Labels: score(emb)}
	}
	return struct {
		Data []classifyResult `json:"data"`
	}{data}, nil
}

// classifyImages reads "image" or "images". In these fields a plain string
// is always an image, so an http(s) URL string is taken as a remote image.
func (s *Server) classifyImages(req *classifyRequest) (refs []imageRef, params []string, batch bool, e *APIError) {
	hasOne, hasMany := present(req.Image), present(req.Images)
	switch {
	case hasOne && hasMany:
		return nil, nil, false, badRequest("invalid_value", "images", "send either 'image' or 'images', not both")
	case !hasOne && !hasMany:
		return nil, nil, false, badRequest("missing_image", "image", "'image' (a data URL or image_url content part) or 'images' (an array of them) is required")
	case hasOne:
		ref, e := parseImageInput(req.Image, "image")
		if e != nil {
			return nil, nil, false, e
		}
		return []imageRef{ref}, []string{"image"}, false, nil
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(req.Images, &elems); err != nil {
		return nil, nil, false, badRequest("invalid_value", "images", "'images' must be an array of data URLs or image_url content parts")
	}
	if len(elems) == 0 {
		return nil, nil, false, badRequest("invalid_value", "images", "'images' must not be empty")
	}
	if len(elems) > s.cfg.MaxImages {
		return nil, nil, false, badRequest("invalid_value", "images", "'images' has %d items; at most %d are allowed per request", len(elems), s.cfg.MaxImages)
	}
	for i, el := range elems {
		param := fmt.Sprintf("images[%d]", i)
		ref, e := parseImageInput(el, param)
		if e != nil {
			return nil, nil, false, e
		}
		refs = append(refs, ref)
		params = append(params, param)
	}
	return refs, params, true, nil
}

// parseImageInput reads a URL string or an image_url content part.
func parseImageInput(raw json.RawMessage, param string) (imageRef, *APIError) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		u, err := jsonString(raw)
		if err != nil {
			return imageRef{}, badRequest("invalid_value", param, "%s is not a valid string", param)
		}
		return parseImageURL(u, param, true)
	}
	in, e := parseInput(raw, param)
	if e != nil {
		return imageRef{}, e
	}
	if !in.isImage {
		return imageRef{}, badRequest("invalid_value", param, "%s must be an image (a data URL or an image_url content part), not text", param)
	}
	return in.image, nil
}

// parseTemplates reads "template": absent (the library's default), one
// string or a list (prompt ensembling), each with a {} for the label.
func parseTemplates(raw json.RawMessage) ([]string, *APIError) {
	if !present(raw) {
		return nil, nil
	}
	var list []string
	raw = bytes.TrimSpace(raw)
	if raw[0] == '"' {
		var t string
		if err := json.Unmarshal(raw, &t); err != nil {
			return nil, badRequest("invalid_value", "template", "'template' is not a valid string")
		}
		list = []string{t}
	} else if err := json.Unmarshal(raw, &list); err != nil {
		return nil, badRequest("invalid_type", "template", "'template' must be a string or an array of strings")
	}
	if len(list) == 0 {
		return nil, badRequest("invalid_value", "template", "'template' must not be an empty array")
	}
	for _, t := range list {
		if !strings.Contains(t, "{}") {
			return nil, badRequest("invalid_value", "template", "template %q has no {} placeholder for the label", t)
		}
	}
	return list, nil
}

// present reports whether a JSON field was given a non-null value.
func present(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && !bytes.Equal(raw, []byte("null"))
}
