// Package fashionclip is the public library: load a FashionCLIP (or any
// CLIP) ONNX model — a local folder or a Hugging Face Hub repo — and turn
// texts and images into L2-normalised embeddings that match Hugging Face's
// CLIPModel, classify images zero-shot, and stream image files through
// bounded, in-order, batched encoding.
//
//	rt, err := fashionclip.NewRuntime(fashionclip.RuntimeOptions{})
//	m, err := rt.Load(ctx, "patrickjohncyh/fashion-clip", fashionclip.Options{})
//	c, err := m.NewClassifier(ctx, []string{"sneaker", "boot"}, fashionclip.ClassifierOptions{})
//
// Logit scale: taken from the combined graph when it carries one (Optimum
// exports compute logit_scale.exp() inside the graph); otherwise 100, the
// value CLIP's training clamps it to and FashionCLIP ships.
package fashionclip

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/fashionclip/fashionclip/internal/graphcache"
	"github.com/fashionclip/fashionclip/internal/ort"
	"github.com/fashionclip/fashionclip/internal/vecmath"
	"github.com/fashionclip/fashionclip/pkg/imageproc"
	"github.com/fashionclip/fashionclip/pkg/tokenizer"
)

// DefaultLogitScale is used when the graph does not carry its own.
const DefaultLogitScale = 100

var osGetenv = os.Getenv

// Options tune Load.
type Options struct {
	// Variant picks *_fp16 / *_quantized / ... graphs ("" or FP32 = full
	// precision). Int8 uses shipped *_int8 graphs, else derives int8 towers
	// from the fp32 ones into CacheDir on first use of each tower (logged
	// once, with its duration); the other variants must be shipped.
	Variant Variant
	// Device is the execution provider (default CPU); one that is
	// unavailable falls back to the CPU with a warning on Logger.
	Device Device
	// Threads is ONNX Runtime's intra-op thread count and the default number
	// of decode workers of a stream; 0 = one per core.
	Threads int
	// BatchSize caps the rows of one ONNX Runtime run (default 8 images, 64 texts).
	BatchSize int
	// MaxPixels refuses images larger than this, read from the header before decoding.
	MaxPixels int64
	// FastDecode lets JPEG decoding downscale in the DCT domain (not bit-exact).
	FastDecode bool
	// NoSpin stops idle ONNX Runtime threads from spinning (for programs
	// that share the cores with decode workers, as streams do).
	NoSpin bool
	// CacheDir holds graphs derived from the model's files (towers cut from
	// a combined graph, int8 towers quantized from fp32 ones); default: graphs/ under $FASHIONCLIP_CACHE or the
	// user cache. The model folder itself is never written.
	CacheDir string
	// PlainLoad creates CPU sessions from the graph files every time,
	// without ONNX Runtime's optimized copies kept in CacheDir (see
	// optimized.go); for measuring start-up against the plain way.
	PlainLoad bool
	// Logger receives warnings (a device fallback, a synthetic model) and
	// notes (a download, a one-time graph preparation); nil discards them.
	Logger *slog.Logger
	// Hub settings, used when Load is given a repo id.
	Hub HubOptions
}

// Model is a loaded model. Its methods are safe for concurrent use.
type Model struct {
	rt     *Runtime
	source Source
	layout Layout
	opts   Options
	log    *slog.Logger
	pre    *imageproc.Preprocessor
	preCfg imageproc.Config
	scale  float32
	split  ort.SplitGraphs

	tokOnce sync.Once
	tok     *tokenizer.Tokenizer
	tokErr  error

	text, vision tower
	fallback     sync.Once // one device-fallback warning per model

	mu     sync.Mutex
	closed bool
}

