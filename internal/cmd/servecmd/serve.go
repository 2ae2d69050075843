// Package servecmd is `fashionclip serve`: flags, wiring and rendering
// (NewCmdX(f, runF), XOptions, xRun) over the library packages.
package servecmd

import (
	"net"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/fashionclip/fashionclip/internal/cmdutil"
	"github.com/fashionclip/fashionclip/internal/server"
	"github.com/fashionclip/fashionclip/internal/server/modelengine"
)

// EnvAPIKey holds serve's API key when --api-key is not given (a flag shows
// in `ps`, the environment does not).
const EnvAPIKey = "FASHIONCLIP_API_KEY"

// ServeOptions are serve's flags.
type ServeOptions struct {
	f *cmdutil.Factory

	Addr               string
	APIKey             string
	AllowRemoteImages  bool
	AllowPrivateImages bool
	RemoteTimeout      time.Duration
	MaxBatch           int
	MaxWait            time.Duration
	Queue              int
	Timeout            time.Duration
	ReadHeaderTimeout  time.Duration
	ReadTimeout        time.Duration
	IdleTimeout        time.Duration
	ShutdownTimeout    time.Duration
	MaxBodyMB          int
	MaxImageMB         int
	MaxImages          int
	MaxPixels          int64
	DecodePixels       int64
	AccessLog          string
	LabelCache         int
	Indexes            []string
	// AllowVariantMismatch serves indexes made by another variant of the model.
	AllowVariantMismatch bool

	// OnListen, when set (tests), is told the bound address.
	OnListen func(net.Addr)
	logMu    sync.Mutex
}

