package server

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image/color"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestEmbeddingsErrors(t *testing.T) {
	red := pngDataURL(t, 4, 4, color.RGBA{255, 0, 0, 255})
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		wantStatus int
		wantCode   string
		wantParam  string
	}{
		{"malformed JSON", "POST", "/v1/embeddings", `{"input": "a"`, 400, "invalid_json", ""},
		{"not an object", "POST", "/v1/embeddings", `["a"]`, 400, "invalid_type", ""},
		{"wrong field type", "POST", "/v1/embeddings", `{"input": "a", "dimensions": "four"}`, 400, "invalid_type", "dimensions"},
		{"missing input", "POST", "/v1/embeddings", `{"model": "fashion-clip"}`, 400, "missing_input", "input"},
		{"null input", "POST", "/v1/embeddings", `{"input": null}`, 400, "missing_input", "input"},
		{"empty array", "POST", "/v1/embeddings", `{"input": []}`, 400, "invalid_input", "input"},
		{"token ids", "POST", "/v1/embeddings", `{"input": [1, 2, 3]}`, 400, "invalid_input", "input[0]"},
		{"nested token ids", "POST", "/v1/embeddings", `{"input": [[1, 2]]}`, 400, "invalid_input", "input[0]"},
		{"too many inputs", "POST", "/v1/embeddings", `{"input": ["a","b","c","d","e"]}`, 400, "invalid_input", "input"},
		{"bad base64", "POST", "/v1/embeddings", `{"input": "data:image/png;base64,@@not base64@@"}`, 400, "invalid_base64", "input"},
		{"not an image", "POST", "/v1/embeddings", `{"input": ["x", "data:image/png;base64,` + base64.StdEncoding.EncodeToString([]byte("hello, not a png")) + `"]}`, 400, "invalid_image", "input[1]"},
		{"non-base64 data URL", "POST", "/v1/embeddings", `{"input": [{"type": "image_url", "image_url": {"url": "data:image/png,abc"}}]}`, 400, "invalid_image_url", "input[0]"},
		{"non-image data URL", "POST", "/v1/embeddings", `{"input": [{"type": "image_url", "image_url": {"url": "data:text/plain;base64,aGk="}}]}`, 400, "invalid_image_url", "input[0]"},
		{"image_url without url", "POST", "/v1/embeddings", `{"input": [{"type": "image_url", "image_url": {}}]}`, 400, "invalid_input", "input[0]"},
		{"unknown part type", "POST", "/v1/embeddings", `{"input": [{"type": "audio"}]}`, 400, "invalid_input", "input[0]"},
		{"ftp image URL", "POST", "/v1/embeddings", `{"input": [{"type": "image_url", "image_url": {"url": "ftp://x/y.png"}}]}`, 400, "invalid_image_url", "input[0]"},
		{"remote image disabled", "POST", "/v1/embeddings", `{"input": [{"type": "image_url", "image_url": {"url": "http://127.0.0.1:1/x.png"}}]}`, 400, "remote_images_disabled", "input[0]"},
		{"bad encoding_format", "POST", "/v1/embeddings", `{"input": "a", "encoding_format": "int8"}`, 400, "invalid_value", "encoding_format"},
		{"dimensions too large", "POST", "/v1/embeddings", `{"input": "a", "dimensions": 9}`, 400, "invalid_value", "dimensions"},
		{"dimensions zero", "POST", "/v1/embeddings", `{"input": "a", "dimensions": 0}`, 400, "invalid_value", "dimensions"},
		{"unknown model", "POST", "/v1/embeddings", `{"model": "text-embedding-3-small", "input": "a"}`, 404, "model_not_found", "model"},
		{"body too large", "POST", "/v1/embeddings", `{"input": "` + strings.Repeat("a", 5000) + `"}`, 413, "request_too_large", ""},
		{"image over byte limit", "POST", "/v1/embeddings", `{"input": "data:image/png;base64,` + base64.StdEncoding.EncodeToString(noisyPNG(t, 16, 16)) + `"}`, 400, "image_too_large", "input"},
		{"wrong method", "GET", "/v1/embeddings", ``, 405, "", ""},
		{"unknown path", "POST", "/v1/chat/completions", `{}`, 404, "", ""},
		{"classify unknown model", "POST", "/v1/classify", `{"model": "clip", "image": "` + red + `", "labels": ["a"]}`, 404, "model_not_found", "model"},
	}
	_, ts := start(t, &fakeEngine{}, Config{MaxBodyBytes: 4096, MaxInputs: 4, MaxImageBytes: 100})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, tc.method, ts.URL+tc.path, tc.body, nil)
			if r.status != tc.wantStatus {
				t.Fatalf("status = %d, want %d: %s", r.status, tc.wantStatus, r.body)
			}
			checkErrorShape(t, r, tc.wantCode)
			param, _ := r.json(t)["error"].(map[string]any)["param"].(string)
			if param != tc.wantParam {
				t.Errorf("param = %q, want %q", param, tc.wantParam)
			}
		})
	}
}

