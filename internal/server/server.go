package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config tunes a Server. Zero fields take the defaults below.
type Config struct {
	// ModelIDs are the names the served model answers to; the first is the
	// one /v1/models lists. A request naming another model gets 404.
	ModelIDs []string
	// APIKey, when set, must be sent as "Authorization: Bearer KEY" on /v1/.
	APIKey string
	// AllowRemoteImages lets requests name http(s) image URLs for the server
	// to fetch. Off by default: it turns the server into a fetcher for anyone
	// who can reach it (server-side request forgery).
	AllowRemoteImages bool
	// RemoteImageTimeout bounds one remote image download (default 10 s).
	RemoteImageTimeout time.Duration
	// MaxImageBytes caps one encoded image, inline or fetched (default 16 MiB).
	MaxImageBytes int64
	// MaxBodyBytes caps a request body (default 32 MiB); larger gets 413.
	MaxBodyBytes int64
	// MaxInputs caps the inputs or images of one request (default 2048, as OpenAI).
	MaxInputs int
	// MaxBatch caps the inputs of one encoder run (default 32).
	MaxBatch int
	// MaxWait is how long the first request of a batch may wait for
	// company (default 5 ms; negative: dispatch at once).
	MaxWait time.Duration
	// Queue is how many requests may wait per tower before 429 (default 256).
	Queue int
	// Timeout bounds one request from arrival to answer (default 60 s).
	Timeout time.Duration
	// ShutdownTimeout is how long Serve lets in-flight requests finish after
	// its context ends (default 30 s).
	ShutdownTimeout time.Duration
	// LabelCacheSize is how many classify label sets are kept (default 64).
	LabelCacheSize int
	// DecodeWorkers bounds concurrent image decoding (default: the core count).
	DecodeWorkers int
	// Created is the model's "created" time in /v1/models (default: start).
	Created time.Time
	// Indexes, when set, are searched by /v1/search and listed by
	// /v1/indexes, and GET / serves the search page. The caller closes them.
	Indexes *Indexes
	// Thumbnails renders /v1/thumbnails/{id} for Indexes (nil: 501).
	Thumbnails Thumbnailer
	// RemoteClient replaces the remote image client (tests).
	RemoteClient *http.Client
	// Logf receives notes about internal failures; nil discards them.
	Logf func(format string, args ...any)
}

func (c *Config) defaults() {
	setDur := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	setInt := func(n *int, v int) {
		if *n <= 0 {
			*n = v
		}
	}
	setDur(&c.RemoteImageTimeout, 10*time.Second)
	setDur(&c.MaxWait, 5*time.Millisecond)
	setDur(&c.Timeout, 60*time.Second)
	setDur(&c.ShutdownTimeout, 30*time.Second)
	if c.MaxWait < 0 {
		c.MaxWait = 0
	}
	if c.MaxImageBytes <= 0 {
		c.MaxImageBytes = 16 << 20
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 32 << 20
	}
	setInt(&c.MaxInputs, 2048)
	setInt(&c.MaxBatch, 32)
	setInt(&c.Queue, 256)
	setInt(&c.DecodeWorkers, runtime.NumCPU())
	if c.LabelCacheSize == 0 {
		c.LabelCacheSize = 64
	}
	if c.Created.IsZero() {
		c.Created = time.Now()
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
}

// DefaultModelID is the generic name every served model also answers to.
const DefaultModelID = "fashion-clip"

// Server answers the HTTP API for one Engine.
type Server struct {
	engine Engine
	cfg    Config
	ids    map[string]bool
	keySum [sha256.Size]byte

	text   *batcher[string, []float32]
	vision *batcher[[]float32, []float32]

	decodeSem chan struct{}
	fetch     *fetcher
	labels    *labelCache
	metrics   *metrics
	handler   http.Handler

	draining  atomic.Bool
	closeOnce sync.Once
}

// New starts the batchers for e. Call Close (or Serve, which closes) when done.
func New(e Engine, cfg Config) (*Server, error) {
	if e == nil {
		return nil, errors.New("server: nil engine")
	}
	if err := checkIndexDims(e, cfg.Indexes); err != nil {
		return nil, err
	}
	cfg.defaults()
	if len(cfg.ModelIDs) == 0 {
		cfg.ModelIDs = []string{DefaultModelID}
	}
	s := &Server{engine: e, cfg: cfg, ids: map[string]bool{DefaultModelID: true}, metrics: newMetrics()}
	for _, id := range cfg.ModelIDs {
		if id != "" {
			s.ids[id] = true
		}
	}
	if cfg.APIKey != "" {
		s.keySum = sha256.Sum256([]byte(cfg.APIKey))
	}
	s.decodeSem = make(chan struct{}, cfg.DecodeWorkers)
	client := cfg.RemoteClient
	if client == nil {
		client = newRemoteClient(cfg.RemoteImageTimeout)
	}
	s.fetch = &fetcher{client: client, maxBytes: cfg.MaxImageBytes}
	s.labels = newLabelCache(cfg.LabelCacheSize)
	s.text = newBatcher(cfg.MaxBatch, cfg.Queue, cfg.MaxWait, e.EncodeTexts,
		func(n int, d time.Duration) { s.metrics.batch("text", n, d) })
	s.vision = newBatcher(cfg.MaxBatch, cfg.Queue, cfg.MaxWait, e.EncodeImages,
		func(n int, d time.Duration) { s.metrics.batch("image", n, d) })
	s.metrics.queueDepth["text"] = s.text.depth
	s.metrics.queueDepth["image"] = s.vision.depth
	s.handler = s.routes()
	return s, nil
}

// Handler is the server's HTTP handler (for tests and custom listeners).
func (s *Server) Handler() http.Handler { return s.handler }

// Close stops the batchers; requests still waiting get 503.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.draining.Store(true)
		s.text.stop()
		s.vision.stop()
	})
	return nil
}

