// Package samples draws the project's sample product images: flat
// silhouettes of garments on a light background (the files of
// testdata/images are these, written by testdata/gen). They ship in the
// binary as code, so a command that needs a few images to check a model
// works from any folder. Pure Go.
package samples

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
)

// Image is one encoded sample image.
type Image struct {
	Name  string // file name, e.g. "red-dress.jpg"
	Label string // what it shows, e.g. "dress"
	Data  []byte // JPEG or PNG bytes, as the name says
}

type shape func(x, y float64) bool // coordinates in [0,1]²

func dress(x, y float64) bool {
	if y < 0.15 || y > 0.92 {
		return false
	}
	half := 0.12 + 0.28*(y-0.15)/0.77 // flares towards the hem
	if y < 0.35 {
		half = 0.14
	}
	return math.Abs(x-0.5) < half
}

func tshirt(x, y float64) bool {
	body := y > 0.25 && y < 0.9 && math.Abs(x-0.5) < 0.22
	sleeves := y > 0.25 && y < 0.45 && math.Abs(x-0.5) < 0.4
	neck := y < 0.3 && math.Hypot(x-0.5, y-0.22) < 0.08
	return (body || sleeves) && !neck
}

func boot(x, y float64) bool {
	shaft := x > 0.3 && x < 0.55 && y > 0.15 && y < 0.8
	foot := x > 0.3 && x < 0.8 && y > 0.6 && y < 0.8
	return shaft || foot
}

func sneaker(x, y float64) bool {
	upper := y > 0.45 && y < 0.68 && x > 0.15 && x < 0.85 && (y > 0.45+0.2*(0.85-x))
	sole := y >= 0.68 && y < 0.76 && x > 0.12 && x < 0.88
	return upper || sole
}

func bag(x, y float64) bool {
	body := x > 0.2 && x < 0.8 && y > 0.4 && y < 0.85
	r := math.Hypot(x-0.5, y-0.4)
	handle := y < 0.4 && r > 0.17 && r < 0.21
	return body || handle
}

func jeans(x, y float64) bool {
	waist := y > 0.1 && y < 0.3 && math.Abs(x-0.5) < 0.22
	legs := y >= 0.3 && y < 0.92 && math.Abs(x-0.5) < 0.22 && math.Abs(x-0.5) > 0.02
	return waist || legs
}

type sample struct {
	name, label string
	w, h        int
	draw        shape
	fg          color.RGBA
	striped     bool
	png         bool
}

var all = []sample{
	{"red-dress.jpg", "dress", 480, 640, dress, color.RGBA{200, 30, 40, 255}, false, false},
	{"striped-tshirt.jpg", "t-shirt", 600, 600, tshirt, color.RGBA{20, 40, 120, 255}, true, false},
	{"black-boot.jpg", "boot", 640, 480, boot, color.RGBA{25, 25, 25, 255}, false, false},
	{"white-sneaker.png", "sneaker", 512, 384, sneaker, color.RGBA{245, 245, 245, 255}, false, true},
	{"brown-bag.jpg", "bag", 500, 500, bag, color.RGBA{120, 70, 30, 255}, false, false},
	{"blue-jeans.png", "jeans", 360, 540, jeans, color.RGBA{40, 70, 140, 255}, false, true},
}

// Images draws and encodes the sample images (JPEG quality 85, or PNG).
func Images() ([]Image, error) {
	out := make([]Image, 0, len(all))
	for _, s := range all {
		var buf bytes.Buffer
		var err error
		if s.png {
			err = png.Encode(&buf, s.render())
		} else {
			err = jpeg.Encode(&buf, s.render(), &jpeg.Options{Quality: 85})
		}
		if err != nil {
			return nil, err
		}
		out = append(out, Image{Name: s.name, Label: s.label, Data: buf.Bytes()})
	}
	return out, nil
}

// Labels lists what the images show, in their order.
func Labels() []string {
	out := make([]string, len(all))
	for i, s := range all {
		out[i] = s.label
	}
	return out
}

func (s sample) render() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, s.w, s.h))
	for py := 0; py < s.h; py++ {
		for px := 0; px < s.w; px++ {
			x, y := float64(px)/float64(s.w), float64(py)/float64(s.h)
			c := color.RGBA{236, 232, 226, 255}
			if s.draw(x, y) {
				c = s.fg
				if s.striped && int(y*30)%2 == 0 {
					c = color.RGBA{240, 240, 240, 255}
				}
			}
			img.SetRGBA(px, py, c)
		}
	}
	return img
}
