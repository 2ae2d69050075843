package server

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"

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

// readJSON reads a size-capped body into v: 413 past the cap, 400 when it
// is not the JSON expected.
func (s *Server) readJSON(w http.ResponseWriter, r *http.Request, v any) *APIError {
	if r.ContentLength > s.cfg.MaxBodyBytes {
		return tooLargeBody(s.cfg.MaxBodyBytes)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLargeBody(s.cfg.MaxBodyBytes)
		}
		if e := r.Context().Err(); e != nil {
			return contextError(e)
		}
		return badRequest("invalid_body", "", "Could not read the request body: %v", err)
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return badRequest("invalid_type", te.Field, "'%s' has the wrong type: got JSON %s, want %s", te.Field, te.Value, jsonKind(te.Type.String()))
		}
		return badRequest("invalid_json", "", "We could not parse the JSON body of your request: %v", err)
	}
	return nil
}

func jsonKind(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case goType == "string":
		return "a string"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "*int"), strings.HasPrefix(goType, "float"):
		return "a number"
	case goType == "bool":
		return "a boolean"
	}
	return goType
}

func tooLargeBody(limit int64) *APIError {
	return &APIError{Status: http.StatusRequestEntityTooLarge, Type: typeInvalidRequest, Code: "request_too_large",
		Message: fmt.Sprintf("The request body is larger than the server's limit of %d bytes.", limit)}
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
		texts = append(texts, in.text)
		textAt = append(textAt, i)
		tokens += s.engine.TokenCount(in.text)
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
		pixels, e := s.loadImages(ctx, refs, params)
		if e != nil {
			return nil, e
		}
		out, e := s.encodeImages(ctx, pixels)
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

// encodeImages runs pixel tensors through the vision batcher.
func (s *Server) encodeImages(ctx context.Context, pixels [][]float32) ([][]float32, *APIError) {
	j, err := s.vision.enqueue(ctx, pixels)
	if err != nil {
		return nil, s.batchError(err, "image")
	}
	out, err := j.wait()
	if err != nil {
		return nil, s.batchError(err, "image")
	}
	return out, nil
}

// modelName echoes the name the client used, else the listed id.
func (s *Server) modelName(asked string) string {
	if asked != "" {
		return asked
	}
	return s.cfg.ModelIDs[0]
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
