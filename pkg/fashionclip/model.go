// Package fashionclip is the public library: load a FashionCLIP (or any CLIP)
// ONNX model folder and turn texts and images into L2-normalised embeddings
// that match Hugging Face's CLIPModel.
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
	"os"
	"runtime"
	"sync"

	"github.com/fashionclip/fashionclip/internal/ort"
	"github.com/fashionclip/fashionclip/internal/vecmath"
	"github.com/fashionclip/fashionclip/pkg/imageproc"
	"github.com/fashionclip/fashionclip/pkg/tokenizer"
)

// DefaultLogitScale is used when the graph does not carry its own.
const DefaultLogitScale = 100

// Options tune Load.
type Options struct {
	// Variant picks *_fp16 / *_quantized graphs ("" or FP32 = full precision).
	Variant Variant
	// Device is "cpu" (default), "cuda" or "coreml"; unavailable providers fall back to CPU with a warning.
	Device string
	// Threads is ONNX Runtime's intra-op thread count; 0 = one per core.
	Threads int
	// ORTLibrary overrides the ONNX Runtime library lookup (the --ort-lib flag).
	ORTLibrary string
	// BatchSize caps the rows of one ONNX Runtime run (default 8 images, 64 texts).
	BatchSize int
	// MaxPixels refuses images larger than this, read from the header before decoding.
	MaxPixels int64
	// FastDecode lets JPEG decoding downscale in the DCT domain (not bit-exact).
	FastDecode bool
	// NoSpin stops idle ONNX Runtime threads from spinning (set by pipelines
	// that share cores with decode workers).
	NoSpin bool
	// CacheDir holds graphs split out of combined models; default: graphs/
	// under $FASHIONCLIP_CACHE or the user cache.
	CacheDir string
}

// Model is a loaded model. Its methods are safe for concurrent use.
type Model struct {
	dir     string
	layout  Layout
	opts    Options
	tok     *tokenizer.Tokenizer
	pre     *imageproc.Preprocessor
	preCfg  imageproc.Config
	scale   float32
	runtime string // ONNX Runtime version

	splitOnce sync.Once
	split     ort.SplitGraphs
	splitErr  error

	text, vision tower

	warnMu   sync.Mutex
	warnings []string
}

// Load opens a model folder (see DetectLayout for the accepted forms). The
// ONNX Runtime sessions are created on first use of each tower, so a
// text-only program never loads the vision weights.
func Load(dir string, opts Options) (*Model, error) {
	layout, err := DetectLayout(dir, opts.Variant)
	if err != nil {
		return nil, err
	}
	_, version, err := ort.Init(opts.ORTLibrary)
	if err != nil {
		return nil, err
	}
	tokDir, err := layout.TokenizerDir()
	if err != nil {
		return nil, err
	}
	tok, err := tokenizer.Load(tokDir)
	if err != nil {
		return nil, err
	}
	cfg := imageproc.DefaultConfig()
	if p, ok := layout.Find("preprocessor_config.json"); ok {
		if cfg, err = imageproc.LoadConfig(p); err != nil {
			return nil, err
		}
	}
	m := &Model{dir: dir, layout: layout, opts: opts, tok: tok, preCfg: cfg, scale: DefaultLogitScale, runtime: version,
		text: tower{name: "text", output: "text_embeds"}, vision: tower{name: "vision", output: "image_embeds"}}
	m.pre = imageproc.New(cfg, imageproc.Options{MaxPixels: opts.MaxPixels, FastDecode: opts.FastDecode})
	if layout.Kind == Combined {
		// The split also tells the graph's own logit scale; do it now so
		// LogitScale is right before the first encode.
		if err := m.splitCombined(); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *Model) splitCombined() error {
	m.splitOnce.Do(func() {
		cache := m.opts.CacheDir
		if cache == "" {
			var err error
			if cache, err = ort.GraphCacheDir(); err != nil {
				m.splitErr = err
				return
			}
		}
		m.split, m.splitErr = ort.SplitCombined(m.layout.Combined, cache, "text_embeds", "image_embeds")
		if m.splitErr == nil && m.split.HasScale {
			m.scale = m.split.LogitScale
		}
	})
	return m.splitErr
}

func (m *Model) sessionOptions() ort.SessionOptions {
	return ort.SessionOptions{Threads: m.opts.Threads, Device: m.opts.Device, NoSpin: m.opts.NoSpin}
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
		t.sess, t.err = ort.NewSessionFromFile(path, []string{t.output}, m.sessionOptions())
		if t.err != nil {
			t.err = fmt.Errorf("load %s graph %s: %w", t.name, path, t.err)
			return
		}
		m.warn(t.sess.Warnings...)
	})
	return t.sess, t.err
}