// embeddingResp decodes a /v1/embeddings answer, base64 or float.
type embeddingResp struct {
	Object string `json:"object"`
	Model  string `json:"model"`
	Data   []struct {
		Object    string          `json:"object"`
		Index     int             `json:"index"`
		Embedding json.RawMessage `json:"embedding"`
	} `json:"data"`
	Usage struct {
		PromptTokens int `json:"prompt_tokens"`
		TotalTokens  int `json:"total_tokens"`
	} `json:"usage"`
}

func (e embeddingResp) vectors(t *testing.T) [][]float32 {
	t.Helper()
	out := make([][]float32, len(e.Data))
	for i, d := range e.Data {
		if d.Index != i || d.Object != "embedding" {
			t.Fatalf("data[%d] = index %d object %q", i, d.Index, d.Object)
		}
		var s string
		if json.Unmarshal(d.Embedding, &s) == nil {
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil || len(b)%4 != 0 {
				t.Fatalf("data[%d]: bad base64 embedding: %v", i, err)
			}
			for k := 0; k < len(b); k += 4 {
				out[i] = append(out[i], math.Float32frombits(binary.LittleEndian.Uint32(b[k:])))
			}
			continue
		}
		if err := json.Unmarshal(d.Embedding, &out[i]); err != nil {
			t.Fatalf("data[%d]: %v", i, err)
		}
	}
	return out
}

