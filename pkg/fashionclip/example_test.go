package fashionclip_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/fashionclip/fashionclip/internal/synth"
	"github.com/fashionclip/fashionclip/pkg/fashionclip"
)

// modelDir is a synthetic tiny model made for the examples; a real program
// passes a folder or "patrickjohncyh/fashion-clip".
var modelDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "fashionclip-example-")
	if err != nil {
		log.Fatal(err)
	}
	if err := synth.Write(dir, "combined", synth.Tiny()); err != nil {
		log.Fatal(err)
	}
	modelDir = dir
	// Graphs cut from the model go to a scratch cache, not the user's.
	os.Setenv("FASHIONCLIP_CACHE", filepath.Join(dir, "cache"))
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Zero-shot classification of image files, streamed in input order with a
// bounded number in flight; a file that cannot be read is reported and the
// others go on.
func Example() {
	ctx := context.Background()
	rt, err := fashionclip.NewRuntime(fashionclip.RuntimeOptions{}) // finds ONNX Runtime
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close()
	m, err := rt.Load(ctx, modelDir, fashionclip.Options{})
	if err != nil {
		log.Fatal(err)
	}
	c, err := m.NewClassifier(ctx, []string{"sneaker", "boot", "dress"},
		fashionclip.ClassifierOptions{ScoreOptions: fashionclip.ScoreOptions{TopK: 1}})
	if err != nil {
		log.Fatal(err)
	}
	images := filepath.Join("..", "..", "testdata", "images")
	files := []string{filepath.Join(images, "black-boot.jpg"), filepath.Join(images, "missing.jpg"),
		filepath.Join(images, "red-dress.jpg")}
	for r, err := range m.EncodeFiles(ctx, slices.Values(files)) {
		if err != nil {
			log.Fatal(err) // the encoder itself failed
		}
		if r.Err != nil {
			fmt.Println(filepath.Base(r.Item), "failed")
			continue
		}
		best := c.Classify(r.Embedding)[0]
		fmt.Printf("%s: %s\n", filepath.Base(r.Item), best.Label)
	}
	// (The synthetic model's random weights make its labels meaningless.)

	// Output:
	// black-boot.jpg: dress
	// missing.jpg failed
	// red-dress.jpg: dress
}

// Text embeddings for search: a text-only program never loads the vision tower.
func ExampleModel_EncodeTexts() {
	ctx := context.Background()
	rt, err := fashionclip.NewRuntime(fashionclip.RuntimeOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close()
	m, err := rt.Load(ctx, modelDir, fashionclip.Options{Threads: 2})
	if err != nil {
		log.Fatal(err)
	}
	vecs, err := m.EncodeTexts(ctx, []string{"white sneaker", "black boot"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(vecs), "vectors of", len(vecs[0]), "values; cosine below 1:", fashionclip.Dot(vecs[0], vecs[1]) < 1)
	// Output: 2 vectors of 32 values; cosine below 1: true
}

// An int8 copy of an fp32 model, kept as a folder, and how close it stays.
// (Options{Variant: fashionclip.Int8} on the fp32 folder derives the same
// towers into the cache instead.)
func ExampleModel_WriteInt8Folder() {
	ctx := context.Background()
	rt, err := fashionclip.NewRuntime(fashionclip.RuntimeOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close()
	fp32, err := rt.Load(ctx, modelDir, fashionclip.Options{})
	if err != nil {
		log.Fatal(err)
	}
	out, err := os.MkdirTemp("", "fashionclip-int8-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(out)
	if _, err := fp32.WriteInt8Folder(out, false); err != nil {
		log.Fatal(err)
	}
	int8Model, err := rt.Load(ctx, out, fashionclip.Options{Variant: fashionclip.Int8})
	if err != nil {
		log.Fatal(err)
	}
	images := filepath.Join("..", "..", "testdata", "images")
	f, err := fashionclip.Compare(ctx, fp32, int8Model, fashionclip.CompareInputs{
		Texts:  []string{"white sneaker", "black boot"},
		Images: []fashionclip.ImageInput{{Name: "boot", Path: filepath.Join(images, "black-boot.jpg")}},
		Labels: []string{"sneaker", "boot", "dress"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("cosine above 0.999:", f.Texts.Min > 0.999 && f.Images.Min > 0.999, "- top-1 agrees:", f.Top1Agree, "of", f.Top1Of)
	// Output: cosine above 0.999: true - top-1 agrees: 1 of 1
}
