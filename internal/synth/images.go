package synth

import (
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sync"
)

// JPEGWidth  and JPEGHeight are the size of the images
// WriteJPEGs makes: a typical product photo.
const (
	JPEGWidth  = 1200
	JPEGHeight = 1600
)

// WriteJPEGs writes n deterministic w×h JPEGs (quality 90) into
// dir, in parallel, and returns their paths in order. The pictures are
// smooth colour fields that differ per image: realistic work for a JPEG
// decoder without shipping photos.
func WriteJPEGs(ctx context.Context, dir string, n, w, h int) ([]string, error) {
	paths := make([]string, n)
	for i := range paths {
		paths[i] = filepath.Join(dir, fmt.Sprintf("synthetic-%05d.jpg", i))
	}
	jobs := make(chan int)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), max(n, 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				errs[i] = writeJPEG(paths[i], i, w, h)
			}
		}()
	}
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return paths, nil
}

// Image is image i of the synthetic set: sums of slow sines whose
// phases depend on i.
func Image(i, w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	fi := float64(i)
	sx, cx := make([]float64, w), make([]float64, w)
	for x := range w {
		sx[x] = math.Sin(float64(x)/97 + fi*0.9)
		cx[x] = math.Cos(float64(x)/211 + fi*0.3)
	}
	for y := range h {
		sy := math.Sin(float64(y)/131 + fi*0.7)
		cy := math.Cos(float64(y)/173 + fi*1.3)
		row := img.Pix[y*img.Stride:]
		for x := range w {
			row[4*x+0] = uint8(127.5 + 60*sx[x] + 60*sy)
			row[4*x+1] = uint8(127.5 + 60*cx[x] + 60*cy)
			row[4*x+2] = uint8(127.5 + 60*sx[x]*cy + 60*cx[x]*sy)
			row[4*x+3] = 255
		}
	}
	return img
}

func writeJPEG(path string, i, w, h int) error {
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := jpeg.Encode(fh, Image(i, w, h), &jpeg.Options{Quality: 90}); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}
