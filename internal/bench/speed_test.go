package bench

import (
	"bytes"
	"strings"
	"testing"
)

func TestPercentile(t *testing.T) {
	tests := []struct {
		values []float64
		p      float64
		want   float64
	}{
		{nil, 50, 0},
		{[]float64{7}, 99, 7},
		{[]float64{4, 1, 3, 2}, 50, 2.5},    // numpy: rank 1.5
		{[]float64{1, 2, 3, 4, 5}, 95, 4.8}, // rank 3.8
		{[]float64{10, 20}, 0, 10},
		{[]float64{10, 20}, 100, 20},
	}
	for _, tt := range tests {
		if got := Percentile(tt.values, tt.p); !approx(got, tt.want) {
			t.Errorf("Percentile(%v, %v) = %v, want %v", tt.values, tt.p, got, tt.want)
		}
	}
	v := []float64{3, 1, 2}
	Percentile(v, 50)
	if v[0] != 3 {
		t.Error("Percentile sorted its argument in place")
	}
}

func TestPeakRSSAndSpeedTable(t *testing.T) {
	if PeakRSS() <= 0 {
		t.Skip("peak RSS not measured on this platform")
	}
	r := SpeedReport{Model: "tiny", Source: "synthetic", Images: 10, BatchSize: 4, Threads: 2,
		ImagesPerSecond: 90, ModelOnlyImagesPerSecond: 100, VsModelOnly: 0.9, PeakRSSBytes: PeakRSS(),
		Stages: []Stage{{"read", 0.1}}, TextCount: 10}
	var buf bytes.Buffer
	if err := r.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"90.0%", "stage read", "text encoding (10 prompts)", "MiB"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, buf.String())
		}
	}
}
