package fashionclip

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/fashionclip/fashionclip/internal/modelfiles"
	"github.com/fashionclip/fashionclip/internal/vecmath"
)

// Int8Folder is what WriteInt8Folder wrote.
type Int8Folder struct {
	Dir                    string
	Text, Vision           string // the graphs' paths
	TextFacts, VisionFacts Int8Facts
	// Files are the config and tokenizer files copied beside the graphs.
	Files []string
}

// ErrNotFP32 is a model loaded in another variant than fp32 asked to
// derive int8 graphs: they are only ever quantized from full precision.
var ErrNotFP32 = errors.New("int8 graphs are derived from fp32 ones; the model is not loaded as fp32")

// FolderExistsError is an output folder that already holds the graphs to write.
type FolderExistsError struct{ Path string }

func (e *FolderExistsError) Error() string { return fmt.Sprintf("%s already exists", e.Path) }

// WriteInt8Folder writes a model folder holding int8 towers derived from
// m's fp32 graphs, under the split layout's int8 names
// (onnx/text_model_int8.onnx, onnx/vision_model_int8.onnx), and the config
// and tokenizer files m has, so that Load(dir, Options{Variant: Int8})
// uses it as shipped. Each file is written beside its final name and
// renamed in; existing graphs are a *FolderExistsError unless overwrite.
func (m *Model) WriteInt8Folder(dir string, overwrite bool) (Int8Folder, error) {
	if m.Variant() != FP32 || m.layout.From != "" {
		return Int8Folder{}, ErrNotFP32
	}
	g := modelfiles.SplitAt(modelfiles.GraphDirs[1], Int8)
	out := Int8Folder{Dir: dir, Text: filepath.Join(dir, filepath.FromSlash(g.Text)), Vision: filepath.Join(dir, filepath.FromSlash(g.Vision))}
	if !overwrite {
		for _, p := range []string{out.Text, out.Vision} {
			if _, err := os.Lstat(p); err == nil {
				return Int8Folder{}, &FolderExistsError{Path: p}
			}
		}
	}
	if err := os.MkdirAll(filepath.Dir(out.Text), 0o755); err != nil {
		return Int8Folder{}, err
	}
	for _, name := range modelfiles.RootFiles {
		src, ok := m.layout.Find(name)
		if !ok {
			continue
		}
		dst := filepath.Join(dir, name)
		if err := writeAtomic(dst, func(w io.Writer) error { return copyFile(w, src) }); err != nil {
			return Int8Folder{}, err
		}
		out.Files = append(out.Files, dst)
	}
	for _, t := range []struct {
		tower *tower
		dst   string
		facts *Int8Facts
	}{{&m.text, out.Text, &out.TextFacts}, {&m.vision, out.Vision, &out.VisionFacts}} {
		facts, err := deriveInt8(m.towerGraph(t.tower), t.dst) // written beside t.dst and renamed in
		if err != nil {
			return Int8Folder{}, fmt.Errorf("derive int8 %s graph: %w", t.tower.name, err)
		}
		*t.facts = facts
	}
	return out, nil
}

func copyFile(w io.Writer, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// writeAtomic writes path through a temporary file renamed into place.
func writeAtomic(path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// CosineStats summarise the cosines between two models' embeddings of the
// same inputs.
type CosineStats struct {
	N    int     `json:"n"`
	Min  float64 `json:"min"`
	Mean float64 `json:"mean"`
}

func cosineStats(a, b [][]float32) CosineStats {
	s := CosineStats{N: len(a), Min: math.Inf(1)}
	if len(a) == 0 {
		return CosineStats{}
	}
	for i := range a {
		c := vecmath.Dot(a[i], b[i]) // both are normalised
		s.Min = math.Min(s.Min, c)
		s.Mean += c
	}
	s.Mean /= float64(len(a))
	return s
}

// ImageInput is one image of a comparison: a file, or encoded bytes.
type ImageInput struct {
	Name string // for messages; the path for files
	Path string // read when Data is nil
	Data []byte
}

// LoadImageInput is the LoadFunc of ImageInput.
func LoadImageInput(ctx context.Context, m *Model, in ImageInput, dst []float32) ([]float32, error) {
	if in.Data == nil {
		return LoadFile(ctx, m, in.Path, dst)
	}
	return m.pre.ReuseContext(ctx, dst, in.Data)
}

// CompareInputs are what Compare embeds with both models.
type CompareInputs struct {
	Texts  []string
	Images []ImageInput
	// Labels, when set, are scored against every image by both models
	// (with DefaultTemplate) to count agreeing top-1 labels.
	Labels []string
}

// Fidelity says how closely one model reproduces another on the same inputs.
type Fidelity struct {
	Texts, Images CosineStats
	// Top1Agree images of Top1Of got the same best label from both models
	// (zero without labels).
	Top1Agree, Top1Of int
	// Failed are images that could not be read or decoded (left out).
	Failed []Result[ImageInput]
}

// Compare embeds the inputs with a (the reference, e.g. fp32) and b (e.g.
// int8) and measures how far b's embeddings are from a's.
func Compare(ctx context.Context, a, b *Model, in CompareInputs) (Fidelity, error) {
	var f Fidelity
	if len(in.Texts) > 0 {
		ta, err := a.EncodeTexts(ctx, in.Texts)
		if err != nil {
			return f, err
		}
		tb, err := b.EncodeTexts(ctx, in.Texts)
		if err != nil {
			return f, err
		}
		f.Texts = cosineStats(ta, tb)
	}
	if len(in.Images) == 0 {
		return f, nil
	}
	ia, failed, err := encodeInputs(ctx, a, in.Images)
	if err != nil {
		return f, err
	}
	ib, _, err := encodeInputs(ctx, b, in.Images)
	if err != nil {
		return f, err
	}
	f.Failed = failed
	var va, vb [][]float32
	for i := range ia {
		if ia[i] != nil && ib[i] != nil {
			va, vb = append(va, ia[i]), append(vb, ib[i])
		}
	}
	f.Images = cosineStats(va, vb)
	if len(in.Labels) == 0 || len(va) == 0 {
		return f, nil
	}
	la, err := a.EmbedLabels(ctx, in.Labels, []string{DefaultTemplate})
	if err != nil {
		return f, err
	}
	lb, err := b.EmbedLabels(ctx, in.Labels, []string{DefaultTemplate})
	if err != nil {
		return f, err
	}
	for i := range va {
		ca, cb := la.Cosines(va[i]), lb.Cosines(vb[i])
		if argmax(ca) == argmax(cb) {
			f.Top1Agree++
		}
		f.Top1Of++
	}
	return f, nil
}

// encodeInputs embeds images in order; a failed image is nil in vs and listed in failed.
func encodeInputs(ctx context.Context, m *Model, in []ImageInput) (vs [][]float32, failed []Result[ImageInput], err error) {
	for r, err := range Encode(ctx, m, slices.Values(in), LoadImageInput, StreamOptions{}) {
		if err != nil {
			return nil, nil, err
		}
		if r.Err != nil {
			failed = append(failed, r)
		}
		vs = append(vs, r.Embedding)
	}
	return vs, failed, nil
}

func argmax(xs []float64) int {
	best := 0
	for i, x := range xs {
		if x > xs[best] {
			best = i
		}
	}
	return best
}
