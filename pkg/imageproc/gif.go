package imageproc

import (
	"bytes"
	"compress/lzw"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The GIF reader decodes only the first frame, with Pillow 9.4's semantics
// (GifImagePlugin, LoadingStrategy.RGB_AFTER_FIRST): the frame is drawn on a
// canvas the size of the logical screen (grown if the frame sticks out),
// filled beforehand with the frame's transparent index when it has one and
// index 0 otherwise; the result is a palette image, and palette→RGB uses the
// palette colour even for the transparent index. image/gif cannot be used: it
// returns the frame without its canvas and blanks the transparent colour.

type gifFrame struct {
	canvasW, canvasH int
	x0, y0, w, h     int
	interlaced       bool
	palette          []byte // RGB triples; nil means grey levels
	transparent      int    // -1 when none
	litWidth         int
	data             []byte // offset of the LZW sub-blocks
}

// parseGIF reads the headers up to the first image descriptor.
func parseGIF(b []byte) (*gifFrame, error) {
	if len(b) < 13 {
		return nil, errTruncated
	}
	f := &gifFrame{transparent: -1}
	f.canvasW = int(binary.LittleEndian.Uint16(b[6:]))
	f.canvasH = int(binary.LittleEndian.Uint16(b[8:]))
	flags := b[10]
	p := 13
	var global []byte
	if flags&0x80 != 0 {
		n := 3 << (flags&7 + 1)
		if p+n > len(b) {
			return nil, errTruncated
		}
		global = b[p : p+n]
		p += n
	}
	extensions := 0
	for {
		if p >= len(b) {
			return nil, errors.New("no image in GIF file")
		}
		switch b[p] {
		case '!': // extension: label, then sub-blocks
			if extensions++; extensions > maxGIFExtensions {
				return nil, fmt.Errorf("%w: more than %d GIF extension blocks before the first image", ErrTooComplex, maxGIFExtensions)
			}
			if p+1 >= len(b) {
				return nil, errTruncated
			}
			label := b[p+1]
			p += 2
			first := true
			for {
				if p >= len(b) {
					return nil, errTruncated
				}
				n := int(b[p])
				if p+1+n > len(b) {
					return nil, errTruncated
				}
				blk := b[p+1 : p+1+n]
				p += 1 + n
				if n == 0 {
					break
				}
				// Graphic control: a set transparency flag names the index;
				// a later one overrides, an unset one does not clear.
				if first && label == 0xF9 && n >= 4 && blk[0]&1 != 0 {
					f.transparent = int(blk[3])
				}
				first = false
			}
		case ',': // image descriptor
			if p+10 > len(b) {
				return nil, errTruncated
			}
			d := b[p+1 : p+10]
			f.x0 = int(binary.LittleEndian.Uint16(d[0:]))
			f.y0 = int(binary.LittleEndian.Uint16(d[2:]))
			f.w = int(binary.LittleEndian.Uint16(d[4:]))
			f.h = int(binary.LittleEndian.Uint16(d[6:]))
			lflags := d[8]
			f.interlaced = lflags&0x40 != 0
			p += 10
			f.palette = global
			if lflags&0x80 != 0 {
				n := 3 << (lflags&7 + 1)
				if p+n > len(b) {
					return nil, errTruncated
				}
				f.palette = b[p : p+n]
				p += n
			}
			if p >= len(b) {
				return nil, errTruncated
			}
			f.litWidth = int(b[p])
			f.data = b[p+1:]
			f.canvasW = max(f.canvasW, f.x0+f.w)
			f.canvasH = max(f.canvasH, f.y0+f.h)
			return f, nil
		case ';':
			return nil, errors.New("no image in GIF file")
		default:
			p++ // Pillow skips stray bytes between blocks
		}
	}
}

// maxGIFExtensions bounds the extension blocks before the first image. A
// real file has a handful (graphic control, application, comment); tens of
// thousands only cost time.
const maxGIFExtensions = 4096

// subBlocks joins the data sub-blocks that follow the LZW code size. Like
// Pillow's decoder it uses no byte of a sub-block cut short by the end of
// the file, and it stops when ctx is done.
type subBlocks struct {
	ctx context.Context
	b   []byte
	cur []byte
}

func (s *subBlocks) Read(p []byte) (int, error) {
	for len(s.cur) == 0 {
		if err := s.ctx.Err(); err != nil {
			return 0, err
		}
		if len(s.b) == 0 {
			return 0, io.ErrUnexpectedEOF
		}
		n := int(s.b[0])
		if n == 0 {
			return 0, io.EOF
		}
		if 1+n > len(s.b) {
			s.b = nil
			return 0, io.ErrUnexpectedEOF
		}
		s.cur, s.b = s.b[1:1+n], s.b[1+n:]
	}
	n := copy(p, s.cur)
	s.cur = s.cur[n:]
	return n, nil
}

// decodeGIF returns the first frame as packed RGB.
func decodeGIF(ctx context.Context, f *gifFrame) (*RGB, error) {
	if f.litWidth < 2 || f.litWidth > 8 {
		return nil, fmt.Errorf("LZW code size %d out of range", f.litWidth)
	}
	idx := make([]byte, f.w*f.h)
	r := lzw.NewReader(&subBlocks{ctx: ctx, b: f.data}, lzw.LSB, f.litWidth)
	if _, err := io.ReadFull(r, idx); err != nil {
		r.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, errTruncated
		}
		return nil, err
	}
	r.Close()

	canvas := make([]byte, f.canvasW*f.canvasH)
	if f.transparent >= 0 {
		for i := range canvas {
			canvas[i] = byte(f.transparent)
		}
	}
	row := 0
	for _, pass := range gifPasses(f.interlaced) {
		for y := pass[0]; y < f.h; y += pass[1] {
			dst := canvas[(f.y0+y)*f.canvasW+f.x0:]
			copy(dst[:f.w], idx[row*f.w:(row+1)*f.w])
			row++
		}
	}

	// Pillow's palette starts as a grey ramp and the file's colours overwrite
	// its first entries, so indices past a short table come out grey.
	var lut [256 * 3]byte
	for i := 0; i < 256; i++ {
		lut[i*3], lut[i*3+1], lut[i*3+2] = byte(i), byte(i), byte(i)
	}
	copy(lut[:], f.palette)
	img := &RGB{W: f.canvasW, H: f.canvasH, Pix: makePix(3 * len(canvas))}
	for i, c := range canvas {
		copy(img.Pix[i*3:i*3+3], lut[int(c)*3:int(c)*3+3])
	}
	return img, nil
}

// gifPasses lists (first row, step) of each pass in file order.
func gifPasses(interlaced bool) [][2]int {
	if !interlaced {
		return [][2]int{{0, 1}}
	}
	return [][2]int{{0, 8}, {4, 8}, {2, 4}, {1, 2}}
}

var gifMagic = [][]byte{[]byte("GIF87a"), []byte("GIF89a")}

func isGIF(b []byte) bool {
	return bytes.HasPrefix(b, gifMagic[0]) || bytes.HasPrefix(b, gifMagic[1])
}
