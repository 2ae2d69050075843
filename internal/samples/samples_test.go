package samples

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/fashionclip/fashionclip/internal/testutil"
)

// The committed testdata/images are what Images draws (go run ./testdata/gen).
func TestImagesAreTheCommittedSamples(t *testing.T) {
	imgs, err := Images()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(testutil.ModuleRoot(t), "testdata", "images")
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != len(imgs) || len(Labels()) != len(imgs) {
		t.Fatalf("%d files in %s, %d images, %d labels", len(ents), dir, len(imgs), len(Labels()))
	}
	for i, img := range imgs {
		want, err := os.ReadFile(filepath.Join(dir, img.Name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(img.Data, want) {
			t.Errorf("%s differs from the committed file: run go run ./testdata/gen", img.Name)
		}
		if img.Label != Labels()[i] || slices.Index(Labels(), img.Label) != i {
			t.Errorf("%s: label %q", img.Name, img.Label)
		}
	}
}
