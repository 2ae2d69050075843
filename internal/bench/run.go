package bench

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fashionclip/fashionclip/pkg/fashionclip"
	"github.com/fashionclip/fashionclip/pkg/imageproc"
)

// Model is what the accuracy run needs from a model. Adapt turns a
// *fashionclip.Model into one; tests use a small fake without ONNX Runtime.
type Model interface {
	EmbedLabels(ctx context.Context, names, templates []string) (*fashionclip.Labels, error)
	LogitScale() float32
	// EncodeItems streams items in order through decoding and batched
	// encoding (fashionclip.Encode).
	EncodeItems(ctx context.Context, items iter.Seq[*Item], opts fashionclip.StreamOptions) iter.Seq2[fashionclip.Result[*Item], error]
}

// SpeedModel is what the speed run needs besides Model.
type SpeedModel interface {
	Model
	EncodeImages(ctx context.Context, pixels [][]float32) ([][]float32, error)
	EncodeText(ctx context.Context, text string) ([]float32, error)
	PixelCount() int
}

// Adapter runs benchmarks on a loaded model.
type Adapter struct{ *fashionclip.Model }

// Adapt wraps a loaded model for the runners.
func Adapt(m *fashionclip.Model) Adapter { return Adapter{m} }

// PixelCount is the size of one pixel tensor.
func (a Adapter) PixelCount() int { return a.Preprocessor().PixelCount() }

// EncodeItems implements Model: in-memory pictures are preprocessed as they
// are, files are read (the read timed into the item) and decoded.
func (a Adapter) EncodeItems(ctx context.Context, items iter.Seq[*Item], opts fashionclip.StreamOptions) iter.Seq2[fashionclip.Result[*Item], error] {
	return fashionclip.Encode(ctx, a.Model, items, loadItem, opts)
}

func loadItem(_ context.Context, m *fashionclip.Model, it *Item, dst []float32) ([]float32, error) {
	if it.Image != nil {
		return m.Preprocessor().Image(it.Image)
	}
	t0 := time.Now()
	data, err := os.ReadFile(it.Path)
	it.readNanos = int64(time.Since(t0))
	if err != nil {
		return nil, err
	}
	return m.Preprocessor().Reuse(dst, data)
}

// RunOptions are what every run shares.
type RunOptions struct {
	Workers, BatchSize int
	// Progress is told after each item (total is the run's item count).
	Progress func(done, total int)
	// OnFailure is told of an item that could not be read or decoded.
	OnFailure func(it *Item, err error)

	onBatch func(n int, d time.Duration)
}

func (o RunOptions) stream(stats *fashionclip.Stats) fashionclip.StreamOptions {
	return fashionclip.StreamOptions{Workers: o.Workers, BatchSize: o.BatchSize, Stats: stats, OnBatch: o.onBatch}
}

// each streams the dataset's items and calls fn for each good one.
func (o RunOptions) each(ctx context.Context, m Model, items []Item, stats *fashionclip.Stats, fn func(*Item, []float32)) (failed int, err error) {
	ptrs := make([]*Item, len(items))
	for i := range items {
		ptrs[i] = &items[i]
	}
	done := 0
	for r, err := range m.EncodeItems(ctx, slices.Values(ptrs), o.stream(stats)) {
		if err != nil {
			return failed, err
		}
		done++
		if r.Err != nil {
			failed++
			if o.OnFailure != nil {
				o.OnFailure(r.Item, r.Err)
			}
		} else {
			fn(r.Item, r.Embedding)
		}
		if o.Progress != nil {
			o.Progress(done, len(items))
		}
	}
	return failed, nil
}

// AccuracyOptions choose the prompts of an accuracy run.
type AccuracyOptions struct {
	RunOptions
	// Templates are ensembled as classify does (nil: the default prompt).
	Templates []string
	// Sweep, when set, scores each template alone and, when there are
	// several, their ensemble; Templates is then ignored.
	Sweep []string
}

// LabelSetResult is the predictions of one way of embedding the classes.
type LabelSetResult struct {
	Name string
	Pred []string
}

// Accuracy is an accuracy run's outcome, before metrics.
type Accuracy struct {
	Truth []string
	Sets  []LabelSetResult
	// Predictions of the first set, in dataset order.
	Predictions []Prediction
	// Failed counts items that could not be read during the run.
	Failed int
}

