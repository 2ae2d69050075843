package fashionclip_test

import (
	"context"
	"fmt"
	"log"

	"github.com/fashionclip/fashionclip/pkg/fashionclip"
)

// Zero-shot classification of image files with prompt ensembling.
func Example() {
	ctx := context.Background()
	m, err := fashionclip.Load("path/to/fashion-clip/onnx", fashionclip.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	labels, err := m.EmbedLabels(ctx, []string{"sneaker", "boot", "sandal"},
		[]string{"a photo of a {}", "a product photo of a {}"})
	if err != nil {
		log.Fatal(err)
	}
	results, err := m.EncodeImageFiles(ctx, []string{"shoe.jpg"})
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range results {
		if r.Err != nil {
			fmt.Println(r.Path, "failed:", r.Err)
			continue
		}
		best := labels.Score(r.Embedding, m.LogitScale(), fashionclip.ScoreOptions{TopK: 1})[0]
		fmt.Printf("%s: %s (%.2f)\n", r.Path, best.Label, best.Score)
	}
}

// Text embeddings for search: a text-only program never loads the vision tower.
func ExampleModel_EncodeTexts() {
	m, err := fashionclip.Load("path/to/fashion-clip/onnx", fashionclip.Options{Threads: 2})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	vecs, err := m.EncodeTexts(context.Background(), []string{"white sneaker", "black boot"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(vecs), fashionclip.Dot(vecs[0], vecs[1]) < 1)
}
