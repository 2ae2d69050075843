package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
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
	// AllowPrivateImages lets remote fetches reach loopback and private
	// addresses (10/8, 172.16/12, 192.168/16, fc00::/7, 100.64/10, ...).
	// Link-local, multicast and unspecified addresses are always refused.
	AllowPrivateImages bool
	// RemoteImageTimeout bounds one remote image download (default 10 s).
	RemoteImageTimeout time.Duration
	// MaxImageBytes caps one encoded image, inline or fetched (default 16 MiB).
	MaxImageBytes int64
	// MaxBodyBytes caps a request body (default 32 MiB); larger gets 413.
	MaxBodyBytes int64
	// MaxInputs caps the inputs of one request (default 2048, as OpenAI).
	MaxInputs int
	// MaxImages caps the images of one request (default 256).
	MaxImages int
	// MaxTextBytes caps one text, label or template (default 64 KiB): CLIP
	// keeps 77 tokens, and tokenizing megabytes to find them costs seconds.
	MaxTextBytes int
	// MaxBatch caps the inputs of one encoder run (default 32). A request
	// with more images is decoded and encoded in chunks of this size.
	MaxBatch int
	// MaxWait is how long a batch may wait for company before it runs
	// (default 0: a request that finds its encoder idle runs at once, and
	// requests arriving meanwhile make up the next batch). A positive value
	// trades up to that much latency for fuller batches.
	MaxWait time.Duration
	// Queue is how many requests may wait per tower before 429 (default
	// 256); the image tower also holds at most this many images waiting.
	Queue int
	// Timeout bounds one request from arrival to answer (default 60 s).
	Timeout time.Duration
	// ReadHeaderTimeout bounds reading a request's headers (default 10 s).
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included (default
	// 30 s); a body that stalls gets 408.
	ReadTimeout time.Duration
	// IdleTimeout is how long a kept-alive connection may sit idle (default 120 s).
	IdleTimeout time.Duration
	// MaxHeaderBytes caps a request's headers (default 64 KiB; 431 beyond).
	MaxHeaderBytes int
	// ShutdownTimeout is how long Serve lets in-flight requests finish after
	// its context ends (default 30 s).
	ShutdownTimeout time.Duration
	// LabelCacheSize is how many classify label sets are kept (default 64).
	LabelCacheSize int
	// DecodeWorkers bounds concurrent image decoding (default: the core count).
	DecodeWorkers int
	// MaxDecodePixels bounds the pixels being decoded at once, summed over
	// concurrent decodes as their headers declare them (default 100 M); each
	// decode counts at least MaxDecodePixels/DecodeWorkers, and an image
	// larger than the budget decodes alone.
	MaxDecodePixels int64
	// Created is the model's "created" time in /v1/models (default: start).
	Created time.Time
	// Indexes, when set, are searched by /v1/search and listed by
	// /v1/indexes, and GET / serves the search page. The caller closes them.
	Indexes *Indexes
	// Thumbnails renders /v1/thumbnails/{id} for Indexes (nil: 501).
	Thumbnails Thumbnailer
	// RemoteClient replaces the remote image client (tests).
	RemoteClient *http.Client
	// AccessLog, when set, gets one line per request (see accesslog.go).
	AccessLog io.Writer
	// Logf receives notes about internal failures; nil discards them.
	Logf func(format string, args ...any)
}