// RunAccuracy classifies every item zero-shot against the dataset's classes
// with classify's own scoring (fashionclip.Labels.Score).
func RunAccuracy(ctx context.Context, m Model, ds *Dataset, o AccuracyOptions) (*Accuracy, error) {
	sets, err := embedSets(ctx, m, ds.Classes, o)
	if err != nil {
		return nil, err
	}
	res := &Accuracy{Sets: make([]LabelSetResult, len(sets))}
	for i, s := range sets {
		res.Sets[i].Name = s.name
	}
	scale := m.LogitScale()
	failed, err := o.each(ctx, m, ds.Items, nil, func(it *Item, emb []float32) {
		res.Truth = append(res.Truth, it.Label)
		for i, s := range sets {
			top := s.labels.Score(emb, scale, fashionclip.ScoreOptions{TopK: 1})[0]
			res.Sets[i].Pred = append(res.Sets[i].Pred, top.Label)
			if i == 0 {
				res.Predictions = append(res.Predictions, Prediction{ID: it.ID, Label: it.Label, Predicted: top.Label, Score: top.Score})
			}
		}
	})
	res.Failed = failed
	return res, err
}

type labelSet struct {
	name   string
	labels *fashionclip.Labels
}

// embedSets embeds the classes once per template of a sweep (plus the
// ensemble of them all), or once with the template ensemble.
func embedSets(ctx context.Context, m Model, classes []string, o AccuracyOptions) ([]labelSet, error) {
	if len(o.Sweep) == 0 {
		l, err := m.EmbedLabels(ctx, classes, o.Templates)
		if err != nil {
			return nil, err
		}
		return []labelSet{{name: "ensemble", labels: l}}, nil
	}
	var sets []labelSet
	for _, t := range o.Sweep {
		l, err := m.EmbedLabels(ctx, classes, []string{t})
		if err != nil {
			return nil, err
		}
		sets = append(sets, labelSet{name: t, labels: l})
	}
	if len(sets) > 1 {
		// The ensemble is the mean of the per-template embeddings, exactly
		// what EmbedLabels computes from the same prompts.
		ens := &fashionclip.Labels{Names: classes, Templates: o.Sweep, Embeddings: make([][]float32, len(classes))}
		for i := range classes {
			per := make([][]float32, len(sets))
			for j, s := range sets {
				per[j] = s.labels.Embeddings[i]
			}
			ens.Embeddings[i] = fashionclip.MeanNormalized(per)
		}
		sets = append(sets, labelSet{name: fmt.Sprintf("ensemble of all %d", len(sets)), labels: ens})
	}
	return sets, nil
}

// ReportMeta is a report's provenance.
type ReportMeta struct {
	Dataset, Data, Model, Revision string
	Templates                      []string
	LabelsMap                      LabelsMap
	Skipped                        int
	Seconds                        float64
}

// Report computes the metrics of the first (or only) label set.
func (a *Accuracy) Report(meta ReportMeta) (*Report, Metrics, error) {
	mt, err := Compute(a.Truth, a.Sets[0].Pred)
	if err != nil {
		return nil, mt, err
	}
	templates := meta.Templates
	if len(templates) == 0 {
		templates = []string{fashionclip.DefaultTemplate}
	}
	rep := &Report{Dataset: meta.Dataset, Data: meta.Data, Model: meta.Model, Revision: meta.Revision,
		Templates: templates, LabelsMap: meta.LabelsMap, Skipped: meta.Skipped, Seconds: meta.Seconds}
	rep.SetMetrics(mt)
	return rep, mt, nil
}

// SweepReport computes one row per label set.
func (a *Accuracy) SweepReport(meta ReportMeta) (*SweepReport, error) {
	sr := &SweepReport{Dataset: meta.Dataset, Data: meta.Data, Model: meta.Model, Revision: meta.Revision,
		LabelsMap: meta.LabelsMap, N: len(a.Truth), Skipped: meta.Skipped, Seconds: meta.Seconds}
	for _, s := range a.Sets {
		mt, err := Compute(a.Truth, s.Pred)
		if err != nil {
			return nil, err
		}
		sr.Sweep = append(sr.Sweep, SweepRow{Template: s.Name, Accuracy: mt.Accuracy, WeightedF1: mt.WeightedF1, MacroF1: mt.MacroF1})
	}
	return sr, nil
}

