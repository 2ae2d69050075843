package fashionclip

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/fashionclip/fashionclip/internal/vecmath"
)

// DefaultTemplate is the prompt used when none is given: CLIP was trained on
// captions, and "a photo of a {}" is the prompt the CLIP and FashionCLIP
// papers evaluate zero-shot classification with.
const DefaultTemplate = "a photo of a {}"

// Labels are class names with their (prompt-ensembled) text embeddings.
type Labels struct {
	Names      []string
	Templates  []string
	Embeddings [][]float32
}

// ValidateTemplate rejects a template without its "{}" placeholder.
func ValidateTemplate(t string) error {
	if !strings.Contains(t, "{}") {
		return fmt.Errorf("template %q has no {} placeholder for the label", t)
	}
	return nil
}

// Prompt fills a template's first "{}" with label.
func Prompt(template, label string) string {
	return strings.Replace(template, "{}", label, 1)
}

// EmbedLabels embeds every label under every template in one batch run and
// averages per label (prompt ensembling: the mean of the normalised text
// embeddings, renormalised, as in the CLIP paper).
func (m *Model) EmbedLabels(ctx context.Context, names, templates []string) (*Labels, error) {
	if len(templates) == 0 {
		templates = []string{DefaultTemplate}
	}
	for _, t := range templates {
		if err := ValidateTemplate(t); err != nil {
			return nil, err
		}
	}
	prompts := make([]string, 0, len(names)*len(templates))
	for _, n := range names {
		for _, t := range templates {
			prompts = append(prompts, Prompt(t, n))
		}
	}
	embs, err := m.EncodeTexts(ctx, prompts)
	if err != nil {
		return nil, err
	}
	l := &Labels{Names: names, Templates: templates, Embeddings: make([][]float32, len(names))}
	for i := range names {
		l.Embeddings[i] = MeanNormalized(embs[i*len(templates) : (i+1)*len(templates)])
	}
	return l, nil
}

// MeanNormalized averages vectors and renormalises the mean.
func MeanNormalized(vs [][]float32) []float32 { return vecmath.MeanNormalized(vs) }

// Dot is the dot product (the cosine of two normalised vectors), summed in float64.
func Dot(a, b []float32) float64 { return vecmath.Dot(a, b) }

// Cosines of one image embedding against every label.
func (l *Labels) Cosines(image []float32) []float64 {
	out := make([]float64, len(l.Embeddings))
	for i, e := range l.Embeddings {
		out[i] = Dot(image, e)
	}
	return out
}

// Softmax of scale × cosines, computed stably.
func Softmax(cosines []float64, scale float64) []float64 { return vecmath.Softmax(cosines, scale) }

// LabelScore is one label's score for one image.
type LabelScore struct {
	Label string  `json:"label"`
	Score float64 `json:"score"`
}

// ScoreOptions choose what Score keeps.
type ScoreOptions struct {
	// Raw reports cosines instead of softmax probabilities.
	Raw bool
	// TopK keeps the best K (0 = all).
	TopK int
	// MinScore drops labels scoring below it (applied to the reported score).
	MinScore float64
	// HasMinScore enables MinScore (0 is a meaningful threshold for cosines).
	HasMinScore bool
}

// Score ranks labels for one image embedding: softmax over the labels of
// logitScale × cosine (or raw cosines), sorted by score, ties in label order.
func (l *Labels) Score(image []float32, logitScale float32, o ScoreOptions) []LabelScore {
	cos := l.Cosines(image)
	scores := cos
	if !o.Raw {
		scores = Softmax(cos, float64(logitScale))
	}
	out := make([]LabelScore, len(scores))
	for i, s := range scores {
		out[i] = LabelScore{Label: l.Names[i], Score: s}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Score > out[b].Score })
	if o.HasMinScore {
		kept := out[:0]
		for _, s := range out {
			if s.Score >= o.MinScore {
				kept = append(kept, s)
			}
		}
		out = kept
	}
	if o.TopK > 0 && len(out) > o.TopK {
		out = out[:o.TopK]
	}
	return out
}

// ClassifierOptions choose a classifier's prompts and what it reports.
type ClassifierOptions struct {
	// Templates are prompt templates holding "{}" (several are averaged;
	// default DefaultTemplate).
	Templates []string
	ScoreOptions
}

// Classifier scores image embeddings against a fixed set of labels: the
// labels' (prompt-ensembled) embeddings, the model's logit scale and the
// scoring options, so callers never pass the scale by hand.
type Classifier struct {
	labels *Labels
	scale  float32
	opts   ScoreOptions
}

// NewClassifier embeds the labels under the templates.
func (m *Model) NewClassifier(ctx context.Context, labels []string, opts ClassifierOptions) (*Classifier, error) {
	l, err := m.EmbedLabels(ctx, labels, opts.Templates)
	if err != nil {
		return nil, err
	}
	return NewClassifier(l, m.LogitScale(), opts.ScoreOptions), nil
}

// NewClassifier makes a classifier of labels embedded already.
func NewClassifier(labels *Labels, logitScale float32, opts ScoreOptions) *Classifier {
	return &Classifier{labels: labels, scale: logitScale, opts: opts}
}

// Labels are the classifier's embedded labels.
func (c *Classifier) Labels() *Labels { return c.labels }

// Classify ranks the labels for one image embedding (see Labels.Score).
func (c *Classifier) Classify(image []float32) []LabelScore {
	return c.labels.Score(image, c.scale, c.opts)
}