func (c *Config) defaults() {
	setDur := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	setInt := func(n *int, v int) {
		if *n <= 0 {
			*n = v
		}
	}
	setInt64 := func(n *int64, v int64) {
		if *n <= 0 {
			*n = v
		}
	}
	setDur(&c.RemoteImageTimeout, 10*time.Second)
	setDur(&c.Timeout, 60*time.Second)
	setDur(&c.ReadHeaderTimeout, 10*time.Second)
	setDur(&c.ReadTimeout, 30*time.Second)
	setDur(&c.IdleTimeout, 120*time.Second)
	setDur(&c.ShutdownTimeout, 30*time.Second)
	if c.MaxWait < 0 {
		c.MaxWait = 0
	}
	setInt64(&c.MaxImageBytes, 16<<20)
	setInt64(&c.MaxBodyBytes, 32<<20)
	setInt64(&c.MaxDecodePixels, 100_000_000)
	setInt(&c.MaxInputs, 2048)
	setInt(&c.MaxImages, 256)
	setInt(&c.MaxTextBytes, 64<<10)
	setInt(&c.MaxBatch, 32)
	setInt(&c.Queue, 256)
	setInt(&c.MaxHeaderBytes, 64<<10)
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
	cfg Config

	// Set once by Ready; read only after ready is seen true.
	engine Engine
	ids    map[string]bool
	text   *batcher[string, []float32]
	vision *batcher[[]float32, []float32]

	keySum  [sha256.Size]byte
	budget  *decodeBudget
	fetch   *fetcher
	labels  *labelCache
	metrics *metrics
	access  *accessLog
	handler http.Handler

	readyMu  sync.Mutex // serialises Ready, Fail and Close
	ready    atomic.Bool
	draining atomic.Bool
	closed   bool
	failed   chan struct{} // closed by Fail
	loadErr  error
}

// New starts a server for e; call Close (or Serve, which closes) when done.
func New(e Engine, cfg Config) (*Server, error) {
	if e == nil {
		return nil, errors.New("server: nil engine")
	}
	s := NewLoading(cfg)
	if err := s.Ready(e, cfg.ModelIDs); err != nil {
		return nil, err
	}
	return s, nil
}

// NewLoading is a server whose engine is still being loaded: it can listen
// and answer at once, /healthz with 503 "loading" and /v1/ requests with
// 503 and Retry-After, until Ready hands the engine over (or Fail reports
// that loading failed).
func NewLoading(cfg Config) *Server {
	cfg.defaults()
	s := &Server{cfg: cfg, metrics: newMetrics(), failed: make(chan struct{})}
	if cfg.APIKey != "" {
		s.keySum = sha256.Sum256([]byte(cfg.APIKey))
	}
	s.budget = newDecodeBudget(cfg.DecodeWorkers, cfg.MaxDecodePixels)
	client := cfg.RemoteClient
	if client == nil {
		allowPrivate := cfg.AllowPrivateImages
		client = newRemoteClient(cfg.RemoteImageTimeout, func(ip netip.Addr) error { return checkRemoteAddr(ip, allowPrivate) })
	}
	s.fetch = &fetcher{client: client, maxBytes: cfg.MaxImageBytes}
	s.labels = newLabelCache(cfg.LabelCacheSize)
	s.access = newAccessLog(cfg.AccessLog)
	for tower, b := range map[string]func() queueDepther{
		"text":  func() queueDepther { return s.text },
		"image": func() queueDepther { return s.vision },
	} {
		s.metrics.queueDepth[tower] = func() int {
			if !s.ready.Load() {
				return 0
			}
			return b().depth()
		}
	}
	s.handler = s.routes()
	return s
}

type queueDepther interface{ depth() int }

// Ready hands the loaded engine over and starts the batchers; modelIDs,
// when not empty, replace Config.ModelIDs. From now on the server answers.
func (s *Server) Ready(e Engine, modelIDs []string) error {
	if e == nil {
		return errors.New("server: nil engine")
	}
	if err := checkIndexDims(e, s.cfg.Indexes); err != nil {
		return err
	}
	s.readyMu.Lock()
	defer s.readyMu.Unlock()
	switch {
	case s.ready.Load():
		return errors.New("server: engine already set")
	case s.closed || s.loadErr != nil:
		return errors.New("server: closed")
	}
	if len(modelIDs) > 0 {
		s.cfg.ModelIDs = modelIDs
	}
	if len(s.cfg.ModelIDs) == 0 {
		s.cfg.ModelIDs = []string{DefaultModelID}
	}
	s.ids = map[string]bool{DefaultModelID: true}
	for _, id := range s.cfg.ModelIDs {
		if id != "" {
			s.ids[id] = true
		}
	}
	s.engine = e
	cfg := s.cfg
	s.text = newBatcher(cfg.MaxBatch, cfg.Queue, 0, cfg.MaxWait, e.EncodeTexts,
		func(n int, d time.Duration) { s.metrics.batch("text", n, d) })
	s.vision = newBatcher(cfg.MaxBatch, cfg.Queue, max(cfg.Queue, cfg.MaxBatch), cfg.MaxWait, e.EncodeImages,
		func(n int, d time.Duration) { s.metrics.batch("image", n, d) })
	s.ready.Store(true)
	return nil
}

