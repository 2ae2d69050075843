// Command gen writes the sample product images of internal/samples into
// testdata/images. Run: go run ./testdata/gen
package main

import (
	"log"
	"os"
	"path/filepath"

	"github.com/fashionclip/fashionclip/internal/samples"
)

func main() {
	imgs, err := samples.Images()
	if err != nil {
		log.Fatal(err)
	}
	for _, img := range imgs {
		if err := os.WriteFile(filepath.Join("testdata", "images", img.Name), img.Data, 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