// SpeedOptions say what a speed run times.
type SpeedOptions struct {
	RunOptions
	Paths []string
	// Decode is the decoder's options, for timing decoding alone.
	Decode imageproc.Options
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// RunSpeed times the image pipeline classify uses, stage by stage, against
// ONNX Runtime alone on ready tensors with the same batch size and threads.
func RunSpeed(ctx context.Context, m SpeedModel, o SpeedOptions) (*SpeedReport, error) {
	if len(o.Paths) == 0 {
		return nil, errors.New("no image to time")
	}
	rep := &SpeedReport{BatchSize: o.BatchSize, Threads: o.Workers, FastDecode: o.Decode.FastDecode}
	// Model only first: its first batch also creates the vision session, so
	// the end-to-end run below does not pay for that.
	var err error
	if rep.ModelOnlyImagesPerSecond, err = modelOnlyThroughput(ctx, m, len(o.Paths), o.BatchSize); err != nil {
		return nil, err
	}
	// Text: the first call creates the text session; the second is timed.
	if _, err := m.EncodeText(ctx, "warm up"); err != nil {
		return nil, err
	}
	t0 := time.Now()
	labels, err := m.EmbedLabels(ctx, FMNISTClasses, nil)
	if err != nil {
		return nil, err
	}
	rep.TextMS, rep.TextCount = ms(time.Since(t0)), len(FMNISTClasses)

	items := make([]Item, len(o.Paths))
	for i, p := range o.Paths {
		items[i] = Item{ID: p, Path: p}
	}
	stats := &fashionclip.Stats{}
	var mu sync.Mutex
	var batchMS []float64
	o.onBatch = func(_ int, d time.Duration) {
		mu.Lock()
		batchMS = append(batchMS, ms(d))
		mu.Unlock()
	}
	var scoreNanos, readNanos atomic.Int64
	scale := m.LogitScale()
	start := time.Now()
	failed, err := o.each(ctx, m, items, stats, func(it *Item, emb []float32) {
		readNanos.Add(it.readNanos)
		t0 := time.Now()
		labels.Score(emb, scale, fashionclip.ScoreOptions{TopK: 1})
		scoreNanos.Add(int64(time.Since(t0)))
	})
	if err != nil {
		return nil, err
	}
	elapsed := time.Since(start)
	rep.Failed = failed
	rep.Images = len(items) - failed
	if rep.Images == 0 {
		return rep, fmt.Errorf("every image failed (%d)", failed)
	}
	rep.Seconds = elapsed.Seconds()
	rep.ImagesPerSecond = float64(rep.Images) / elapsed.Seconds()
	if rep.ModelOnlyImagesPerSecond > 0 {
		rep.VsModelOnly = rep.ImagesPerSecond / rep.ModelOnlyImagesPerSecond
	}
	mu.Lock()
	rep.BatchLatencyMS = LatencyOf(batchMS)
	mu.Unlock()
	perImage := func(nanos int64) float64 { return float64(nanos) / 1e6 / float64(len(items)) }
	fused := perImage(stats.PreprocessNanos.Load() - readNanos.Load())
	decode := decodeOnly(o.Paths, o.Decode)
	rep.Stages = []Stage{
		{Name: "read", MSPerImage: perImage(readNanos.Load())},
		{Name: "decode", MSPerImage: min(decode, fused)},
		{Name: "preprocess", MSPerImage: max(fused-decode, 0)},
		{Name: "infer", MSPerImage: float64(stats.EncodeNanos.Load()) / 1e6 / float64(rep.Images)},
		{Name: "score", MSPerImage: float64(scoreNanos.Load()) / 1e6 / float64(rep.Images)},
	}
	rep.PeakRSSBytes = PeakRSS()
	return rep, nil
}

// modelOnlyThroughput times the encoder alone on ready tensors: as many
// images as the end-to-end run, in the same batches, after one warm-up batch.
func modelOnlyThroughput(ctx context.Context, m SpeedModel, images, bs int) (float64, error) {
	n := m.PixelCount()
	tensors := make([][]float32, min(bs, images))
	for i := range tensors {
		t := make([]float32, n)
		for j := range t {
			// Any values will do; these stay in the normalised range.
			t[j] = float32((i*7919+j*31)%2001)/1000 - 1
		}
		tensors[i] = t
	}
	if _, err := m.EncodeImages(ctx, tensors); err != nil {
		return 0, err
	}
	t0 := time.Now()
	for done := 0; done < images; done += bs {
		if _, err := m.EncodeImages(ctx, tensors[:min(bs, images-done)]); err != nil {
			return 0, err
		}
	}
	return float64(images) / time.Since(t0).Seconds(), nil
}

// decodeOnly is the mean time to decode (only) up to 16 of the images,
// spread over the set, in milliseconds.
func decodeOnly(paths []string, opts imageproc.Options) float64 {
	step := max(len(paths)/16, 1)
	var total time.Duration
	count := 0
	for i := 0; i < len(paths) && count < 16; i += step {
		data, err := os.ReadFile(paths[i])
		if err != nil {
			continue
		}
		t0 := time.Now()
		if _, err := imageproc.DecodeRGB(data, opts); err != nil {
			continue
		}
		total += time.Since(t0)
		count++
	}
	if count == 0 {
		return 0
	}
	return ms(total) / float64(count)
}
