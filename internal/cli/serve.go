package cli

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/fashionclip/fashionclip/internal/server"
	"github.com/fashionclip/fashionclip/internal/server/modelengine"
	"github.com/fashionclip/fashionclip/pkg/fashionclip"
)

// EnvAPIKey holds serve's API key when --api-key is not given (a flag shows
// in `ps`, the environment does not).
const EnvAPIKey = "FASHIONCLIP_API_KEY"

// ServeOptions are serve's flags.
type ServeOptions struct {
	f *Factory

	Addr              string
	APIKey            string
	AllowRemoteImages bool
	RemoteTimeout     time.Duration
	MaxBatch          int
	MaxWait           time.Duration
	Queue             int
	Timeout           time.Duration
	ShutdownTimeout   time.Duration
	MaxBodyMB         int
	MaxImageMB        int
	MaxPixels         int64
	LabelCache        int

	// onListen, when set (tests), is told the bound address.
	onListen func(net.Addr)
	logMu    sync.Mutex
}

// NewCmdServe builds `fashionclip serve`.
func NewCmdServe(f *Factory, runF func(*ServeOptions) error) *cobra.Command {
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
  GET  /healthz         200 while serving, 503 while shutting down
  GET  /metrics         Prometheus metrics

Concurrent requests are gathered into encoder batches (--max-batch, --max-wait);
texts and images have separate queues, so texts never wait behind images. A full
queue answers 429 with Retry-After. SIGINT/SIGTERM stop accepting work and let
requests in flight finish (--shutdown-timeout); the exit status is then 0.

With --api-key or $` + EnvAPIKey + ` set, /v1/ requires "Authorization: Bearer KEY".
Remote http(s) image URLs are refused unless --allow-remote-images is given: the
server would fetch any address a client names. See docs/serve.md.`,
		Example: `  fashionclip serve
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
			return serveRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Addr, "addr", "127.0.0.1:8080", "address to listen on (0.0.0.0:PORT for every interface)")
	fl.StringVar(&opts.APIKey, "api-key", "", "require this bearer token on /v1/ (default $"+EnvAPIKey+"; none: open)")
	fl.BoolVar(&opts.AllowRemoteImages, "allow-remote-images", false, "let requests name http(s) image URLs for the server to fetch")
	fl.DurationVar(&opts.RemoteTimeout, "remote-timeout", 10*time.Second, "time limit for fetching one remote image")
	fl.IntVar(&opts.MaxBatch, "max-batch", 32, "most inputs per encoder run")
	fl.DurationVar(&opts.MaxWait, "max-wait", 5*time.Millisecond, "longest a request waits for others to share its batch")
	fl.IntVar(&opts.Queue, "queue", 256, "requests that may wait per encoder before 429")
	fl.DurationVar(&opts.Timeout, "timeout", 60*time.Second, "time limit for one request")
	fl.DurationVar(&opts.ShutdownTimeout, "shutdown-timeout", 30*time.Second, "how long requests in flight may finish after SIGTERM")
	fl.IntVar(&opts.MaxBodyMB, "max-body-mb", 32, "largest request body in MiB (413 beyond)")
	fl.IntVar(&opts.MaxImageMB, "max-image-mb", 16, "largest encoded image in MiB")
	fl.Int64Var(&opts.MaxPixels, "max-pixels", 40_000_000, "refuse images with more pixels (decompression-bomb guard; several decode at once)")
	fl.IntVar(&opts.LabelCache, "label-cache", 64, "classify label sets kept embedded (LRU)")
	return cmd
}

