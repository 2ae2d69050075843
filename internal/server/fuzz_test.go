package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fuzz targets for everything the server parses from a client: whole
// request bodies of both POST routes (through the real handler, with the
// stand-in engine), data URLs and single inputs or content parts. Seeds
// live in testdata/fuzz/<Target>/ (go test runs them); regenerate them
// from the fixtures with -update-fuzz-seeds.

var updateFuzzSeeds = flag.Bool("update-fuzz-seeds", false, "rewrite testdata/fuzz seed corpora from the fixtures")

var (
	fuzzOnce   sync.Once
	fuzzServer *Server
)

// fuzzHandler is one server for the whole fuzzing process: small limits so
// that every limit is reachable by mutation, and a short timeout so a
// stuck request shows up as a hang.
func fuzzHandler() http.Handler {
	fuzzOnce.Do(func() {
		s, err := New(&headerOnlyEngine{}, Config{MaxBodyBytes: 64 << 10, MaxInputs: 16, MaxImages: 8, MaxTextBytes: 1024,
			MaxImageBytes: 16 << 10, Timeout: 10 * time.Second, ModelIDs: []string{"owner/model"}})
		if err != nil {
			panic(err)
		}
		fuzzServer = s
	})
	return fuzzServer.Handler()
}

// headerOnlyEngine "decodes" a PNG from its header alone: fuzzing is
// about the server's parsing, and a full decode would cost most of each
// run.
type headerOnlyEngine struct{ fakeEngine }

func (e *headerOnlyEngine) Preprocess(ctx context.Context, data []byte) ([]float32, error) {
	c, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	return []float32{float32(c.Width), float32(c.Height), 1, 2, 3, 4, 5, 6}, nil
}

// checkAnswer holds for every answer to any body: a client error or a
// success, never a 5xx, and always JSON in the expected shape.
func checkAnswer(t *testing.T, path string, body []byte) {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(string(body)))
	fuzzHandler().ServeHTTP(rec, req)
	switch rec.Code {
	case 200, 400, 404, 413:
	default:
		t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body.Bytes())
	}
	var answer map[string]json.RawMessage
	if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil {
		t.Fatalf("answer is not JSON (%v): %s", err, rec.Body.Bytes())
	}
	if rec.Code != 200 {
		var e errorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Message == "" || e.Error.Type == "" {
			t.Fatalf("status %d without an OpenAI error body: %s", rec.Code, rec.Body.Bytes())
		}
		return
	}
	if path == "/v1/embeddings" {
		var r embeddingsResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil || r.Object != "list" || len(r.Data) == 0 {
			t.Fatalf("200 without embeddings: %s", rec.Body.Bytes())
		}
		for i, d := range r.Data {
			if d.Index != i {
				t.Fatalf("data[%d] has index %d", i, d.Index)
			}
		}
	}
}

func FuzzEmbeddingsBody(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) { checkAnswer(t, "/v1/embeddings", body) })
}

func FuzzClassifyBody(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) { checkAnswer(t, "/v1/classify", body) })
}

// FuzzDataURL: any string is either refused with a 400 or decoded to
// bytes; encoding those bytes again as a data URL gives them back.
func FuzzDataURL(f *testing.F) {
	f.Fuzz(func(t *testing.T, u string) {
		if !hasPrefixFold(u, "data:") {
			return // callers only pass data: URLs
		}
		data, e := decodeDataURL(u, "input")
		if e != nil {
			if e.Status != 400 || e.Code == "" {
				t.Fatalf("refusal %+v", e)
			}
			return
		}
		if len(data) == 0 {
			t.Fatal("accepted an empty image")
		}
		again, e := decodeDataURL("data:image/png;base64,"+base64.StdEncoding.EncodeToString(data), "input")
		if e != nil || string(again) != string(data) {
			t.Fatalf("round trip failed: %v", e)
		}
	})
}

// FuzzInput: one element of "input" (a string or a content part) is a
// text, an image reference, or a 400 naming its parameter.
func FuzzInput(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return // elements come out of an already parsed array
		}
		in, e := parseInput(raw, "input[3]")
		if e != nil {
			if e.Status != 400 || e.Param != "input[3]" {
				t.Fatalf("refusal %+v", e)
			}
			return
		}
		if in.isImage && len(in.image.data) == 0 && in.image.remote == "" {
			t.Fatal("an image with neither data nor URL")
		}
		if !in.isImage && hasPrefixFold(strings.TrimSpace(string(raw)), `"data:image/`) {
			t.Fatalf("a data:image/ string was taken as text: %s", raw)
		}
	})
}

