package bench

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Plot geometry, in pixels. basicfont's face is 7×13.
const (
	glyphW      = 7
	glyphH      = 13
	maxLabelLen = 28 // longer class names are shortened with "..."
	pad         = 8
)

// Heat-map colours: from near-white to dark blue, a sequential scale that
// stays readable in grey print.
var (
	lowColor  = color.RGBA{247, 251, 255, 255}
	highColor = color.RGBA{8, 48, 107, 255}
	inkColor  = color.RGBA{0, 0, 0, 255}
	gridColor = color.RGBA{200, 200, 200, 255}
)

// WriteConfusionPNGFile draws the confusion matrix into a PNG file.
func WriteConfusionPNGFile(path string, c Confusion, title string) error {
	return writeFileAtomic(path, func(w io.Writer) error { return WriteConfusionPNG(w, c, title) })
}

// WriteConfusionPNG draws c as a row-normalised heat map: each cell's shade
// is the share of the row's true items predicted as the column, so classes
// of any size compare at a glance. Rows are truths (names on the left),
// columns predictions (names on top); cells print their share when they
// are large enough, and a colour bar gives the scale.
func WriteConfusionPNG(w io.Writer, c Confusion, title string) error {
	k := len(c.Labels)
	if k == 0 || len(c.Matrix) != k {
		return fmt.Errorf("confusion matrix is empty or not square")
	}
	cell := min(max(600/k, 12), 48)
	longest := 0
	names := make([]string, k)
	for i, l := range c.Labels {
		names[i] = shorten(l, maxLabelLen)
		longest = max(longest, len([]rune(names[i])))
	}
	labelSpace := longest*glyphW + pad
	left := pad + glyphH + pad + labelSpace // axis title, then names
	top := pad + glyphH + pad + glyphH + pad + labelSpace
	gridW := k * cell
	barX := left + gridW + 2*pad
	width := max(barX+12+pad+4*glyphW+pad, left+len(title)*glyphW+pad)
	height := top + gridW + pad

	img := image.NewRGBA(image.Rect(0, 0, width, height))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	text(img, pad, pad, title, inkColor)
	text(img, left+gridW/2-len("predicted")*glyphW/2, pad+glyphH+pad, "predicted", inkColor)
	verticalText(img, pad, top+gridW/2+len("truth")*glyphW/2, "truth", inkColor)

	for i := range k {
		y := top + i*cell + (cell-glyphH)/2
		text(img, left-pad/2-len([]rune(names[i]))*glyphW, y, names[i], inkColor)
		x := left + i*cell + (cell-glyphH)/2
		verticalText(img, x, top-pad/2, names[i], inkColor)
	}
	for i, row := range c.Matrix {
		if len(row) != k {
			return fmt.Errorf("confusion matrix row %d has %d cells, want %d", i, len(row), k)
		}
		sum := 0
		for _, v := range row {
			sum += v
		}
		for j, v := range row {
			share := 0.0
			if sum > 0 {
				share = float64(v) / float64(sum)
			}
			shade := mix(lowColor, highColor, share)
			r := image.Rect(left+j*cell, top+i*cell, left+(j+1)*cell, top+(i+1)*cell)
			draw.Draw(img, r, &image.Uniform{shade}, image.Point{}, draw.Src)
			if cell >= 4*glyphW+4 && v > 0 {
				ink := inkColor
				if share > 0.5 {
					ink = color.RGBA{255, 255, 255, 255}
				}
				s := fmt.Sprintf("%.2f", share)
				text(img, r.Min.X+(cell-len(s)*glyphW)/2, r.Min.Y+(cell-glyphH)/2, s, ink)
			}
		}
	}
	outline(img, image.Rect(left, top, left+gridW, top+gridW), gridColor)

	// Colour bar: 1 at the top, 0 at the bottom.
	for y := 0; y < gridW; y++ {
		shade := mix(lowColor, highColor, 1-float64(y)/float64(max(gridW-1, 1)))
		draw.Draw(img, image.Rect(barX, top+y, barX+12, top+y+1), &image.Uniform{shade}, image.Point{}, draw.Src)
	}
	outline(img, image.Rect(barX, top, barX+12, top+gridW), gridColor)
	text(img, barX+12+4, top, "1.0", inkColor)
	text(img, barX+12+4, top+gridW-glyphH, "0.0", inkColor)
	return png.Encode(w, img)
}

func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-3]) + "..."
}

// mix interpolates between two colours.
func mix(a, b color.RGBA, t float64) color.RGBA {
	l := func(x, y uint8) uint8 { return uint8(float64(x) + (float64(y)-float64(x))*t + 0.5) }
	return color.RGBA{l(a.R, b.R), l(a.G, b.G), l(a.B, b.B), 255}
}

// text draws s with its top-left corner at (x, y).
func text(dst draw.Image, x, y int, s string, c color.Color) {
	d := font.Drawer{Dst: dst, Src: &image.Uniform{c}, Face: basicfont.Face7x13,
		Dot: fixed.P(x, y+basicfont.Face7x13.Ascent)}
	d.DrawString(s)
}

// verticalText draws s reading bottom to top, its baseline side at x and
// its first letter ending at y: column names stay narrow that way.
func verticalText(dst *image.RGBA, x, y int, s string, c color.Color) {
	w := len([]rune(s)) * glyphW
	tmp := image.NewAlpha(image.Rect(0, 0, w, glyphH))
	d := font.Drawer{Dst: tmp, Src: image.Opaque, Face: basicfont.Face7x13, Dot: fixed.P(0, basicfont.Face7x13.Ascent)}
	d.DrawString(s)
	src := &image.Uniform{c}
	for ty := 0; ty < glyphH; ty++ {
		for tx := 0; tx < w; tx++ {
			a := tmp.AlphaAt(tx, ty)
			if a.A == 0 {
				continue
			}
			// Rotate 90° anticlockwise: the text's x runs up the image.
			p := image.Pt(x+ty, y-1-tx)
			draw.DrawMask(dst, image.Rectangle{Min: p, Max: p.Add(image.Pt(1, 1))}, src, image.Point{}, &image.Uniform{a}, image.Point{}, draw.Over)
		}
	}
}

func outline(dst *image.RGBA, r image.Rectangle, c color.RGBA) {
	for x := r.Min.X; x < r.Max.X; x++ {
		dst.SetRGBA(x, r.Min.Y, c)
		dst.SetRGBA(x, r.Max.Y-1, c)
	}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		dst.SetRGBA(r.Min.X, y, c)
		dst.SetRGBA(r.Max.X-1, y, c)
	}
}