// Serve answers on ln until ctx ends, then shuts down gracefully: new
// requests get 503, requests in flight finish (for up to ShutdownTimeout)
// and the batchers stop. It returns nil after a clean shutdown.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       s.cfg.Timeout,
		IdleTimeout:       2 * time.Minute,
		// net/http's own complaints (bad TLS, handler panics) go to Logf
		// too: this package never writes to stderr itself.
		ErrorLog: log.New(logfWriter(s.cfg.Logf), "", 0),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		s.Close()
		return err
	case <-ctx.Done():
	}
	s.draining.Store(true)
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	err := hs.Shutdown(sctx)
	if err != nil {
		// Out of patience: cancel the running batches too, so Close does
		// not wait on them (an encoder run stops at its next check).
		s.text.abort()
		s.vision.abort()
		hs.Close()
		err = fmt.Errorf("shutdown: requests still running after %s were cut off", s.cfg.ShutdownTimeout)
	}
	<-errc
	s.Close()
	return err
}

// logfWriter adapts Logf to the io.Writer a log.Logger needs.
type logfWriter func(format string, args ...any)

func (w logfWriter) Write(p []byte) (int, error) {
	w("%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Route names for metrics: fixed, so a scanner probing random paths cannot
// blow up the series count.
const (
	routeEmbeddings = "/v1/embeddings"
	routeClassify   = "/v1/classify"
	routeModels     = "/v1/models"
	routeHealth     = "/healthz"
	routeMetrics    = "/metrics"
	routeOther      = "other"
)

func (s *Server) routes() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := r.URL.Path
		route := routeOther
		var h http.HandlerFunc
		var method string
		switch {
		case path == "/v1/embeddings":
			route, method, h = routeEmbeddings, http.MethodPost, s.api(s.handleEmbeddings)
		case path == "/v1/classify":
			route, method, h = routeClassify, http.MethodPost, s.api(s.handleClassify)
		case path == "/v1/models" || strings.HasPrefix(path, "/v1/models/"):
			route, method, h = routeModels, http.MethodGet, s.api(s.handleModels)
		case path == "/healthz":
			route, method, h = routeHealth, http.MethodGet, s.handleHealth
		case path == "/metrics":
			route, method, h = routeMetrics, http.MethodGet, s.handleMetrics
		default:
			route, method, h = s.searchRoute(path)
		}
		start := time.Now()
		s.metrics.inflight.Add(1)
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			s.metrics.inflight.Add(-1)
			s.metrics.request(route, rec.statusOr(r), time.Since(start))
		}()
		switch {
		case h == nil:
			writeError(rec, &APIError{Status: http.StatusNotFound, Type: typeInvalidRequest,
				Message: fmt.Sprintf("Invalid URL (%s %s)", r.Method, path)})
		case r.Method != method && !(method == http.MethodGet && r.Method == http.MethodHead):
			rec.Header().Set("Allow", method)
			writeError(rec, &APIError{Status: http.StatusMethodNotAllowed, Type: typeInvalidRequest,
				Message: fmt.Sprintf("%s %s is not allowed; use %s", r.Method, path, method)})
		default:
			h(rec, r)
		}
	})
}