func TestEmbeddings(t *testing.T) {
	red := pngDataURL(t, 4, 3, color.RGBA{255, 0, 0, 255})
	blue := pngDataURL(t, 2, 5, color.RGBA{0, 0, 255, 255})
	eng := &fakeEngine{}
	redPx, _ := eng.Preprocess(t.Context(), mustDataURL(t, red))
	bluePx, _ := eng.Preprocess(t.Context(), mustDataURL(t, blue))
	redVec, blueVec := normalized(redPx), normalized(bluePx)
	tests := []struct {
		name       string
		body       string
		want       [][]float32
		wantModel  string
		wantTokens int
	}{
		{"one text", `{"model": "fashion-clip", "input": "red dress"}`, [][]float32{textVector("red dress")}, "fashion-clip", 4},
		{"texts", `{"input": ["a", "b c"]}`, [][]float32{textVector("a"), textVector("b c")}, "owner/repo", 3 + 4},
		{"repo id", `{"model": "owner/repo", "input": "a"}`, [][]float32{textVector("a")}, "owner/repo", 3},
		{"folder name", `{"model": "repo-folder", "input": "a"}`, [][]float32{textVector("a")}, "repo-folder", 3},
		{"empty model", `{"model": "", "input": "a"}`, [][]float32{textVector("a")}, "owner/repo", 3},
		{"image data URL", `{"input": "` + red + `"}`, [][]float32{redVec}, "owner/repo", 0},
		{"content parts", `{"input": [{"type": "image_url", "image_url": {"url": "` + blue + `"}}, {"type": "text", "text": "a"}, {"type": "image_url", "image_url": "` + red + `"}]}`,
			[][]float32{blueVec, textVector("a"), redVec}, "owner/repo", 3},
		{"mixed", `{"input": ["a", "` + red + `", "b", "` + blue + `"]}`, [][]float32{textVector("a"), redVec, textVector("b"), blueVec}, "owner/repo", 6},
		{"base64", `{"input": ["a", "` + red + `"], "encoding_format": "base64"}`, [][]float32{textVector("a"), redVec}, "owner/repo", 3},
		{"float", `{"input": "a", "encoding_format": "float", "user": "ignored"}`, [][]float32{textVector("a")}, "owner/repo", 3},
		{"dimensions", `{"input": ["a", "` + red + `"], "dimensions": 3}`, [][]float32{normalized(textVector("a")[:3]), normalized(redVec[:3])}, "owner/repo", 3},
		{"dimensions base64", `{"input": "a", "dimensions": 2, "encoding_format": "base64"}`, [][]float32{normalized(textVector("a")[:2])}, "owner/repo", 3},
		{"full dimensions", `{"input": "a", "dimensions": 8}`, [][]float32{textVector("a")}, "owner/repo", 3},
	}
	_, ts := start(t, eng, Config{ModelIDs: []string{"owner/repo", "repo-folder"}})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := post(t, ts.URL+"/v1/embeddings", tc.body)
			if r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			var resp embeddingResp
			if err := json.Unmarshal(r.body, &resp); err != nil {
				t.Fatal(err)
			}
			if resp.Object != "list" || resp.Model != tc.wantModel {
				t.Errorf("object %q model %q, want list %q", resp.Object, resp.Model, tc.wantModel)
			}
			if resp.Usage.PromptTokens != tc.wantTokens || resp.Usage.TotalTokens != tc.wantTokens {
				t.Errorf("usage = %+v, want %d tokens", resp.Usage, tc.wantTokens)
			}
			got := resp.vectors(t)
			if len(got) != len(tc.want) {
				t.Fatalf("%d embeddings, want %d", len(got), len(tc.want))
			}
			for i := range got {
				if len(got[i]) != len(tc.want[i]) {
					t.Fatalf("embedding %d has %d values, want %d", i, len(got[i]), len(tc.want[i]))
				}
				for k := range got[i] {
					if math.Abs(float64(got[i][k]-tc.want[i][k])) > 1e-7 {
						t.Fatalf("embedding %d = %v, want %v", i, got[i], tc.want[i])
					}
				}
			}
		})
	}
}

func mustDataURL(t *testing.T, u string) []byte {
	t.Helper()
	b, e := decodeDataURL(u, "x")
	if e != nil {
		t.Fatal(e)
	}
	return b
}

func TestAPIKey(t *testing.T) {
	tests := []struct {
		name       string
		key        string
		path       string
		auth       string
		wantStatus int
		wantCode   string
	}{
		{"open server", "", "/v1/embeddings", "", 200, ""},
		{"open server ignores a key", "", "/v1/embeddings", "Bearer anything", 200, ""},
		{"right key", "s3cret", "/v1/embeddings", "Bearer s3cret", 200, ""},
		{"scheme case", "s3cret", "/v1/embeddings", "bearer s3cret", 200, ""},
		{"missing key", "s3cret", "/v1/embeddings", "", 401, ""},
		{"wrong key", "s3cret", "/v1/embeddings", "Bearer s3cre", 401, "invalid_api_key"},
		{"longer key", "s3cret", "/v1/embeddings", "Bearer s3cret2", 401, "invalid_api_key"},
		{"basic auth", "s3cret", "/v1/embeddings", "Basic czNjcmV0", 401, ""},
		{"bearer without token", "s3cret", "/v1/embeddings", "Bearer ", 401, ""},
		{"models needs key", "s3cret", "/v1/models", "", 401, ""},
		{"classify needs key", "s3cret", "/v1/classify", "Bearer nope", 401, "invalid_api_key"},
		{"health is open", "s3cret", "/healthz", "", 200, ""},
		{"metrics is open", "s3cret", "/metrics", "", 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, ts := start(t, &fakeEngine{}, Config{APIKey: tc.key})
			method, body := http.MethodGet, ""
			if strings.HasPrefix(tc.path, "/v1/e") || strings.HasPrefix(tc.path, "/v1/c") {
				method, body = http.MethodPost, `{"input": "a"}`
			}
			h := map[string]string{}
			if tc.auth != "" {
				h["Authorization"] = tc.auth
			}
			r := do(t, method, ts.URL+tc.path, body, h)
			if r.status != tc.wantStatus {
				t.Fatalf("status = %d, want %d: %s", r.status, tc.wantStatus, r.body)
			}
			if tc.wantStatus == 401 {
				checkErrorShape(t, r, tc.wantCode)
				if r.header.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
			}
		})
	}
}