// Load opens a model: ref is a folder (or a combined .onnx file) — an
// existing path always wins — or a Hub repo id owner/name[@revision],
// pulled into the Hugging Face cache on first use (see HubOptions). The
// ONNX Runtime sessions are created on first use of each tower, so a
// text-only program never loads the vision weights, and the tokenizer is
// read on first use of the text tower.
func (r *Runtime) Load(ctx context.Context, ref string, opts Options) (*Model, error) {
	if r.isClosed() {
		return nil, ErrClosed
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Hub.Getenv == nil {
		opts.Hub.Getenv = r.getenv
	}
	src, err := Resolve(ctx, ref, opts.Variant, opts.Hub, opts.Logger)
	if err != nil {
		return nil, err
	}
	layout, err := DetectLayout(src.Dir, opts.Variant)
	if err != nil {
		return nil, err
	}
	cfg := imageproc.DefaultConfig()
	if p, ok := layout.Find("preprocessor_config.json"); ok {
		if cfg, err = imageproc.LoadConfig(p); err != nil {
			return nil, err
		}
	}
	m := &Model{rt: r, source: src, layout: layout, opts: opts, log: opts.Logger, preCfg: cfg, scale: DefaultLogitScale,
		text: tower{name: "text", output: "text_embeds"}, vision: tower{name: "vision", output: "image_embeds"}}
	m.pre = imageproc.New(cfg, imageproc.Options{MaxPixels: opts.MaxPixels, FastDecode: opts.FastDecode})
	if layout.Kind == Combined {
		// The cut also tells the graph's own logit scale, needed before the
		// first encode.
		if err := m.splitCombined(); err != nil {
			return nil, err
		}
	}
	if c, ok := m.Config(); ok && c.Synthetic {
		m.log.Warn(fmt.Sprintf("%s is a SYNTHETIC model with random weights: its scores and labels mean nothing", src.Dir))
	}
	r.track(m, true)
	return m, nil
}

func (m *Model) splitCombined() error {
	root, err := m.cacheRoot()
	if err != nil {
		return err
	}
	cache := graphcache.Cache{Root: root}
	if !ort.SplitCached(m.layout.Combined, cache) {
		// The cut reads the whole graph (seconds for ViT-B/32): say so first.
		m.log.Info(fmt.Sprintf("preparing %s once: cutting it into text and vision graphs", m.layout.Combined))
	}
	t0 := time.Now()
	split, err := ort.SplitCombined(m.layout.Combined, cache, "text_embeds", "image_embeds")
	if err != nil {
		return err
	}
	if split.Built {
		m.log.Info(fmt.Sprintf("prepared %s once: cut into text and vision graphs in %.1fs (cached in %s)",
			m.layout.Combined, time.Since(t0).Seconds(), root))
	}
	m.split = split
	if split.HasScale {
		m.scale = split.LogitScale
	}
	return nil
}

func (m *Model) sessionOptions() ort.SessionOptions {
	return ort.SessionOptions{Threads: m.opts.Threads, Device: string(m.opts.Device), NoSpin: m.opts.NoSpin}
}

// tower is one encoder graph, loaded on first use.
type tower struct {
	name, output string
	once         sync.Once
	sess         *ort.Session
	err          error
}

func (m *Model) load(t *tower, path string) (*ort.Session, error) {
	t.once.Do(func() {
		if m.isClosed() {
			t.err = ErrClosed
			return
		}
		if m.layout.From != "" {
			if path, t.err = m.derivedTower(t.name, path); t.err != nil {
				return
			}
		}
		t.sess, t.err = m.newTowerSession(t, path)
		if t.err != nil {
			t.err = fmt.Errorf("load %s graph %s: %w", t.name, path, t.err)
			return
		}
		if fb := t.sess.Fallback; fb != nil {
			m.fallback.Do(func() { m.log.Warn(fb.Error()) })
		}
	})
	return t.sess, t.err
}

// towerGraph is the tower's graph file before any derivation: the layout's
// own, or the one cut out of the combined graph.
func (m *Model) towerGraph(t *tower) string {
	switch {
	case t == &m.text && m.layout.Kind == Combined:
		return m.split.Text
	case t == &m.text:
		return m.layout.Text
	case m.layout.Kind == Combined:
		return m.split.Vision
	}
	return m.layout.Vision
}

func (m *Model) textSession() (*ort.Session, error) { return m.load(&m.text, m.towerGraph(&m.text)) }

func (m *Model) visionSession() (*ort.Session, error) {
	return m.load(&m.vision, m.towerGraph(&m.vision))
}

// Tower names one of the model's two encoders.
type Tower int

// The towers.
const (
	TextTower Tower = iota
	VisionTower
)

// Preload starts creating the towers' ONNX Runtime sessions in the
// background, so a program that will need them (classify needs both) loads
// them side by side, and while it reads its first inputs, instead of one
// after the other on first use. Errors surface on first use.
func (m *Model) Preload(towers ...Tower) {
	for _, t := range towers {
		switch t {
		case TextTower:
			go m.textSession()
		case VisionTower:
			go m.visionSession()
		}
	}
}

// Dir is the folder the model was loaded from.
func (m *Model) Dir() string { return m.source.Dir }

// Source tells where the model came from.
func (m *Model) Source() Source { return m.source }

// Layout tells which graph files are used.
func (m *Model) Layout() Layout { return m.layout }

// Variant is the graph variant in use.
func (m *Model) Variant() Variant {
	if m.opts.Variant == "" {
		return FP32
	}
	return m.opts.Variant
}

// LogitScale multiplies cosines before a softmax.
func (m *Model) LogitScale() float32 { return m.scale }

// RuntimeVersion is the ONNX Runtime version in use.
func (m *Model) RuntimeVersion() string { return m.rt.Version() }

// Tokenizer is the model's tokenizer, read on first use; a model folder
// without tokenizer files still embeds images.
func (m *Model) Tokenizer() (*tokenizer.Tokenizer, error) {
	m.tokOnce.Do(func() {
		dir, err := m.layout.TokenizerDir()
		if err != nil {
			m.tokErr = err
			return
		}
		m.tok, m.tokErr = tokenizer.Load(dir)
	})
	return m.tok, m.tokErr
}

// Preprocessor turns image files into the model's pixel tensors.
func (m *Model) Preprocessor() *imageproc.Preprocessor { return m.pre }

// PreprocessConfig is the image preprocessing configuration in force.
func (m *Model) PreprocessConfig() imageproc.Config { return m.preCfg }

// Threads is the thread budget: Options.Threads, else one per core.
func (m *Model) Threads() int {
	if m.opts.Threads > 0 {
		return m.opts.Threads
	}
	return runtime.NumCPU()
}

// Close releases the ONNX Runtime sessions; later calls fail with ErrClosed.
func (m *Model) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.mu.Unlock()
	m.rt.track(m, false)
	var errs []error
	for _, t := range []*tower{&m.text, &m.vision} {
		t.once.Do(func() { t.err = ErrClosed }) // a tower never loaded stays unloaded
		if t.sess != nil {
			errs = append(errs, t.sess.Close())
		}
	}
	return errors.Join(errs...)
}

