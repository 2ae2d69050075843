package servecmd

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"sync"

	"github.com/fashionclip/fashionclip/internal/cmdutil"
	"github.com/fashionclip/fashionclip/internal/server"
	"github.com/fashionclip/fashionclip/internal/server/modelengine"
	"github.com/fashionclip/fashionclip/pkg/fashionclip"
)

// ServeRun is serve's run: open the indexes, listen, load the model while
// /healthz answers 503, then serve until ctx ends. It is exported for the
// in-process tests, whose runF sets OnListen first.
func ServeRun(ctx context.Context, o *ServeOptions) error {
	f := o.f
	cfg := o.config(nil)
	if o.AccessLog != "" {
		w, closeLog, err := openAccessLog(f, o.AccessLog)
		if err != nil {
			return err
		}
		defer closeLog()
		cfg.AccessLog = w
	}
	if len(o.Indexes) > 0 {
		x, err := openServedIndexes(o)
		if err != nil {
			return err
		}
		defer x.Close()
		cfg.Indexes = x
	}
	// Listen first: a port in use fails at once, and clients see 503
	// "loading" rather than a refused connection while the model loads.
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.Addr, err)
	}
	if w := exposureWarning(ln.Addr(), o.APIKey != ""); w != "" {
		// Printed even with --quiet: it is about security, not progress.
		f.Errorf("%s", w)
	}
	s := server.NewLoading(cfg)
	shown, all := server.DisplayAddr(ln.Addr())
	where := "http://" + shown
	if all {
		where += " (all interfaces)"
	}
	f.Warnf("listening on %s; loading the model", where)
	if o.OnListen != nil {
		o.OnListen(ln.Addr())
	}
	loadCtx, stopLoading := context.WithCancel(ctx)
	var m *fashionclip.Model
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var eng *modelengine.Engine
		var ids []string
		var err error
		m, eng, ids, err = loadServedModel(loadCtx, o, cfg.Indexes)
		if err == nil {
			err = s.Ready(eng, ids)
		}
		if err != nil {
			s.Fail(err)
			return
		}
		paths := "POST /v1/embeddings, /v1/classify; GET /v1/models, /healthz, /metrics"
		if cfg.Indexes != nil {
			paths = "GET / (the search page); POST /v1/search, /v1/embeddings, /v1/classify; GET /v1/indexes, /v1/models, /healthz, /metrics"
		}
		f.Warnf("serving %s on %s (%s)", ids[0], where, paths)
	}()
	err = s.Serve(ctx, ln)
	stopLoading()
	wg.Wait()
	if m != nil {
		m.Close()
	}
	if err == nil {
		f.Warnf("shut down cleanly")
	}
	return err
}

// loadServedModel loads the model and its engine, and checks that the
// served indexes were made by it.
func loadServedModel(ctx context.Context, o *ServeOptions, x *server.Indexes) (*fashionclip.Model, *modelengine.Engine, []string, error) {
	m, err := o.f.LoadModel(ctx, "", func(opts *fashionclip.Options) {
		// One micro-batch is one ONNX Runtime run; decode goroutines share
		// the cores, so idle runtime threads must not spin.
		opts.BatchSize = o.MaxBatch
		opts.MaxPixels = o.MaxPixels
		opts.NoSpin = true
		// The served indexes' variant, unless told otherwise (an index of
		// another variant is refused below, unless allowed).
		if x != nil && o.f.Flags.Variant == "" {
			if infos := x.Info(); len(infos) > 0 && infos[0].Model.Variant != "" {
				opts.Variant = infos[0].Model.Variant
			}
		}
	})
	if err != nil {
		return nil, nil, nil, err
	}
	fail := func(err error) (*fashionclip.Model, *modelengine.Engine, []string, error) {
		m.Close()
		return nil, nil, nil, err
	}
	if x != nil {
		info, err := cmdutil.IndexModelInfo(m)
		if err != nil {
			return fail(err)
		}
		if err := x.UseModel(info); err != nil {
			return fail(err)
		}
	}
	eng, err := modelengine.New(ctx, m)
	if err != nil {
		return fail(err)
	}
	return m, eng, modelengine.ModelIDs(o.f.ModelRef(), m), nil
}

// openServedIndexes opens serve's --index arguments.
func openServedIndexes(o *ServeOptions) (*server.Indexes, error) {
	specs, err := server.ExpandIndexes(o.Indexes)
	if err != nil {
		return nil, err
	}
	return server.OpenIndexes(specs, server.IndexOptions{Workers: o.f.ThreadBudget(), Logf: o.logf,
		AllowVariantMismatch: o.AllowVariantMismatch})
}

// openAccessLog opens --access-log: "-" is stderr, anything else a file
// appended to.
func openAccessLog(f *cmdutil.Factory, path string) (io.Writer, func(), error) {
	if path == "-" {
		return f.IO.ErrOut, func() {}, nil
	}
	file, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("access log: %w", err)
	}
	return file, func() { file.Close() }, nil
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