// Fail reports that the engine could not be loaded: Serve shuts down and
// returns err.
func (s *Server) Fail(err error) {
	if err == nil {
		err = errors.New("server: engine failed to load")
	}
	s.readyMu.Lock()
	defer s.readyMu.Unlock()
	if s.ready.Load() || s.loadErr != nil {
		return
	}
	s.loadErr = err
	close(s.failed)
}

// Handler is the server's HTTP handler (for tests and custom listeners).
func (s *Server) Handler() http.Handler { return s.handler }

// Close stops the batchers; requests still waiting get 503.
func (s *Server) Close() error {
	s.draining.Store(true)
	s.readyMu.Lock()
	defer s.readyMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.ready.Load() {
		s.text.stop()
		s.vision.stop()
	}
	return nil
}

// Serve answers on ln until ctx ends (or loading fails), then shuts down
// gracefully (see shutdown.go): it stops taking connections and answers
// those already queued, answers new requests with 503, lets requests in
// flight finish (for up to ShutdownTimeout) and stops the batchers. It
// returns nil after a clean shutdown, and Fail's error when loading failed.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	// Request contexts derive from base: a hard stop cancels every
	// request, decodes included.
	base, cancelBase := context.WithCancel(context.Background())
	defer cancelBase()
	conns := newConnTracker()
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		// Counted from the end of the headers: the body, the work and
		// then half a minute to deliver the answer to a slow reader.
		WriteTimeout:   max(s.cfg.ReadTimeout, s.cfg.Timeout) + 30*time.Second,
		IdleTimeout:    s.cfg.IdleTimeout,
		MaxHeaderBytes: s.cfg.MaxHeaderBytes,
		BaseContext:    func(net.Listener) context.Context { return base },
		ConnState:      conns.track,
		// net/http's own complaints (bad TLS, handler panics) go to Logf
		// too: this package never writes to stderr itself.
		ErrorLog: log.New(logfWriter(s.cfg.Logf), "", 0),
	}
	dl := newDrainListener(ln)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(dl) }()
	select {
	case err := <-errc:
		s.Close()
		return err
	case <-ctx.Done():
	case <-s.failed:
	}
	err := s.shutdown(hs, dl, conns, errc, cancelBase)
	s.Close()
	s.readyMu.Lock()
	defer s.readyMu.Unlock()
	if s.loadErr != nil {
		return s.loadErr
	}
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
		if s.draining.Load() {
			// Every answer while draining ends its connection.
			w.Header().Set("Connection", "close")
		}
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
			took := time.Since(start)
			status := rec.statusOr(r)
			s.metrics.request(route, status, took)
			s.access.log(r, status, rec.bytes, start, took)
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

// api wraps /v1/ handlers: refuse while loading or shutting down, check
// the API key, apply the per-request timeout.
func (s *Server) api(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.draining.Load() {
			w.Header().Set("Connection", "close")
			writeError(w, shuttingDown())
			return
		}
		if !s.ready.Load() {
			writeError(w, &APIError{Status: http.StatusServiceUnavailable, Type: typeServer, Code: "model_loading", RetryAfter: 2,
				Message: "The model is still loading; retry in a few seconds."})
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

// handleHealth is for load balancers: 200 while serving, 503 while the
// model loads or the server drains.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "shutting_down"})
		return
	}
	if !s.ready.Load() {
		w.Header().Set("Retry-After", "2")
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "loading"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "model": s.cfg.ModelIDs[0]})
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	s.metrics.write(w)
}

// statusRecorder remembers the status and size for metrics and the log.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
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
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
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