func TestQueueFull(t *testing.T) {
	eng := &fakeEngine{textGate: make(chan struct{}), entered: make(chan string, 1)}
	s, ts := start(t, eng, Config{Queue: 1, MaxBatch: 1, MaxWait: -1})
	var wg sync.WaitGroup
	statuses := make([]int, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = post(t, ts.URL+"/v1/embeddings", fmt.Sprintf(`{"input": "r%d"}`, i)).status
		}()
		if i == 0 {
			<-eng.entered // the first request now holds the encoder
		}
	}
	waitFor(t, "a queued request", func() bool { return s.text.depth() == 1 })
	r := post(t, ts.URL+"/v1/embeddings", `{"input": "one too many"}`)
	if r.status != http.StatusTooManyRequests {
		t.Fatalf("status = %d, want 429: %s", r.status, r.body)
	}
	checkErrorShape(t, r, "rate_limit_exceeded")
	if r.header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	close(eng.textGate)
	wg.Wait()
	for i, st := range statuses {
		if st != 200 {
			t.Errorf("request %d: status %d after the queue drained", i, st)
		}
	}
}

func TestTimeout(t *testing.T) {
	eng := &fakeEngine{imageGate: make(chan struct{})}
	defer close(eng.imageGate)
	_, ts := start(t, eng, Config{Timeout: 50 * time.Millisecond})
	r := post(t, ts.URL+"/v1/embeddings", `{"input": "`+pngDataURL(t, 2, 2, color.Black)+`"}`)
	if r.status != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, want 503: %s", r.status, r.body)
	}
	checkErrorShape(t, r, "timeout")
}

func TestEngineFailure(t *testing.T) {
	tests := []struct {
		name       string
		eng        *fakeEngine
		body       string
		wantStatus int
	}{
		{"text encoder error", &fakeEngine{failTexts: errEngine}, `{"input": "a"}`, 500},
		{"vision encoder panic", &fakeEngine{panicImages: true}, `{"input": "` + pngDataURL(t, 2, 2, color.White) + `"}`, 500},
		{"label embedding panic", &fakeEngine{panicLabels: true}, `{"image": "` + pngDataURL(t, 2, 2, color.White) + `", "labels": ["a"]}`, 500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logged []string
			var mu sync.Mutex
			_, ts := start(t, tc.eng, Config{Logf: func(f string, a ...any) {
				mu.Lock()
				logged = append(logged, fmt.Sprintf(f, a...))
				mu.Unlock()
			}})
			path := "/v1/embeddings"
			if strings.Contains(tc.body, `"labels"`) {
				path = "/v1/classify"
			}
			r := post(t, ts.URL+path, tc.body)
			if r.status != tc.wantStatus {
				t.Fatalf("status = %d, want %d", r.status, tc.wantStatus)
			}
			checkErrorShape(t, r, "")
			// The server survives and says why in its log.
			mu.Lock()
			defer mu.Unlock()
			if len(logged) == 0 {
				t.Error("nothing logged")
			}
			if r := do(t, "GET", ts.URL+"/healthz", "", nil); r.status != 200 {
				t.Errorf("healthz after failure: %d", r.status)
			}
		})
	}
}