// NewCmdServe builds `fashionclip serve`.
func NewCmdServe(f *cmdutil.Factory, runF func(*ServeOptions) error) *cobra.Command {
	opts := &ServeOptions{f: f}
	cmd := &cobra.Command{
		Use:   "serve [--addr HOST:PORT]",
		Short: "Serve an OpenAI-compatible embeddings API (and zero-shot classify) over HTTP",
		Long: `Serve the model over HTTP:

  POST /v1/embeddings   OpenAI's embeddings API, for texts and images (data: URLs
                        or image_url content parts); works with OpenAI's clients
  POST /v1/classify     zero-shot labels for one image or a batch
  GET  /v1/models       the served model (it answers to its repo id, its folder
                        name and "fashion-clip")
  GET  /healthz         200 while serving, 503 while loading or shutting down
  GET  /metrics         Prometheus metrics

With --index INDEX (repeatable; a folder of index folders serves each; NAME=PATH
names one) it also serves search:

  POST /v1/search       the items closest to a query (the search command's +/-
                        grammar), an image, or a result's id ("more like this")
  GET  /v1/indexes      the served indexes
  GET  /v1/thumbnails/ID  a JPEG of a result's image (only files the indexes record)
  GET  /                a search page: query box, image drop, thumbnail grid

Without --variant the model runs in the indexes' variant; an index made by another
variant of the model is refused unless --allow-variant-mismatch.

The address is bound first and printed; the model loads while /healthz answers
503 "loading".

Concurrent requests are gathered into encoder batches (--max-batch, --max-wait);
texts and images have separate queues, so texts never wait behind images. A full
queue answers 429 with Retry-After. SIGINT/SIGTERM stop accepting work and let
requests in flight finish (--shutdown-timeout); the exit status is then 0.

With --api-key or $` + EnvAPIKey + ` set, /v1/ requires "Authorization: Bearer KEY".
Remote http(s) image URLs are refused unless --allow-remote-images is given: the
server would fetch any address a client names; even then loopback and private
addresses are refused unless --allow-private-images. Decoding is bounded: at most
--max-pixels per image and --decode-pixels over all images decoding at once; a
cancelled or timed-out request stops its decode. See docs/serve.md.`,
		Example: `  fashionclip serve
  fashionclip serve --index catalog.idx      # then open http://127.0.0.1:8080/
  FASHIONCLIP_API_KEY=secret fashionclip serve --addr 0.0.0.0:8080 --max-batch 64
  curl -s localhost:8080/v1/embeddings -H 'Content-Type: application/json' \
    -d '{"model": "fashion-clip", "input": ["red dress", "blue jeans"]}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.APIKey == "" {
				opts.APIKey = f.Getenv(EnvAPIKey)
			}
			if err := opts.validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return ServeRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Addr, "addr", "127.0.0.1:8080", "address to listen on (0.0.0.0:PORT for every interface)")
	fl.StringVar(&opts.APIKey, "api-key", "", "require this bearer token on /v1/ (default $"+EnvAPIKey+"; none: open)")
	fl.BoolVar(&opts.AllowRemoteImages, "allow-remote-images", false, "let requests name http(s) image URLs for the server to fetch")
	fl.BoolVar(&opts.AllowPrivateImages, "allow-private-images", false, "let remote fetches reach loopback and private addresses")
	fl.DurationVar(&opts.RemoteTimeout, "remote-timeout", 10*time.Second, "time limit for fetching one remote image")
	fl.IntVar(&opts.MaxBatch, "max-batch", 32, "most inputs per encoder run")
	fl.DurationVar(&opts.MaxWait, "max-wait", 0, "longest a batch waits for company (0: an idle encoder runs a request at once)")
	fl.IntVar(&opts.Queue, "queue", 256, "requests that may wait per encoder before 429")
	fl.DurationVar(&opts.Timeout, "timeout", 60*time.Second, "time limit for one request")
	fl.DurationVar(&opts.ReadHeaderTimeout, "read-header-timeout", 10*time.Second, "time limit for a request's headers")
	fl.DurationVar(&opts.ReadTimeout, "read-timeout", 30*time.Second, "time limit for a whole request, body included (408 beyond)")
	fl.DurationVar(&opts.IdleTimeout, "idle-timeout", 2*time.Minute, "how long a kept-alive connection may sit idle")
	fl.DurationVar(&opts.ShutdownTimeout, "shutdown-timeout", 30*time.Second, "how long requests in flight may finish after SIGTERM")
	fl.IntVar(&opts.MaxBodyMB, "max-body-mb", 32, "largest request body in MiB (413 beyond)")
	fl.IntVar(&opts.MaxImageMB, "max-image-mb", 16, "largest encoded image in MiB")
	fl.IntVar(&opts.MaxImages, "max-images", 256, "most images in one request")
	fl.Int64Var(&opts.MaxPixels, "max-pixels", 40_000_000, "refuse images declaring more pixels (decompression-bomb guard)")
	fl.Int64Var(&opts.DecodePixels, "decode-pixels", 100_000_000, "most pixels being decoded at once, over all requests")
	fl.StringVar(&opts.AccessLog, "access-log", "", "one line per request: - for stderr, or a file to append to")
	fl.StringArrayVar(&opts.Indexes, "index", nil, "serve search over this index (repeatable; a folder of indexes; NAME=PATH)")
	fl.BoolVar(&opts.AllowVariantMismatch, "allow-variant-mismatch", false, "serve indexes made by another variant of the model (scores close, not equal)")
	fl.IntVar(&opts.LabelCache, "label-cache", 64, "classify label sets kept embedded (LRU)")
	return cmd
}

func (o *ServeOptions) validate() error {
	if _, _, err := net.SplitHostPort(o.Addr); err != nil {
		return cmdutil.UsageError("--addr %q: want HOST:PORT (e.g. 127.0.0.1:8080)", o.Addr)
	}
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"--max-batch must be at least 1", o.MaxBatch >= 1},
		{"--max-wait must not be negative", o.MaxWait >= 0},
		{"--queue must be at least 1", o.Queue >= 1},
		{"--timeout must be positive", o.Timeout > 0},
		{"--read-header-timeout must be positive", o.ReadHeaderTimeout > 0},
		{"--read-timeout must be positive", o.ReadTimeout > 0},
		{"--idle-timeout must be positive", o.IdleTimeout > 0},
		{"--max-images must be at least 1", o.MaxImages >= 1},
		{"--decode-pixels must be positive", o.DecodePixels >= 1},
		{"--allow-private-images needs --allow-remote-images", !o.AllowPrivateImages || o.AllowRemoteImages},
		{"--shutdown-timeout must be positive", o.ShutdownTimeout > 0},
		{"--remote-timeout must be positive", o.RemoteTimeout > 0},
		{"--max-body-mb must be at least 1", o.MaxBodyMB >= 1},
		{"--max-image-mb must be at least 1", o.MaxImageMB >= 1},
		{"--max-pixels must be positive", o.MaxPixels >= 1},
		{"--label-cache must not be negative", o.LabelCache >= 0},
	} {
		if !c.ok {
			return cmdutil.UsageError("%s", c.name)
		}
	}
	return nil
}

// config turns the flags into the server's configuration.
func (o *ServeOptions) config(ids []string) server.Config {
	wait := o.MaxWait
	if wait == 0 {
		wait = -1 // the server reads 0 as "default"; the flag means "none"
	}
	cache := o.LabelCache
	if cache == 0 {
		cache = -1
	}
	return server.Config{
		ModelIDs: ids, APIKey: o.APIKey,
		AllowRemoteImages: o.AllowRemoteImages, AllowPrivateImages: o.AllowPrivateImages,
		RemoteImageTimeout: o.RemoteTimeout,
		MaxImageBytes:      int64(o.MaxImageMB) << 20, MaxBodyBytes: int64(o.MaxBodyMB) << 20,
		MaxImages: o.MaxImages, MaxBatch: o.MaxBatch, MaxWait: wait, Queue: o.Queue,
		Timeout: o.Timeout, ReadHeaderTimeout: o.ReadHeaderTimeout, ReadTimeout: o.ReadTimeout,
		IdleTimeout: o.IdleTimeout, ShutdownTimeout: o.ShutdownTimeout, LabelCacheSize: cache,
		DecodeWorkers: o.f.ThreadBudget(), MaxDecodePixels: o.DecodePixels,
		Thumbnails: modelengine.Thumbnails{MaxPixels: o.MaxPixels},
		Logf:       o.logf,
	}
}

// logf serialises notes from concurrent request goroutines onto stderr.
func (o *ServeOptions) logf(format string, args ...any) {
	o.logMu.Lock()
	defer o.logMu.Unlock()
	o.f.Warnf(format, args...)
}
