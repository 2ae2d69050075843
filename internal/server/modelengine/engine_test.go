package modelengine

import (
	"context"
	"testing"

	"github.com/fashionclip/fashionclip/pkg/fashionclip"
)

// TestEngineMatchesModel: the adapter adds nothing to the library's answers.
func TestEngineMatchesModel(t *testing.T) {
	eng := tinyEngine(t)
	m := eng.Model()
	ctx := context.Background()
	if cfg, ok := m.Config(); !ok || eng.Dim() != cfg.ProjectionDim {
		t.Errorf("Dim = %d, want the projection size %d", eng.Dim(), cfg.ProjectionDim)
	}
	if eng.LogitScale() != m.LogitScale() {
		t.Errorf("LogitScale = %v, want %v", eng.LogitScale(), m.LogitScale())
	}
	tok, err := m.Tokenizer()
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"", "a red dress", "A very long text " + string(make([]byte, 500))} {
		if got, want := eng.TokenCount(text), len(tok.Encode(text)); got != want || got < 2 || got > 77 {
			t.Errorf("TokenCount(%.20q) = %d, want %d (2..77)", text, got, want)
		}
	}
	img := testImages(t)[0]
	px, err := eng.Preprocess(img.data)
	if err != nil {
		t.Fatal(err)
	}
	want, err := m.EncodeImageFiles(ctx, []string{img.path})
	if err != nil || want[0].Err != nil {
		t.Fatal(err, want[0].Err)
	}
	got, err := eng.EncodeImages(ctx, [][]float32{px})
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(got[0], want[0].Embedding); d > 1e-6 {
		t.Errorf("image embedding differs from the library's by %g", d)
	}
	if _, err := eng.Preprocess([]byte("not an image")); err == nil {
		t.Error("Preprocess accepted bytes that are not an image")
	}

	names := []string{"dress", "boot", "bag"}
	set, err := eng.EmbedLabels(ctx, names, []string{"a photo of a {}", "{}"})
	if err != nil {
		t.Fatal(err)
	}
	lib, err := m.EmbedLabels(ctx, names, []string{"a photo of a {}", "{}"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		raw  bool
		topK int
	}{{false, 0}, {false, 2}, {true, 0}, {true, 1}}
	for _, tc := range tests {
		gotScores := set.Score(got[0], eng.LogitScale(), tc.raw, tc.topK)
		wantScores := lib.Score(got[0], m.LogitScale(), fashionclip.ScoreOptions{Raw: tc.raw, TopK: tc.topK})
		if len(gotScores) != len(wantScores) {
			t.Fatalf("raw=%v topK=%d: %d scores, want %d", tc.raw, tc.topK, len(gotScores), len(wantScores))
		}
		for i := range wantScores {
			if gotScores[i].Label != wantScores[i].Label || gotScores[i].Score != wantScores[i].Score {
				t.Errorf("raw=%v topK=%d: %+v, want %+v", tc.raw, tc.topK, gotScores, wantScores)
				break
			}
		}
	}
}