// TestMicroBatching checks that concurrent requests share one encoder run.
func TestMicroBatching(t *testing.T) {
	tests := []struct {
		name     string
		clients  int
		maxBatch int
		maxWait  time.Duration
		want     []int // batch sizes the encoder sees
	}{
		// A long wait: the batch leaves when full, not on the timer.
		{"gathered", 8, 8, 5 * time.Second, []int{8}},
		// Batches are cut at maxBatch.
		{"split", 6, 3, 5 * time.Second, []int{3, 3}},
		{"batch of one", 3, 1, 5 * time.Second, []int{1, 1, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eng := &fakeEngine{}
			_, ts := start(t, eng, Config{MaxBatch: tc.maxBatch, MaxWait: tc.maxWait})
			var wg sync.WaitGroup
			for i := range tc.clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := post(t, ts.URL+"/v1/embeddings", fmt.Sprintf(`{"input": "text %d"}`, i))
					if r.status != 200 {
						t.Errorf("status %d: %s", r.status, r.body)
						return
					}
					var resp embeddingResp
					json.Unmarshal(r.body, &resp)
					got := resp.vectors(t)
					if want := textVector(fmt.Sprintf("text %d", i)); len(got) != 1 || got[0][0] != want[0] {
						t.Errorf("client %d got another client's embedding", i)
					}
				}()
			}
			wg.Wait()
			text, _ := eng.batches()
			if fmt.Sprint(text) != fmt.Sprint(tc.want) {
				t.Errorf("encoder batches = %v, want %v", text, tc.want)
			}
		})
	}
}

// TestTextNotBehindVision: a stuck vision tower must not hold up texts.
func TestTextNotBehindVision(t *testing.T) {
	eng := &fakeEngine{imageGate: make(chan struct{}), entered: make(chan string, 4)}
	_, ts := start(t, eng, Config{})
	done := make(chan int, 1)
	go func() {
		done <- post(t, ts.URL+"/v1/embeddings", `{"input": "`+pngDataURL(t, 2, 2, color.White)+`"}`).status
	}()
	for tower := range eng.entered {
		if tower == "image" {
			break
		}
	}
	r := post(t, ts.URL+"/v1/embeddings", `{"input": "a text"}`)
	if r.status != 200 {
		t.Fatalf("text request while vision is busy: %d %s", r.status, r.body)
	}
	select {
	case st := <-done:
		t.Fatalf("image request finished (%d) although the vision tower is blocked", st)
	default:
	}
	close(eng.imageGate)
	if st := <-done; st != 200 {
		t.Errorf("image request: %d", st)
	}
}

