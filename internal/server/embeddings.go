package server

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"net/http"

	"github.com/fashionclip/fashionclip/internal/vecmath"
)

// embeddingsRequest is OpenAI's POST /v1/embeddings body. Unknown fields
// (user, ...) are ignored as OpenAI does.
type embeddingsRequest struct {
	Model          string          `json:"model"`
	Input          json.RawMessage `json:"input"`
	EncodingFormat string          `json:"encoding_format"`
	Dimensions     *int            `json:"dimensions"`
}

type embeddingObject struct {
	Object    string `json:"object"`
	Index     int    `json:"index"`
	Embedding any    `json:"embedding"` // []float32, or a base64 string
}

type usage struct {
	PromptTokens int `json:"prompt_tokens"`
	TotalTokens  int `json:"total_tokens"`
}

type embeddingsResponse struct {
	Object string            `json:"object"`
	Data   []embeddingObject `json:"data"`
	Model  string            `json:"model"`
	Usage  usage             `json:"usage"`
}

func (s *Server) handleEmbeddings(w http.ResponseWriter, r *http.Request) {
	var req embeddingsRequest
	if e := s.readJSON(w, r, &req); e != nil {
		writeError(w, e)
		return
	}
	resp, e := s.embeddings(r, &req)
	if e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) embeddings(r *http.Request, req *embeddingsRequest) (*embeddingsResponse, *APIError) {
	ctx := r.Context()
	if e := s.checkModel(req.Model); e != nil {
		return nil, e
	}
	format := req.EncodingFormat
	if format != "" && format != "float" && format != "base64" {
		return nil, badRequest("invalid_value", "encoding_format", "'encoding_format' must be \"float\" or \"base64\", not %q", format)
	}
	dims := s.engine.Dim()
	if d := req.Dimensions; d != nil {
		if *d < 1 || *d > dims {
			return nil, badRequest("invalid_value", "dimensions", "'dimensions' must be between 1 and %d (the model's embedding size), not %d", dims, *d)
		}
		dims = *d
	}
	inputs, e := parseInputs(req.Input, s.cfg.MaxInputs)
	if e != nil {
		return nil, e
	}

	// Split by tower, remembering where each result goes.
	var texts []string
	var textAt, imageAt []int
	var refs []imageRef
	var params []string
	tokens := 0
	for i, in := range inputs {
		if in.isImage {
			refs = append(refs, in.image)
			imageAt = append(imageAt, i)
			params = append(params, paramFor(isArray(req.Input), i))
			continue
		}
		if e := s.checkText(in.text, paramFor(isArray(req.Input), i)); e != nil {
			return nil, e
		}
		texts = append(texts, in.text)
		textAt = append(textAt, i)
		tokens += s.engine.TokenCount(in.text)
	}
	if len(refs) > s.cfg.MaxImages {
		return nil, badRequest("invalid_input", "input", "'input' holds %d images; at most %d are allowed per request", len(refs), s.cfg.MaxImages)
	}

	// The text job is queued before any image is decoded so the text tower
	// works meanwhile. On an early return the job is skipped by the batcher:
	// its context ends with this request.
	var textJob *job[string, []float32]
	if len(texts) > 0 {
		var err error
		if textJob, err = s.text.enqueue(ctx, texts); err != nil {
			return nil, s.batchError(err, "text")
		}
	}
	embs := make([][]float32, len(inputs))
	if len(refs) > 0 {
		out, e := s.embedImages(ctx, refs, params)
		if e != nil {
			return nil, e
		}
		for k, i := range imageAt {
			embs[i] = out[k]
		}
	}
	if textJob != nil {
		out, err := textJob.wait()
		if err != nil {
			return nil, s.batchError(err, "text")
		}
		for k, i := range textAt {
			embs[i] = out[k]
		}
	}

	resp := &embeddingsResponse{Object: "list", Model: s.modelName(req.Model), Data: make([]embeddingObject, len(embs)),
		Usage: usage{PromptTokens: tokens, TotalTokens: tokens}}
	for i, v := range embs {
		if dims < len(v) {
			v = truncateNormalize(v, dims)
		}
		var enc any = v
		if format == "base64" {
			enc = float32Base64(v)
		}
		resp.Data[i] = embeddingObject{Object: "embedding", Index: i, Embedding: enc}
	}
	return resp, nil
}

// modelName echoes the name the client used, else the listed id.
func (s *Server) modelName(asked string) string {
	if asked != "" {
		return asked
	}
	return s.cfg.ModelIDs[0]
}

// checkText refuses a text too long to be worth tokenizing: the encoder
// keeps CLIP's first 77 tokens only.
func (s *Server) checkText(text, param string) *APIError {
	if len(text) > s.cfg.MaxTextBytes {
		return badRequest("text_too_long", param, "%s is %d bytes long; at most %d are allowed (the model reads only the first 77 tokens)", param, len(text), s.cfg.MaxTextBytes)
	}
	return nil
}

func isArray(raw json.RawMessage) bool {
	for _, c := range raw {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '[':
			return true
		}
		return false
	}
	return false
}

func paramFor(indexed bool, i int) string {
	if indexed {
		return fmt.Sprintf("input[%d]", i)
	}
	return "input"
}

// truncateNormalize keeps the first n values and rescales them to unit
// length, as OpenAI's dimensions parameter does (Matryoshka-style).
func truncateNormalize(v []float32, n int) []float32 {
	return vecmath.Normalize(append([]float32(nil), v[:n]...))
}

// float32Base64 is the base64 of the vector's little-endian float32 bytes,
// the encoding OpenAI's clients request by default and decode.
func float32Base64(v []float32) string {
	buf := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(x))
	}
	return base64.StdEncoding.EncodeToString(buf)
}