func (m *Model) isClosed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.closed
}

func (m *Model) batchSize(def int) int {
	if m.opts.BatchSize > 0 {
		return m.opts.BatchSize
	}
	return def
}

// ErrNonFinite is an embedding holding NaN or infinity (a broken graph or
// configuration); it is never returned as a result.
var ErrNonFinite = errors.New("the model produced a non-finite embedding (NaN or infinity)")

// EncodeTexts embeds texts, batch by batch; each batch is padded only to its
// longest member. A cancelled ctx stops a run part-way.
func (m *Model) EncodeTexts(ctx context.Context, texts []string) ([][]float32, error) {
	tok, err := m.Tokenizer()
	if err != nil {
		return nil, err
	}
	sess, err := m.textSession()
	if err != nil {
		return nil, err
	}
	out := make([][]float32, 0, len(texts))
	bs := m.batchSize(64)
	for start := 0; start < len(texts); start += bs {
		end := min(start+bs, len(texts))
		b := tok.EncodeBatch(texts[start:end])
		shape := []int64{int64(b.Rows), int64(b.SeqLen)}
		inputs := map[string]ort.Tensor{"input_ids": {Shape: shape, Int64: b.IDs}}
		if sess.HasInput("attention_mask") {
			inputs["attention_mask"] = ort.Tensor{Shape: shape, Int64: b.Mask}
		}
		res, err := sess.Run(ctx, inputs)
		if err != nil {
			return nil, fmt.Errorf("encode texts: %w", err)
		}
		rs, err := rows(res[0])
		if err != nil {
			return nil, fmt.Errorf("encode texts: %w", err)
		}
		out = append(out, rs...)
	}
	return out, nil
}

