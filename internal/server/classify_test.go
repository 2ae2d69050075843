package server

import (
	"encoding/json"
	"fmt"
	"image/color"
	"math"
	"sync"
	"testing"
)

func TestClassify(t *testing.T) {
	red := pngDataURL(t, 4, 3, color.RGBA{255, 0, 0, 255})
	blue := pngDataURL(t, 2, 5, color.RGBA{0, 0, 255, 255})
	eng := &fakeEngine{}
	labelsFor := func(img string, labels, templates []string, raw bool, topK int) []LabelScore {
		px, err := eng.Preprocess(t.Context(), mustDataURL(t, img))
		if err != nil {
			t.Fatal(err)
		}
		set, _ := (&fakeEngine{}).EmbedLabels(t.Context(), labels, templates)
		return set.Score(normalized(px), 100, raw, topK)
	}
	abc := []string{"a", "b", "c"}
	tests := []struct {
		name   string
		body   string
		single []LabelScore
		batch  [][]LabelScore
	}{
		{"single", `{"image": "` + red + `", "labels": ["a", "b", "c"]}`, labelsFor(red, abc, nil, false, 0), nil},
		{"content part", `{"model": "fashion-clip", "image": {"type": "image_url", "image_url": {"url": "` + red + `"}}, "labels": ["a", "b", "c"]}`,
			labelsFor(red, abc, nil, false, 0), nil},
		{"top_k", `{"image": "` + red + `", "labels": ["a", "b", "c"], "top_k": 2}`, labelsFor(red, abc, nil, false, 2), nil},
		{"top_k zero keeps all", `{"image": "` + red + `", "labels": ["a", "b", "c"], "top_k": 0}`, labelsFor(red, abc, nil, false, 0), nil},
		{"template string", `{"image": "` + red + `", "labels": ["a", "b", "c"], "template": "{} clothing"}`,
			labelsFor(red, abc, []string{"{} clothing"}, false, 0), nil},
		{"template list", `{"image": "` + red + `", "labels": ["a", "b", "c"], "template": ["{} clothing", "a {}"]}`,
			labelsFor(red, abc, []string{"{} clothing", "a {}"}, false, 0), nil},
		{"raw scores", `{"image": "` + red + `", "labels": ["a", "b", "c"], "raw_scores": true}`, labelsFor(red, abc, nil, true, 0), nil},
		{"batch", `{"images": ["` + red + `", {"type": "image_url", "image_url": {"url": "` + blue + `"}}], "labels": ["a", "b", "c"], "top_k": 1}`,
			nil, [][]LabelScore{labelsFor(red, abc, nil, false, 1), labelsFor(blue, abc, nil, false, 1)}},
	}
	_, ts := start(t, eng, Config{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := post(t, ts.URL+"/v1/classify", tc.body)
			if r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			var got struct {
				Labels []LabelScore `json:"labels"`
				Data   []struct {
					Index  int          `json:"index"`
					Labels []LabelScore `json:"labels"`
				} `json:"data"`
			}
			if err := json.Unmarshal(r.body, &got); err != nil {
				t.Fatal(err)
			}
			if tc.batch == nil {
				if got.Data != nil {
					t.Errorf("single image answered with data: %s", r.body)
				}
				sameScores(t, got.Labels, tc.single)
				return
			}
			if got.Labels != nil || len(got.Data) != len(tc.batch) {
				t.Fatalf("batch answer = %s", r.body)
			}
			for i, d := range got.Data {
				if d.Index != i {
					t.Errorf("data[%d].index = %d", i, d.Index)
				}
				sameScores(t, d.Labels, tc.batch[i])
			}
		})
	}
}

func sameScores(t *testing.T, got, want []LabelScore) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d labels %v, want %d %v", len(got), got, len(want), want)
	}
	for i := range got {
		if got[i].Label != want[i].Label || math.Abs(got[i].Score-want[i].Score) > 1e-12 {
			t.Fatalf("labels = %v, want %v", got, want)
		}
	}
}