// fuzzSeeds are the seed inputs per target, made from the fixtures.
func fuzzSeeds(t *testing.T) map[string][][]byte {
	png, err := os.ReadFile(filepath.Join("..", "..", "testdata", "images", "blue-jeans.png"))
	if err != nil {
		t.Fatal(err)
	}
	img := "data:image/png;base64," + base64.StdEncoding.EncodeToString(png)
	tiny := "data:image/png;base64," + base64.StdEncoding.EncodeToString(pngBytes(t, 2, 2, color.RGBA{200, 30, 30, 255}))
	part := `{"type": "image_url", "image_url": {"url": "` + tiny + `"}}`
	b := func(ss ...string) [][]byte {
		out := make([][]byte, len(ss))
		for i, s := range ss {
			out[i] = []byte(s)
		}
		return out
	}
	return map[string][][]byte{
		"FuzzEmbeddingsBody": b(
			`{"model": "fashion-clip", "input": "a red dress"}`,
			`{"input": ["a", "b c", ""], "encoding_format": "base64", "dimensions": 4}`,
			`{"input": "`+img+`"}`,
			`{"input": [`+part+`, {"type": "text", "text": "a"}, {"type": "image_url", "image_url": "`+tiny+`"}, "b"]}`,
			`{"input": [[1, 2], 3]}`,
			`{"input": "data:image/png;base64,@@"}`,
			`{"input": [{"type": "image_url", "image_url": {"url": "http://127.0.0.1:1/x.png"}}]}`,
			`{"input": "a", "model": "gpt-4", "user": "u"}`,
			`{"input": "a", "dimensions": 0}`,
			`{"input": null}`,
			`["a"]`,
		),
		"FuzzClassifyBody": b(
			`{"image": "`+tiny+`", "labels": ["dress", "boot"]}`,
			`{"images": ["`+img+`", `+part+`], "labels": ["a", "b", "c"], "template": ["a photo of a {}", "{}"], "top_k": 2}`,
			`{"image": "`+tiny+`", "labels": ["a"], "raw_scores": true, "template": "{} clothing"}`,
			`{"image": "https://example.com/a.jpg", "labels": ["a"]}`,
			`{"image": "`+tiny+`", "images": [], "labels": ["a"]}`,
			`{"image": "`+tiny+`", "labels": [" ", 1], "top_k": -1}`,
			`{"images": [{"type": "text", "text": "x"}], "labels": ["a"]}`,
		),
		"FuzzDataURL": b(
			tiny,
			"data:image/jpeg;base64,/9j/4AAQSkZJRgABAQ==",
			"data:image/png;charset=utf-8;BASE64,"+base64.RawURLEncoding.EncodeToString(png[:40]),
			"data:image/png,plain",
			"data:text/plain;base64,aGk=",
			"data:image/gif;base64,",
			"data:",
		),
		"FuzzInput": b(
			`"a striped shirt"`,
			`"`+tiny+`"`,
			part,
			`{"type": "image_url", "image_url": "https://example.com/x.png"}`,
			`{"type": "image_url", "image_url": {"url": "ftp://x"}}`,
			`{"type": "text", "text": "\u00e9t\u00e9 \"quoted\""}`,
			`{"type": "text"}`,
			`{"type": "audio", "audio": {}}`,
			`[1, 2]`,
			`-3`,
			`true`,
		),
	}
}

// TestFuzzSeeds keeps the seed corpora in step with fuzzSeeds.
func TestFuzzSeeds(t *testing.T) {
	for target, seeds := range fuzzSeeds(t) {
		dir := filepath.Join("testdata", "fuzz", target)
		for i, seed := range seeds {
			path := filepath.Join(dir, fmt.Sprintf("seed-%02d", i))
			kind := "[]byte"
			if target == "FuzzDataURL" {
				kind = "string"
			}
			want := fmt.Sprintf("go test fuzz v1\n%s(%q)\n", kind, seed)
			if *updateFuzzSeeds {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil || string(got) != want {
				t.Errorf("%s is missing or stale; run go test -run TestFuzzSeeds -update-fuzz-seeds", path)
			}
		}
	}
}
