package server

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
)

// input is one element of an embeddings request: a text or an image.
type input struct {
	text    string
	isImage bool
	image   imageRef
}

// imageRef is where an image comes from: inline bytes of a data URL, or a
// remote http(s) URL.
type imageRef struct {
	data   []byte
	remote string
}

// contentPart is OpenAI's typed input object. Both {"image_url": {"url": ...}}
// and the shorthand {"image_url": "..."} are accepted.
type contentPart struct {
	Type     string          `json:"type"`
	Text     *string         `json:"text"`
	ImageURL json.RawMessage `json:"image_url"`
}

// parseInputs reads the "input" field: a string, or an array of strings and
// content parts. A string is an image only when it is a data:image/ URL;
// remote images must come as content parts, so a text that happens to be a
// link is never fetched.
func parseInputs(raw json.RawMessage, maxInputs int) ([]input, *APIError) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, badRequest("missing_input", "input", "'input' is required: a string or an array of strings and image content parts")
	}
	var elems []json.RawMessage
	switch raw[0] {
	case '[':
		if err := json.Unmarshal(raw, &elems); err != nil {
			return nil, badRequest("invalid_input", "input", "'input' is not a valid array: %v", err)
		}
		if len(elems) == 0 {
			return nil, badRequest("invalid_input", "input", "'input' must not be an empty array")
		}
		if len(elems) > maxInputs {
			return nil, badRequest("invalid_input", "input", "'input' has %d items; at most %d are allowed per request", len(elems), maxInputs)
		}
	default:
		elems = []json.RawMessage{raw}
	}
	out := make([]input, len(elems))
	for i, e := range elems {
		param := "input"
		if raw[0] == '[' {
			param = fmt.Sprintf("input[%d]", i)
		}
		in, err := parseInput(e, param)
		if err != nil {
			return nil, err
		}
		out[i] = in
	}
	return out, nil
}

func parseInput(raw json.RawMessage, param string) (input, *APIError) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return input{}, badRequest("invalid_input", param, "%s is empty", param)
	}
	switch raw[0] {
	case '"':
		s, err := jsonString(raw)
		if err != nil {
			return input{}, badRequest("invalid_input", param, "%s is not a valid string: %v", param, err)
		}
		if hasPrefixFold(s, "data:image/") {
			ref, err := parseImageURL(s, param, false)
			if err != nil {
				return input{}, err
			}
			return input{isImage: true, image: ref}, nil
		}
		return input{text: s}, nil
	case '{':
		var p contentPart
		if err := json.Unmarshal(raw, &p); err != nil {
			return input{}, badRequest("invalid_input", param, "%s is not a valid content part: %v", param, err)
		}
		switch p.Type {
		case "text":
			if p.Text == nil {
				return input{}, badRequest("invalid_input", param, `%s: a "text" content part needs a "text" string`, param)
			}
			return input{text: *p.Text}, nil
		case "image_url":
			u, err := imageURLField(p.ImageURL, param)
			if err != nil {
				return input{}, err
			}
			ref, err := parseImageURL(u, param, true)
			if err != nil {
				return input{}, err
			}
			return input{isImage: true, image: ref}, nil
		default:
			return input{}, badRequest("invalid_input", param, `%s: content part type %q is not supported (want "text" or "image_url")`, param, p.Type)
		}
	case '[', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return input{}, badRequest("invalid_input", param, "%s: token-id inputs are not supported; send text", param)
	default:
		return input{}, badRequest("invalid_input", param, "%s must be a string or a content part object", param)
	}
}

// jsonString decodes a JSON string. Inputs are often large base64 data
// URLs, which hold neither escapes nor non-ASCII bytes: those are taken as
// they are instead of being scanned twice more by encoding/json. Only
// callers holding bytes from an already validated document use it.
func jsonString(raw []byte) (string, error) {
	if n := len(raw); n >= 2 && raw[0] == '"' && raw[n-1] == '"' {
		plain := true
		for _, c := range raw[1 : n-1] {
			if c == '\\' || c == '"' || c < 0x20 || c >= 0x80 {
				plain = false
				break
			}
		}
		if plain {
			return string(raw[1 : n-1]), nil
		}
	}
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err
}

// imageURLField reads image_url as {"url": "..."} or as a bare string.
func imageURLField(raw json.RawMessage, param string) (string, *APIError) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		if s, err := jsonString(raw); err == nil {
			return s, nil
		}
	}
	var obj struct {
		URL json.RawMessage `json:"url"`
	}
	if len(raw) > 0 && raw[0] == '{' && json.Unmarshal(raw, &obj) == nil {
		if u, err := jsonString(bytes.TrimSpace(obj.URL)); err == nil && u != "" {
			return u, nil
		}
	}
	return "", badRequest("invalid_input", param, `%s: "image_url" needs a "url" (a data:image/...;base64, URL or an http(s) URL)`, param)
}

// parseImageURL decodes a data URL now; an http(s) URL is fetched later, and
// only when the server allows remote images. allowRemote says whether the
// field may hold a remote URL at all.
func parseImageURL(u, param string, allowRemote bool) (imageRef, *APIError) {
	switch {
	case hasPrefixFold(u, "data:"):
		data, err := decodeDataURL(u, param)
		return imageRef{data: data}, err
	case allowRemote && (hasPrefixFold(u, "http://") || hasPrefixFold(u, "https://")):
		return imageRef{remote: u}, nil
	}
	return imageRef{}, badRequest("invalid_image_url", param, "%s: an image must be a data:image/...;base64, URL or an http(s) URL", param)
}

// decodeDataURL returns the bytes of data:image/<type>;base64,<payload>.
func decodeDataURL(u, param string) ([]byte, *APIError) {
	meta, payload, ok := strings.Cut(u[len("data:"):], ",")
	if !ok {
		return nil, badRequest("invalid_image_url", param, "%s: malformed data URL (no comma before the data)", param)
	}
	if !hasPrefixFold(meta, "image/") {
		return nil, badRequest("invalid_image_url", param, "%s: data URL media type %q is not an image type", param, strings.Split(meta, ";")[0])
	}
	isB64 := false
	for _, p := range strings.Split(meta, ";")[1:] {
		if strings.EqualFold(strings.TrimSpace(p), "base64") {
			isB64 = true
		}
	}
	if !isB64 {
		return nil, badRequest("invalid_image_url", param, "%s: image data URLs must be base64-encoded (data:image/...;base64,...)", param)
	}
	data, err := decodeBase64(payload)
	if err != nil {
		return nil, badRequest("invalid_base64", param, "%s: the data URL's payload is not valid base64: %v", param, err)
	}
	if len(data) == 0 {
		return nil, badRequest("invalid_image", param, "%s: the data URL holds no data", param)
	}
	return data, nil
}

// decodeBase64 accepts standard or URL-safe alphabets, padded or not, since
// clients differ.
func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	var firstErr error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		b, err := enc.DecodeString(s)
		if err == nil {
			return b, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
