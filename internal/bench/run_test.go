package bench

import (
	"context"
	"errors"
	"iter"
	"strings"
	"testing"

	"github.com/fashionclip/fashionclip/internal/synth"
	"github.com/fashionclip/fashionclip/pkg/fashionclip"
)

// fakeModel embeds each class name and each item as a unit axis: an item
// whose ID starts with a class name lands on that class's axis, so every
// prediction is known in advance. Items whose path is "bad" fail to load.
type fakeModel struct{ classes []string }

func (f fakeModel) axis(name string) []float32 {
	v := make([]float32, len(f.classes)+1)
	for i, c := range f.classes {
		if strings.HasPrefix(name, c) {
			v[i] = 1
			return v
		}
	}
	v[len(f.classes)] = 1
	return v
}

func (f fakeModel) EmbedLabels(_ context.Context, names, templates []string) (*fashionclip.Labels, error) {
	l := &fashionclip.Labels{Names: names, Templates: templates}
	for _, n := range names {
		l.Embeddings = append(l.Embeddings, f.axis(n))
	}
	return l, nil
}

func (f fakeModel) LogitScale() float32 { return 100 }

func (f fakeModel) EncodeItems(ctx context.Context, items iter.Seq[*Item], _ fashionclip.StreamOptions) iter.Seq2[fashionclip.Result[*Item], error] {
	return func(yield func(fashionclip.Result[*Item], error) bool) {
		for it := range items {
			r := fashionclip.Result[*Item]{Item: it, Embedding: f.axis(it.ID)}
			if it.Path == "bad" {
				r.Embedding, r.Err = nil, errors.New("corrupt")
			}
			if !yield(r, nil) {
				return
			}
		}
		if err := ctx.Err(); err != nil {
			yield(fashionclip.Result[*Item]{}, err)
		}
	}
}

func TestRunAccuracy(t *testing.T) {
	classes := []string{"boot", "dress", "shirt"}
	ds := &Dataset{Kind: "folder", Classes: classes, Items: []Item{
		{ID: "boot-1", Label: "boot"}, {ID: "dress-1", Label: "dress"}, {ID: "shirt-1", Label: "dress"},
		{ID: "boot-2", Label: "boot", Path: "bad"},
	}}
	var failed []string
	progress := 0
	acc, err := RunAccuracy(context.Background(), fakeModel{classes}, ds, AccuracyOptions{RunOptions: RunOptions{
		OnFailure: func(it *Item, err error) { failed = append(failed, it.ID) },
		Progress:  func(done, total int) { progress = done },
	}})
	if err != nil {
		t.Fatal(err)
	}
	if acc.Failed != 1 || len(failed) != 1 || failed[0] != "boot-2" || progress != 4 {
		t.Fatalf("failed %d %v, progress %d", acc.Failed, failed, progress)
	}
	if got := strings.Join(acc.Sets[0].Pred, ","); got != "boot,dress,shirt" {
		t.Fatalf("predictions %s", got)
	}
	rep, mt, err := acc.Report(ReportMeta{Dataset: "folder", Skipped: acc.Failed})
	if err != nil {
		t.Fatal(err)
	}
	if mt.N != 3 || !approx(rep.Accuracy, 2.0/3) || rep.Templates[0] != fashionclip.DefaultTemplate || rep.Skipped != 1 {
		t.Fatalf("report %+v", rep)
	}
	if len(acc.Predictions) != 3 || acc.Predictions[2].Predicted != "shirt" || acc.Predictions[2].Label != "dress" {
		t.Fatalf("predictions %+v", acc.Predictions)
	}
}

func TestRunAccuracySweep(t *testing.T) {
	classes := []string{"boot", "dress"}
	ds := &Dataset{Classes: classes, Items: []Item{{ID: "boot-1", Label: "boot"}, {ID: "dress-1", Label: "dress"}}}
	acc, err := RunAccuracy(context.Background(), fakeModel{classes}, ds, AccuracyOptions{Sweep: []string{"a {}", "b {}"}})
	if err != nil {
		t.Fatal(err)
	}
	sr, err := acc.SweepReport(ReportMeta{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range sr.Sweep {
		names = append(names, r.Template)
		if r.Accuracy != 1 {
			t.Errorf("%s: accuracy %v", r.Template, r.Accuracy)
		}
	}
	if got := strings.Join(names, "|"); got != "a {}|b {}|ensemble of all 2" {
		t.Fatalf("sweep rows %s", got)
	}
}

func TestRunAccuracyStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ds := &Dataset{Classes: []string{"a"}, Items: []Item{{ID: "a1", Label: "a"}}}
	if _, err := RunAccuracy(ctx, fakeModel{[]string{"a"}}, ds, AccuracyOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

type fakeSpeed struct{ fakeModel }

func (fakeSpeed) EncodeImages(_ context.Context, px [][]float32) ([][]float32, error) {
	return make([][]float32, len(px)), nil
}
func (fakeSpeed) EncodeText(context.Context, string) ([]float32, error) { return []float32{1}, nil }
func (fakeSpeed) PixelCount() int                                       { return 12 }

func TestRunSpeed(t *testing.T) {
	paths, err := synth.WriteJPEGs(context.Background(), t.TempDir(), 3, 64, 48)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := RunSpeed(context.Background(), fakeSpeed{fakeModel{FMNISTClasses}}, SpeedOptions{RunOptions: RunOptions{BatchSize: 2, Workers: 1}, Paths: paths})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Images != 3 || rep.Failed != 0 || rep.TextCount != len(FMNISTClasses) || len(rep.Stages) != 5 || rep.ModelOnlyImagesPerSecond <= 0 {
		t.Fatalf("report %+v", rep)
	}
	if decode := rep.Stages[1]; decode.Name != "decode" || decode.MSPerImage < 0 {
		t.Fatalf("stages %+v", rep.Stages)
	}
	if _, err := RunSpeed(context.Background(), fakeSpeed{}, SpeedOptions{}); err == nil {
		t.Fatal("no paths must be an error")
	}
}