func (m *Model) textSession() (*ort.Session, error) {
	path := m.layout.Text
	if m.layout.Kind == Combined {
		path = m.split.Text
	}
	return m.load(&m.text, path)
}

func (m *Model) visionSession() (*ort.Session, error) {
	path := m.layout.Vision
	if m.layout.Kind == Combined {
		path = m.split.Vision
	}
	return m.load(&m.vision, path)
}

func (m *Model) warn(w ...string) {
	m.warnMu.Lock()
	m.warnings = append(m.warnings, w...)
	m.warnMu.Unlock()
}

// Warnings returns notes for the user gathered so far (e.g. a device fallback).
func (m *Model) Warnings() []string {
	m.warnMu.Lock()
	defer m.warnMu.Unlock()
	return append([]string(nil), m.warnings...)
}

// Dir is the folder the model was loaded from.
func (m *Model) Dir() string { return m.dir }

// Layout tells which graph files are used.
func (m *Model) Layout() Layout { return m.layout }

// LogitScale multiplies cosines before a softmax.
func (m *Model) LogitScale() float32 { return m.scale }

// RuntimeVersion is the ONNX Runtime version in use.
func (m *Model) RuntimeVersion() string { return m.runtime }

// Tokenizer is the model's tokenizer.
func (m *Model) Tokenizer() *tokenizer.Tokenizer { return m.tok }

// Preprocessor turns image files into the model's pixel tensors.
func (m *Model) Preprocessor() *imageproc.Preprocessor { return m.pre }

// PreprocessConfig is the image preprocessing configuration in force.
func (m *Model) PreprocessConfig() imageproc.Config { return m.preCfg }

// Close releases the ONNX Runtime sessions.
func (m *Model) Close() error {
	var errs []error
	for _, t := range []*tower{&m.text, &m.vision} {
		if t.sess != nil {
			errs = append(errs, t.sess.Close())
		}
	}
	return errors.Join(errs...)
}

func (m *Model) batchSize(def int) int {
	if m.opts.BatchSize > 0 {
		return m.opts.BatchSize
	}
	return def
}

// EncodeTexts embeds texts, batch by batch; each batch is padded only to its
// longest member.
func (m *Model) EncodeTexts(ctx context.Context, texts []string) ([][]float32, error) {
	sess, err := m.textSession()
	if err != nil {
		return nil, err
	}
	out := make([][]float32, 0, len(texts))
	bs := m.batchSize(64)
	for start := 0; start < len(texts); start += bs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		end := min(start+bs, len(texts))
		b := m.tok.EncodeBatch(texts[start:end])
		shape := []int64{int64(b.Rows), int64(b.SeqLen)}
		inputs := map[string]ort.Tensor{"input_ids": {Shape: shape, Int64: b.IDs}}
		if sess.HasInput("attention_mask") {
			inputs["attention_mask"] = ort.Tensor{Shape: shape, Int64: b.Mask}
		}
		res, err := sess.Run(inputs)
		if err != nil {
			return nil, fmt.Errorf("encode texts: %w", err)
		}
		out = append(out, rows(res[0])...)
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
// as Preprocessor produces).
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
		if err := ctx.Err(); err != nil {
			return nil, err
		}
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
		res, err := sess.Run(map[string]ort.Tensor{"pixel_values": {Shape: shape, Float32: buf}})
		if err != nil {
			return nil, fmt.Errorf("encode images: %w", err)
		}
		out = append(out, rows(res[0])...)
	}
	return out, nil
}

// ImageResult is one file's embedding or the error that prevented it.
type ImageResult struct {
	Path      string
	Embedding []float32
	Err       error
}

// EncodeImageFiles decodes, preprocesses and embeds files. A file that
// cannot be read is reported in its result; the others still get embedded.
func (m *Model) EncodeImageFiles(ctx context.Context, paths []string) ([]ImageResult, error) {
	results := make([]ImageResult, len(paths))
	pixels := make([][]float32, len(paths))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.NumCPU())
	for i, p := range paths {
		results[i].Path = p
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			pixels[i], results[i].Err = m.pre.File(p)
		}()
	}
	wg.Wait()
	var ok [][]float32
	var idx []int
	for i := range results {
		if results[i].Err == nil {
			ok = append(ok, pixels[i])
			idx = append(idx, i)
		}
	}
	if len(ok) > 0 {
		embs, err := m.EncodeImages(ctx, ok)
		if err != nil {
			return nil, err
		}
		for j, i := range idx {
			results[i].Embedding = embs[j]
		}
	}
	return results, nil
}

// rows splits a [N, D] output into normalised rows.
func rows(t ort.Tensor) [][]float32 {
	n, d := int(t.Shape[0]), int(t.Shape[len(t.Shape)-1])
	out := make([][]float32, n)
	for i := range out {
		out[i] = Normalize(t.Float32[i*d : (i+1)*d])
	}
	return out
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
