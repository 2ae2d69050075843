package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"hash/fnv"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

const fakeDim = 8

// fakeEngine stands in for the model in the HTTP layer's tests: texts embed
// to a hash-seeded vector, images (real PNGs) to their size and colour.
type fakeEngine struct {
	mu          sync.Mutex
	textBatches []int
	imageBatchs []int
	labelCalls  int

	decodes int

	// textGate / imageGate / decodeGate, when set, block the encoder or
	// the decoder until closed (or the call's context ends); entered gets
	// a value each time such a call starts.
	textGate, imageGate, decodeGate chan struct{}
	entered                         chan string
	failTexts                       error
	panicImages                     bool
	panicLabels                     bool
}

func (f *fakeEngine) wait(ctx context.Context, gate chan struct{}, tower string) error {
	if f.entered != nil {
		select {
		case f.entered <- tower:
		default:
		}
	}
	if gate == nil {
		return nil
	}
	select {
	case <-gate:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func textVector(s string) []float32 {
	h := fnv.New64a()
	h.Write([]byte(s))
	seed := h.Sum64()
	v := make([]float32, fakeDim)
	for i := range v {
		seed = seed*6364136223846793005 + 1442695040888963407
		v[i] = float32(int64(seed>>33)%1000) / 1000
	}
	return normalized(v)
}

func normalized(v []float32) []float32 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		return v
	}
	for i := range v {
		v[i] = float32(float64(v[i]) / math.Sqrt(s))
	}
	return v
}

func (f *fakeEngine) EncodeTexts(ctx context.Context, texts []string) ([][]float32, error) {
	f.mu.Lock()
	f.textBatches = append(f.textBatches, len(texts))
	f.mu.Unlock()
	if err := f.wait(ctx, f.textGate, "text"); err != nil {
		return nil, err
	}
	if f.failTexts != nil {
		return nil, f.failTexts
	}
	out := make([][]float32, len(texts))
	for i, t := range texts {
		out[i] = textVector(t)
	}
	return out, nil
}

func (f *fakeEngine) EncodeImages(ctx context.Context, pixels [][]float32) ([][]float32, error) {
	f.mu.Lock()
	f.imageBatchs = append(f.imageBatchs, len(pixels))
	f.mu.Unlock()
	if err := f.wait(ctx, f.imageGate, "image"); err != nil {
		return nil, err
	}
	if f.panicImages {
		panic("boom")
	}
	out := make([][]float32, len(pixels))
	for i, p := range pixels {
		out[i] = normalized(append([]float32(nil), p...))
	}
	return out, nil
}

// Preprocess decodes a PNG with the standard library and describes it with
// fakeDim numbers, so different images give different embeddings.
func (f *fakeEngine) Preprocess(ctx context.Context, data []byte) ([]float32, error) {
	f.mu.Lock()
	f.decodes++
	f.mu.Unlock()
	if err := f.wait(ctx, f.decodeGate, "decode"); err != nil {
		return nil, err
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	b := img.Bounds()
	r, g, bl, _ := img.At(b.Min.X, b.Min.Y).RGBA()
	return []float32{float32(b.Dx()), float32(b.Dy()), float32(r), float32(g), float32(bl), 1, 2, 3}, nil
}

// DecodeCost reads the PNG header's size.
func (f *fakeEngine) DecodeCost(data []byte) (int64, error) {
	c, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return 0, err
	}
	return int64(c.Width) * int64(c.Height), nil
}

func (f *fakeEngine) TokenCount(text string) int { return len(strings.Fields(text)) + 2 }

func (f *fakeEngine) EmbedLabels(ctx context.Context, names, templates []string) (LabelSet, error) {
	f.mu.Lock()
	f.labelCalls++
	f.mu.Unlock()
	if f.panicLabels {
		panic("labels boom")
	}
	if len(templates) == 0 {
		templates = []string{"a photo of a {}"}
	}
	set := fakeLabels{names: names}
	for _, n := range names {
		var prompts []string
		for _, t := range templates {
			prompts = append(prompts, strings.Replace(t, "{}", n, 1))
		}
		embs, err := f.EncodeTexts(ctx, prompts)
		if err != nil {
			return nil, err
		}
		set.embs = append(set.embs, embs[0])
	}
	return set, nil
}

func (f *fakeEngine) LogitScale() float32 { return 100 }
func (f *fakeEngine) Dim() int            { return fakeDim }

func (f *fakeEngine) batches() (text, image []int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int(nil), f.textBatches...), append([]int(nil), f.imageBatchs...)
}

type fakeLabels struct {
	names []string
	embs  [][]float32
}

func (l fakeLabels) Score(img []float32, scale float32, raw bool, topK int) []LabelScore {
	out := make([]LabelScore, len(l.names))
	var sum float64
	for i, e := range l.embs {
		var d float64
		for k := range e {
			d += float64(e[k]) * float64(img[k])
		}
		out[i] = LabelScore{Label: l.names[i], Score: d}
		if !raw {
			out[i].Score = math.Exp(float64(scale) * d)
			sum += out[i].Score
		}
	}
	if !raw {
		for i := range out {
			out[i].Score /= sum
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Score > out[b].Score })
	if topK > 0 && topK < len(out) {
		out = out[:topK]
	}
	return out
}

// pngDataURL is a w×h PNG filled with c, as a data URL.
func pngDataURL(t testing.TB, w, h int, c color.Color) string {
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(pngBytes(t, w, h, c))
}

func pngBytes(t testing.TB, w, h int, c color.Color) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// start runs a Server for eng behind an httptest server.
func start(t *testing.T, eng Engine, cfg Config) (*Server, *httptest.Server) {
	t.Helper()
	s, err := New(eng, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		ts.Close()
		s.Close()
	})
	return s, ts
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("status %d: body is not JSON: %v\n%s", r.status, err, r.body)
	}
	return m
}

func do(t testing.TB, method, url, body string, header map[string]string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func post(t testing.TB, url, body string) response { return do(t, http.MethodPost, url, body, nil) }

// checkErrorShape asserts OpenAI's {"error": {message, type, param, code}}.
func checkErrorShape(t *testing.T, r response, wantCode string) {
	t.Helper()
	var body struct {
		Error map[string]any `json:"error"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil || body.Error == nil {
		t.Fatalf("status %d: not an OpenAI error body: %s", r.status, r.body)
	}
	for _, k := range []string{"message", "type", "param", "code"} {
		if _, ok := body.Error[k]; !ok {
			t.Errorf("error body lacks %q: %s", k, r.body)
		}
	}
	if msg, _ := body.Error["message"].(string); msg == "" {
		t.Errorf("empty error message: %s", r.body)
	}
	code, _ := body.Error["code"].(string)
	if code != wantCode {
		t.Errorf("error code = %q, want %q (%s)", code, wantCode, r.body)
	}
}

// waitFor polls cond for up to two seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

var errEngine = errors.New("engine exploded")

// noisyPNG does not compress, for size-limit tests.
func noisyPNG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	seed := uint32(1)
	for i := range img.Pix {
		seed = seed*1664525 + 1013904223
		img.Pix[i] = byte(seed >> 24)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