func (o *ServeOptions) validate() error {
	if _, _, err := net.SplitHostPort(o.Addr); err != nil {
		return UsageError("--addr %q: want HOST:PORT (e.g. 127.0.0.1:8080)", o.Addr)
	}
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"--max-batch must be at least 1", o.MaxBatch >= 1},
		{"--max-wait must not be negative", o.MaxWait >= 0},
		{"--queue must be at least 1", o.Queue >= 1},
		{"--timeout must be positive", o.Timeout > 0},
		{"--shutdown-timeout must be positive", o.ShutdownTimeout > 0},
		{"--remote-timeout must be positive", o.RemoteTimeout > 0},
		{"--max-body-mb must be at least 1", o.MaxBodyMB >= 1},
		{"--max-image-mb must be at least 1", o.MaxImageMB >= 1},
		{"--max-pixels must be positive", o.MaxPixels >= 1},
		{"--label-cache must not be negative", o.LabelCache >= 0},
	} {
		if !c.ok {
			return UsageError("%s", c.name)
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
		AllowRemoteImages: o.AllowRemoteImages, RemoteImageTimeout: o.RemoteTimeout,
		MaxImageBytes: int64(o.MaxImageMB) << 20, MaxBodyBytes: int64(o.MaxBodyMB) << 20,
		MaxBatch: o.MaxBatch, MaxWait: wait, Queue: o.Queue, Timeout: o.Timeout,
		ShutdownTimeout: o.ShutdownTimeout, LabelCacheSize: cache,
		DecodeWorkers: o.f.ThreadBudget(),
		Logf:          o.logf,
	}
}

// logf serialises notes from concurrent request goroutines onto stderr.
func (o *ServeOptions) logf(format string, args ...any) {
	o.logMu.Lock()
	defer o.logMu.Unlock()
	o.f.Warnf(format, args...)
}

func serveRun(ctx context.Context, o *ServeOptions) error {
	f := o.f
	m, err := f.LoadModel(ctx, "", func(opts *fashionclip.Options) {
		// One micro-batch is one ONNX Runtime run; decode goroutines share
		// the cores, so idle runtime threads must not spin.
		opts.BatchSize = o.MaxBatch
		opts.MaxPixels = o.MaxPixels
		opts.NoSpin = true
	})
	if err != nil {
		return err
	}
	defer m.Close()
	eng, err := modelengine.New(ctx, m)
	if err != nil {
		return err
	}
	ids := servedModelIDs(f.ModelRef(), m)
	s, err := server.New(eng, o.config(ids))
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		s.Close()
		return fmt.Errorf("listen on %s: %w", o.Addr, err)
	}
	if w := exposureWarning(ln.Addr(), o.APIKey != ""); w != "" {
		// Printed even with --quiet: it is about security, not progress.
		f.Errorf("%s", w)
	}
	f.Warnf("serving %s on http://%s (POST /v1/embeddings, /v1/classify; GET /v1/models, /healthz, /metrics)", ids[0], ln.Addr())
	if o.onListen != nil {
		o.onListen(ln.Addr())
	}
	err = s.Serve(ctx, ln)
	if err == nil {
		f.Warnf("shut down cleanly")
	}
	return err
}

// exposureWarning is the note for a server anyone on the network can use.
func exposureWarning(addr net.Addr, hasKey bool) string {
	if hasKey {
		return ""
	}
	if tcp, ok := addr.(*net.TCPAddr); ok && tcp.IP.IsLoopback() {
		return ""
	}
	return fmt.Sprintf("WARNING: listening on %s without an API key: anyone who can reach it may use it; set $%s or --api-key", addr, EnvAPIKey)
}

// servedModelIDs are the names requests may use for the model: its Hub repo
// id (from --model, else config.json) first, then its folder name. The server
// adds "fashion-clip".
func servedModelIDs(ref string, m *fashionclip.Model) []string {
	var ids []string
	add := func(id string) {
		if id == "" || id == "." || id == string(filepath.Separator) {
			return
		}
		for _, have := range ids {
			if have == id {
				return
			}
		}
		ids = append(ids, id)
	}
	if fashionclip.IsRepoID(ref) && filepath.Clean(ref) != filepath.Clean(m.Dir()) {
		repo, _, _ := strings.Cut(ref, "@")
		add(repo)
	}
	if c, ok := m.Config(); ok && fashionclip.IsRepoID(c.NameOrPath) {
		add(c.NameOrPath)
	}
	add(modelFolderName(m.Dir()))
	if len(ids) == 0 {
		add(server.DefaultModelID)
	}
	return ids
}

// modelFolderName is the model's folder name, also when it was named by its
// graph file (model/model.onnx) or by the onnx/ subfolder.
func modelFolderName(dir string) string {
	dir = filepath.Clean(dir)
	if strings.HasSuffix(dir, ".onnx") {
		dir = filepath.Dir(dir)
	}
	if filepath.Base(dir) == "onnx" {
		dir = filepath.Dir(dir)
	}
	return filepath.Base(dir)
}