// api wraps /v1/ handlers: refuse while shutting down, check the API key,
// apply the per-request timeout.
func (s *Server) api(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.draining.Load() {
			w.Header().Set("Connection", "close")
			writeError(w, shuttingDown())
			return
		}
		if e := s.authorize(r); e != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="fashionclip"`)
			writeError(w, e)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.Timeout)
		defer cancel()
		h(w, r.WithContext(ctx))
	}
}

// authorize checks the bearer token. Both sides are hashed first so the
// constant-time comparison does not leak the key's length either.
func (s *Server) authorize(r *http.Request) *APIError {
	if s.cfg.APIKey == "" {
		return nil
	}
	auth := r.Header.Get("Authorization")
	scheme, token, _ := strings.Cut(auth, " ")
	token = strings.TrimSpace(token)
	if auth == "" || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return &APIError{Status: http.StatusUnauthorized, Type: typeInvalidRequest,
			Message: "You didn't provide an API key. Send it as 'Authorization: Bearer YOUR_KEY'."}
	}
	sum := sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare(sum[:], s.keySum[:]) != 1 {
		return &APIError{Status: http.StatusUnauthorized, Type: typeInvalidRequest, Code: "invalid_api_key",
			Message: "Incorrect API key provided."}
	}
	return nil
}

func shuttingDown() *APIError {
	return &APIError{Status: http.StatusServiceUnavailable, Type: typeServer, Code: "server_shutting_down",
		Message: "The server is shutting down; retry on another instance.", RetryAfter: 1}
}

// contextError maps a request context's end to an answer: the per-request
// timeout is the server's fault (overload), a cancellation is the client
// going away (nobody reads the answer; 499 shows in metrics as in nginx).
func contextError(err error) *APIError {
	if errors.Is(err, context.DeadlineExceeded) {
		return &APIError{Status: http.StatusServiceUnavailable, Type: typeServer, Code: "timeout", RetryAfter: 1,
			Message: "The request timed out waiting for the model; the server is overloaded, retry later."}
	}
	return &APIError{Status: statusClientClosed, Type: typeInvalidRequest, Code: "client_closed", Message: "The client closed the request."}
}

const statusClientClosed = 499

// batchError maps a batcher failure to an answer.
func (s *Server) batchError(err error, tower string) *APIError {
	switch {
	case errors.Is(err, errQueueFull):
		return &APIError{Status: http.StatusTooManyRequests, Type: typeRateLimit, Code: "rate_limit_exceeded", RetryAfter: 1,
			Message: fmt.Sprintf("The %s encoder's queue is full (%d requests waiting); retry after a second.", tower, s.cfg.Queue)}
	case errors.Is(err, errShuttingDown):
		return shuttingDown()
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return contextError(err)
	}
	s.cfg.Logf("%s encoder failed: %v", tower, err)
	return &APIError{Status: http.StatusInternalServerError, Type: typeServer,
		Message: "The " + tower + " encoder failed; see the server's log."}
}

// checkModel accepts an absent model and any of the served names.
func (s *Server) checkModel(model string) *APIError {
	if model == "" || s.ids[model] {
		return nil
	}
	return &APIError{Status: http.StatusNotFound, Type: typeInvalidRequest, Param: "model", Code: "model_not_found",
		Message: fmt.Sprintf("The model `%s` does not exist or you do not have access to it. This server serves %q.", model, s.cfg.ModelIDs[0])}
}

type modelObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

func (s *Server) modelObject() modelObject {
	return modelObject{ID: s.cfg.ModelIDs[0], Object: "model", Created: s.cfg.Created.Unix(), OwnedBy: "fashionclip"}
}

// handleModels lists the served model (GET /v1/models) or describes it
// under any of its names (GET /v1/models/{id}).
func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) {
	if id, ok := strings.CutPrefix(r.URL.Path, "/v1/models/"); ok {
		if !s.ids[id] {
			writeError(w, &APIError{Status: http.StatusNotFound, Type: typeInvalidRequest, Code: "model_not_found",
				Message: fmt.Sprintf("The model `%s` does not exist or you do not have access to it.", id)})
			return
		}
		writeJSON(w, http.StatusOK, s.modelObject())
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Object string        `json:"object"`
		Data   []modelObject `json:"data"`
	}{"list", []modelObject{s.modelObject()}})
}

// handleHealth is for load balancers: 200 while serving, 503 while draining.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "shutting_down"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "model": s.cfg.ModelIDs[0]})
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	s.metrics.write(w)
}

// statusRecorder remembers the status for metrics.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// statusOr is the status sent, or 499 when the client left before anything was.
func (r *statusRecorder) statusOr(req *http.Request) int {
	if r.status == 0 {
		if req.Context().Err() != nil {
			return statusClientClosed
		}
		return http.StatusOK
	}
	return r.status
}
