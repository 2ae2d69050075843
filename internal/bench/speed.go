package bench

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"

	"github.com/fashionclip/fashionclip/internal/output"
)

// Percentile is the p-th percentile (0–100) of values, interpolating
// linearly between closest ranks (numpy's default), 0 for no values.
func Percentile(values []float64, p float64) float64 {
	if len(values) == 0 {
		return 0
	}
	s := append([]float64(nil), values...)
	sort.Float64s(s)
	rank := p / 100 * float64(len(s)-1)
	lo := int(math.Floor(rank))
	hi := min(lo+1, len(s)-1)
	return s[lo] + (s[hi]-s[lo])*(rank-float64(lo))
}

// Latency are percentiles of a duration, in milliseconds.
type Latency struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
}

// LatencyOf summarises durations given in milliseconds.
func LatencyOf(ms []float64) Latency {
	return Latency{Percentile(ms, 50), Percentile(ms, 95), Percentile(ms, 99)}
}

// Stage is one pipeline stage's cost per image.
type Stage struct {
	Name string `json:"stage"`
	// MSPerImage is the stage's summed time (across workers) per image.
	MSPerImage float64 `json:"ms_per_image"`
}

// SpeedReport is `bench speed`'s result.
type SpeedReport struct {
	Model      string `json:"model"`
	Source     string `json:"source"`
	Images     int    `json:"images"`
	Failed     int    `json:"failed"`
	BatchSize  int    `json:"batch_size"`
	Threads    int    `json:"threads"`
	FastDecode bool   `json:"fast_decode"`
	// Seconds is the end-to-end wall time of the image run.
	Seconds         float64 `json:"seconds"`
	ImagesPerSecond float64 `json:"images_per_second"`
	// ModelOnlyImagesPerSecond is ONNX Runtime alone on ready tensors, with
	// the same batch size and threads: the ceiling for ImagesPerSecond.
	ModelOnlyImagesPerSecond float64 `json:"model_only_images_per_second"`
	// VsModelOnly is ImagesPerSecond / ModelOnlyImagesPerSecond.
	VsModelOnly    float64 `json:"vs_model_only"`
	BatchLatencyMS Latency `json:"batch_latency_ms"`
	Stages         []Stage `json:"stages"`
	// TextMS is the time to embed TextCount prompts in one call.
	TextMS       float64 `json:"text_ms"`
	TextCount    int     `json:"text_count"`
	PeakRSSBytes int64   `json:"peak_rss_bytes"`
}

// WriteTable prints the report for a person.
func (s *SpeedReport) WriteTable(w io.Writer) error {
	f2 := func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
	fmt.Fprintf(w, "model %s, %s, batch %d, %d threads", s.Model, s.Source, s.BatchSize, s.Threads)
	if s.FastDecode {
		fmt.Fprint(w, ", fast decode")
	}
	fmt.Fprintln(w)
	t := output.NewTableWriter(w, "MEASURE", "VALUE")
	t.Append("images", fmt.Sprintf("%d (%d failed)", s.Images, s.Failed))
	t.Append("end to end", f2(s.ImagesPerSecond)+" img/s")
	t.Append("model only", f2(s.ModelOnlyImagesPerSecond)+" img/s")
	t.Append("end to end / model only", fmt.Sprintf("%.1f%%", 100*s.VsModelOnly))
	t.Append("batch latency p50 / p95 / p99", fmt.Sprintf("%s / %s / %s ms", f2(s.BatchLatencyMS.P50), f2(s.BatchLatencyMS.P95), f2(s.BatchLatencyMS.P99)))
	for _, st := range s.Stages {
		t.Append("stage "+st.Name, f2(st.MSPerImage)+" ms/img")
	}
	t.Append(fmt.Sprintf("text encoding (%d prompts)", s.TextCount), f2(s.TextMS)+" ms")
	t.Append("peak RSS", fmt.Sprintf("%.1f MiB", float64(s.PeakRSSBytes)/(1<<20)))
	return t.Close()
}