func TestShutdown(t *testing.T) {
	eng := &fakeEngine{textGate: make(chan struct{}), entered: make(chan string, 1)}
	s, err := New(eng, Config{ShutdownTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()

	inflight := make(chan response, 1)
	go func() { inflight <- post(t, url+"/v1/embeddings", `{"input": "in flight"}`) }()
	<-eng.entered
	cancel()
	waitFor(t, "draining", s.draining.Load)

	// New work is refused while the in-flight request drains.
	for _, tc := range []struct{ method, path, body string }{
		{"POST", "/v1/embeddings", `{"input": "late"}`},
		{"GET", "/healthz", ""},
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
		s.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusServiceUnavailable {
			t.Errorf("%s %s while draining: %d, want 503", tc.method, tc.path, rec.Code)
		}
		if tc.method == "POST" {
			checkErrorShape(t, response{status: rec.Code, body: rec.Body.Bytes()}, "server_shutting_down")
		}
	}
	select {
	case err := <-served:
		t.Fatalf("Serve returned (%v) before the in-flight request finished", err)
	case <-time.After(20 * time.Millisecond):
	}
	close(eng.textGate)
	if r := <-inflight; r.status != 200 {
		t.Errorf("in-flight request: status %d, want 200 (%s)", r.status, r.body)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after draining")
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Error("listener still accepting after shutdown")
	}
}

func TestShutdownGraceExpires(t *testing.T) {
	eng := &fakeEngine{textGate: make(chan struct{}), entered: make(chan string, 1)}
	defer close(eng.textGate)
	s, _ := New(eng, Config{ShutdownTimeout: 50 * time.Millisecond})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()
	go func() {
		req, _ := http.NewRequest("POST", "http://"+ln.Addr().String()+"/v1/embeddings", strings.NewReader(`{"input": "stuck"}`))
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	<-eng.entered
	cancel()
	select {
	case err := <-served:
		if err == nil {
			t.Error("Serve returned nil although a request was cut off")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not give up after the grace period")
	}
}

func TestModels(t *testing.T) {
	_, ts := start(t, &fakeEngine{}, Config{ModelIDs: []string{"owner/repo", "repo"}, Created: time.Unix(1700000000, 0)})
	tests := []struct {
		path       string
		wantStatus int
		wantBody   string
	}{
		{"/v1/models", 200, `{"object":"list","data":[{"id":"owner/repo","object":"model","created":1700000000,"owned_by":"fashionclip"}]}`},
		{"/v1/models/owner/repo", 200, `{"id":"owner/repo","object":"model","created":1700000000,"owned_by":"fashionclip"}`},
		{"/v1/models/owner%2Frepo", 200, `{"id":"owner/repo","object":"model","created":1700000000,"owned_by":"fashionclip"}`},
		{"/v1/models/fashion-clip", 200, `{"id":"owner/repo","object":"model","created":1700000000,"owned_by":"fashionclip"}`},
		{"/v1/models/gpt-4", 404, ""},
		{"/v1/models/", 404, ""},
		{"/healthz", 200, `{"model":"owner/repo","status":"ok"}`},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			r := do(t, "GET", ts.URL+tc.path, "", nil)
			if r.status != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", r.status, tc.wantStatus, r.body)
			}
			if tc.wantStatus == 404 {
				checkErrorShape(t, r, "model_not_found")
				return
			}
			if got := strings.TrimSpace(string(r.body)); got != tc.wantBody {
				t.Errorf("body = %s\nwant   %s", got, tc.wantBody)
			}
		})
	}
}

func TestMetrics(t *testing.T) {
	_, ts := start(t, &fakeEngine{}, Config{})
	post(t, ts.URL+"/v1/embeddings", `{"input": ["a", "b"]}`)
	post(t, ts.URL+"/v1/embeddings", `{"input": "`+pngDataURL(t, 2, 2, color.White)+`"}`)
	post(t, ts.URL+"/v1/embeddings", `{bad json`)
	do(t, "GET", ts.URL+"/no/such/path", "", nil)
	r := do(t, "GET", ts.URL+"/metrics", "", nil)
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("status %d content type %q", r.status, r.header.Get("Content-Type"))
	}
	body := string(r.body)
	for _, want := range []string{
		`fashionclip_http_requests_total{route="/v1/embeddings",status="200"} 2`,
		`fashionclip_http_requests_total{route="/v1/embeddings",status="400"} 1`,
		`fashionclip_http_requests_total{route="other",status="404"} 1`,
		`fashionclip_http_request_duration_seconds_bucket{route="/v1/embeddings",le="+Inf"} 3`,
		`fashionclip_http_request_duration_seconds_count{route="/v1/embeddings"} 3`,
		`fashionclip_batch_size_bucket{tower="text",le="1"} 0`,
		`fashionclip_batch_size_bucket{tower="text",le="2"} 1`,
		`fashionclip_batch_size_sum{tower="image"} 1`,
		`fashionclip_queue_depth{tower="image"} 0`,
		`fashionclip_queue_depth{tower="text"} 0`,
		"# TYPE fashionclip_batch_size histogram",
		"# TYPE fashionclip_queue_depth gauge",
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
	// Every sample line is NAME{LABELS} VALUE or NAME VALUE.
	for _, line := range strings.Split(strings.TrimSpace(body), "\n") {
		if strings.HasPrefix(line, "# HELP ") || strings.HasPrefix(line, "# TYPE ") {
			continue
		}
		name, value, ok := strings.Cut(line, " ")
		if i := strings.IndexByte(line, '}'); i >= 0 {
			name, value, ok = line[:i+1], strings.TrimPrefix(line[i+1:], " "), line[i+1] == ' '
		}
		if _, err := fmt.Sscan(value, new(float64)); !ok || err != nil || !strings.HasPrefix(name, "fashionclip_") {
			t.Errorf("malformed sample line %q", line)
		}
	}
}

func TestMetricsQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", `"plain"`},
		{`a"b`, `"a\"b"`},
		{`a\b`, `"a\\b"`},
		{"a\nb", `"a\nb"`},
	}
	for _, tc := range tests {
		if got := quote(tc.in); got != tc.want {
			t.Errorf("quote(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
