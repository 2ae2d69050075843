package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
)

// minDrainBytes is the least an oversized body is read and discarded to
// deliver its 413 (see discardBody).
const minDrainBytes = 256 << 20

// readJSON reads a size-capped body into v: 413 past the cap, 408 when the
// client stalls while sending it, 400 when it is not the JSON expected.
func (s *Server) readJSON(w http.ResponseWriter, r *http.Request, v any) *APIError {
	body, e := s.readBody(w, r)
	if e != nil {
		return e
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

// readBody reads the whole body, at most MaxBodyBytes of it.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *APIError) {
	limit := s.cfg.MaxBodyBytes
	if r.ContentLength > limit {
		s.discardBody(w, r, r.ContentLength)
		return nil, tooLargeBody(limit)
	}
	// Grown as the bytes arrive: a client declaring a large body and
	// sending nothing does not get the whole allocation.
	buf := bytes.NewBuffer(make([]byte, 0, min(max(r.ContentLength, 0), 1<<20)+1))
	_, err := buf.ReadFrom(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, bodyError(w, r, err)
	}
	if int64(buf.Len()) > limit {
		s.discardBody(w, r, -1)
		return nil, tooLargeBody(limit)
	}
	return buf.Bytes(), nil
}

// discardBody reads and drops the rest of an oversized body before the 413
// goes out. Clients such as Python's urllib and requests send the whole
// body before they read any answer; closing on them with unread bytes
// makes the kernel reset the connection, and they report a reset instead of
// the 413. The drain is bounded in bytes (beyond it the connection is just
// closed) and in time by the server's read timeout. declared is the
// Content-Length, or -1 when unknown.
func (s *Server) discardBody(w http.ResponseWriter, r *http.Request, declared int64) {
	w.Header().Set("Connection", "close")
	// A client waiting for "100 Continue" has sent nothing: reading would
	// invite the body we are about to refuse.
	if strings.EqualFold(r.Header.Get("Expect"), "100-continue") && declared > 0 {
		return
	}
	bound := max(minDrainBytes, 2*s.cfg.MaxBodyBytes)
	if declared > bound {
		return
	}
	io.CopyN(io.Discard, r.Body, bound)
}

// bodyError maps a failed body read to an answer.
func bodyError(w http.ResponseWriter, r *http.Request, err error) *APIError {
	var ne net.Error
	if errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		w.Header().Set("Connection", "close")
		return &APIError{Status: http.StatusRequestTimeout, Type: typeInvalidRequest, Code: "request_timeout",
			Message: "The request body did not arrive within the server's read timeout."}
	}
	if e := r.Context().Err(); e != nil {
		return contextError(e)
	}
	return badRequest("invalid_body", "", "Could not read the request body: %v", err)
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