func TestClassifyErrors(t *testing.T) {
	red := pngDataURL(t, 4, 3, color.RGBA{255, 0, 0, 255})
	tests := []struct {
		name      string
		body      string
		wantCode  string
		wantParam string
	}{
		{"malformed JSON", `{"image": `, "invalid_json", ""},
		{"no image", `{"labels": ["a"]}`, "missing_image", "image"},
		{"both forms", `{"image": "` + red + `", "images": ["` + red + `"], "labels": ["a"]}`, "invalid_value", "images"},
		{"empty images", `{"images": [], "labels": ["a"]}`, "invalid_value", "images"},
		{"images not an array", `{"images": "` + red + `", "labels": ["a"]}`, "invalid_value", "images"},
		{"text as image", `{"image": "a red dress", "labels": ["a"]}`, "invalid_image_url", "image"},
		{"text part as image", `{"images": [{"type": "text", "text": "x"}], "labels": ["a"]}`, "invalid_value", "images[0]"},
		{"bad base64", `{"image": "data:image/jpeg;base64,!!!", "labels": ["a"]}`, "invalid_base64", "image"},
		{"not an image", `{"images": ["` + red + `", "data:image/jpeg;base64,aGVsbG8="], "labels": ["a"]}`, "invalid_image", "images[1]"},
		{"remote disabled", `{"image": "https://example.com/a.jpg", "labels": ["a"]}`, "remote_images_disabled", "image"},
		{"no labels", `{"image": "` + red + `"}`, "missing_labels", "labels"},
		{"empty label", `{"image": "` + red + `", "labels": ["a", " "]}`, "invalid_value", "labels[1]"},
		{"labels not strings", `{"image": "` + red + `", "labels": [1]}`, "invalid_type", "labels"},
		{"template without {}", `{"image": "` + red + `", "labels": ["a"], "template": "a photo"}`, "invalid_value", "template"},
		{"template list bad", `{"image": "` + red + `", "labels": ["a"], "template": ["{}", "x"]}`, "invalid_value", "template"},
		{"template empty list", `{"image": "` + red + `", "labels": ["a"], "template": []}`, "invalid_value", "template"},
		{"template number", `{"image": "` + red + `", "labels": ["a"], "template": 3}`, "invalid_type", "template"},
		{"negative top_k", `{"image": "` + red + `", "labels": ["a"], "top_k": -1}`, "invalid_value", "top_k"},
	}
	_, ts := start(t, &fakeEngine{}, Config{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := post(t, ts.URL+"/v1/classify", tc.body)
			if r.status != 400 {
				t.Fatalf("status = %d, want 400: %s", r.status, r.body)
			}
			checkErrorShape(t, r, tc.wantCode)
			param, _ := r.json(t)["error"].(map[string]any)["param"].(string)
			if param != tc.wantParam {
				t.Errorf("param = %q, want %q", param, tc.wantParam)
			}
		})
	}
}

// TestClassifyLabelCache: the same labels are embedded once, even by
// concurrent requests; other templates are another key.
func TestClassifyLabelCache(t *testing.T) {
	red := pngDataURL(t, 4, 3, color.RGBA{255, 0, 0, 255})
	eng := &fakeEngine{}
	s, ts := start(t, eng, Config{LabelCacheSize: 2})
	body := func(labels, template string) string {
		return fmt.Sprintf(`{"image": "%s", "labels": %s, "template": %s}`, red, labels, template)
	}
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := post(t, ts.URL+"/v1/classify", body(`["a", "b"]`, `null`)); r.status != 200 {
				t.Errorf("status %d: %s", r.status, r.body)
			}
		}()
	}
	wg.Wait()
	steps := []struct {
		labels, template string
		wantCalls        int
	}{
		{`["a", "b"]`, `null`, 1},
		{`["a", "b"]`, `"{}"`, 2},
		{`["a,b"]`, `null`, 3}, // one label with a comma is not two labels
		{`["a", "b"]`, `"{}"`, 3},
		{`["a", "b"]`, `null`, 4}, // evicted by the two above (capacity 2)
	}
	for i, st := range steps {
		if r := post(t, ts.URL+"/v1/classify", body(st.labels, st.template)); r.status != 200 {
			t.Fatalf("step %d: status %d: %s", i, r.status, r.body)
		}
		eng.mu.Lock()
		calls := eng.labelCalls
		eng.mu.Unlock()
		if calls != st.wantCalls {
			t.Fatalf("step %d: EmbedLabels called %d times, want %d", i, calls, st.wantCalls)
		}
	}
	if n := s.labels.len(); n != 2 {
		t.Errorf("cache holds %d sets, want 2", n)
	}
	// 15 concurrent waiters, then steps 0 and 3.
	if hits := s.metrics.cacheHits.Load(); hits != 15+2 {
		t.Errorf("cache hits = %d, want 17", hits)
	}
}
