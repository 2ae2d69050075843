package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// Error types, as OpenAI's API spells them.
const (
	typeInvalidRequest = "invalid_request_error"
	typeRateLimit      = "requests" // what OpenAI sends with rate_limit_exceeded
	typeServer         = "server_error"
)

// APIError is an error answered in OpenAI's error shape with an HTTP status.
type APIError struct {
	Status  int
	Message string
	Type    string
	Param   string // empty: JSON null
	Code    string // empty: JSON null
	// RetryAfter, in seconds, is sent as a Retry-After header when positive.
	RetryAfter int
}

func (e *APIError) Error() string { return e.Message }

// badRequest is a 400 for input the server cannot use.
func badRequest(code, param, format string, args ...any) *APIError {
	return &APIError{Status: http.StatusBadRequest, Type: typeInvalidRequest, Code: code, Param: param, Message: fmt.Sprintf(format, args...)}
}

// errorBody is the wire form: {"error": {"message", "type", "param", "code"}}.
type errorBody struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// writeError answers with e in OpenAI's shape.
func writeError(w http.ResponseWriter, e *APIError) {
	var body errorBody
	body.Error.Message = e.Message
	body.Error.Type = e.Type
	body.Error.Param = nullable(e.Param)
	body.Error.Code = nullable(e.Code)
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	writeJSON(w, e.Status, body)
}

// writeJSON sends v as the response body. Encoding errors cannot reach the
// client any more once the status is out, so they are dropped.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"message":"response encoding failed","type":"server_error","param":null,"code":null}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