// EncodeText embeds one text.
func (m *Model) EncodeText(ctx context.Context, text string) ([]float32, error) {
	v, err := m.EncodeTexts(ctx, []string{text})
	if err != nil {
		return nil, err
	}
	return v[0], nil
}

// EncodeImages embeds preprocessed pixel tensors (each 3×H×W, CHW float32,
// as Preprocessor produces). A cancelled ctx stops a run part-way.
func (m *Model) EncodeImages(ctx context.Context, pixels [][]float32) ([][]float32, error) {
	sess, err := m.visionSession()
	if err != nil {
		return nil, err
	}
	n := m.pre.PixelCount()
	out := make([][]float32, 0, len(pixels))
	bs := m.batchSize(8)
	var buf []float32
	for start := 0; start < len(pixels); start += bs {
		end := min(start+bs, len(pixels))
		buf = buf[:0]
		for i, p := range pixels[start:end] {
			if len(p) != n {
				return nil, fmt.Errorf("image %d: pixel tensor has %d values, want %d", start+i, len(p), n)
			}
			buf = append(buf, p...)
		}
		cfg := m.preCfg
		shape := []int64{int64(end - start), 3, int64(cfg.CropHeight), int64(cfg.CropWidth)}
		res, err := sess.Run(ctx, map[string]ort.Tensor{"pixel_values": {Shape: shape, Float32: buf}})
		if err != nil {
			return nil, fmt.Errorf("encode images: %w", err)
		}
		rs, err := rows(res[0])
		if err != nil {
			return nil, fmt.Errorf("encode images: %w", err)
		}
		out = append(out, rs...)
	}
	return out, nil
}

// rows splits a [N, D] output into normalised rows.
func rows(t ort.Tensor) ([][]float32, error) {
	n, d := int(t.Shape[0]), int(t.Shape[len(t.Shape)-1])
	out := make([][]float32, n)
	for i := range out {
		row := t.Float32[i*d : (i+1)*d]
		if !vecmath.AllFinite(row) {
			return nil, ErrNonFinite
		}
		out[i] = vecmath.Normalize(row)
	}
	return out, nil
}

// Normalize scales v to unit L2 norm in place and returns it (sums in
// float64, so the result does not depend on summation order).
func Normalize(v []float32) []float32 { return vecmath.Normalize(v) }

// ModelConfig is the part of config.json we report.
type ModelConfig struct {
	NameOrPath    string `json:"_name_or_path"`
	ProjectionDim int    `json:"projection_dim"`
	Synthetic     bool   `json:"fashionclip_synthetic"`
}

// Config reads config.json beside the graph, if there is one.
func (m *Model) Config() (ModelConfig, bool) {
	var c ModelConfig
	p, ok := m.layout.Find("config.json")
	if !ok {
		return c, false
	}
	b, err := os.ReadFile(p)
	if err != nil || json.Unmarshal(b, &c) != nil {
		return c, false
	}
	return c, true
}
