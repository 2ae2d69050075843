package imageproc

// Generators of issue 13's hostile images. They use only what the package's
// tests have always had, so BenchmarkHostile also runs on older versions
// for before/after figures.

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"io"
	"testing"
)

func zlibBytes(b []byte) []byte {
	var out bytes.Buffer
	w, _ := zlib.NewWriterLevel(&out, zlib.BestCompression)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

// pngTextBomb is a small valid PNG followed, after IHDR, by text chunks of
// typ ("zTXt" or "iTXt") of total size about total bytes, each inflating to
// unpacked bytes.
func pngTextBomb(t testing.TB, typ string, total, unpacked int) []byte {
	base := encodePNG(t, image.NewGray(image.Rect(0, 0, 8, 8)))
	z := zlibBytes(bytes.Repeat([]byte("fashion "), unpacked/8))
	var body []byte
	if typ == "zTXt" {
		body = append([]byte("Comment\x00\x00"), z...)
	} else {
		body = append([]byte("Comment\x00\x01\x00en\x00\x00"), z...)
	}
	chunk := pngChunk(typ, body)
	var chunks bytes.Buffer
	for chunks.Len() < total {
		chunks.Write(chunk)
	}
	return insertChunk(base, chunks.Bytes())
}

// progressiveBomb is a progressive JPEG whose SOF claims w×h while its scans
// hold a small image's data, with its last scan repeated extra times:
// libjpeg runs every scan over every coefficient block of the claimed size.
func progressiveBomb(t testing.TB, w, h uint16, extra int) []byte {
	small, err := encodeJPEG(smoothRGB(64, 64), 64, 64, 3, jpegOptions{quality: 75, hs: 1, vs: 1, progressive: true})
	if err != nil {
		t.Fatal(err)
	}
	return repeatLastScan(resizeSOF(small, w, h), extra)
}

// resizeSOF rewrites the dimensions in a JPEG's SOF marker.
func resizeSOF(data []byte, w, h uint16) []byte {
	out := append([]byte(nil), data...)
	for i := 2; i+9 < len(out); {
		m := out[i+1]
		if m >= 0xC0 && m <= 0xC2 {
			binary.BigEndian.PutUint16(out[i+5:], h)
			binary.BigEndian.PutUint16(out[i+7:], w)
			return out
		}
		i += 2 + int(binary.BigEndian.Uint16(out[i+2:]))
	}
	return out
}

// repeatLastScan copies the last scan (from its SOS to EOI) n more times.
func repeatLastScan(data []byte, n int) []byte {
	last := bytes.LastIndex(data, []byte{0xFF, 0xDA})
	end := len(data) - 2 // EOI
	if last < 0 || end <= last {
		return data
	}
	scan := data[last:end]
	out := append([]byte(nil), data[:end]...)
	for i := 0; i < n; i++ {
		out = append(out, scan...)
	}
	return append(out, 0xFF, 0xD9)
}

// gifWithExtensions is a 2×2 GIF preceded by n comment extensions.
func gifWithExtensions(n int) []byte {
	g := craftGIF(2, 2, []byte{1, 2, 3, 4, 5, 6}, -1, 0, 0, 2, 2, make([]byte, 4))
	at := 13 + 6 // header, screen descriptor, 2-entry palette
	ext := []byte{0x21, 0xFE, 1, 'x', 0}
	return append(append(append([]byte(nil), g[:at]...), bytes.Repeat(ext, n)...), g[at:]...)
}

// jpegHeaderOnly is a JPEG whose data stops right after its SOS header.
func jpegHeaderOnly(t testing.TB) []byte {
	j := smallJPEG(t)
	sos := bytes.Index(j, []byte{0xFF, 0xDA})
	return j[:sos+2+int(binary.BigEndian.Uint16(j[sos+2:]))]
}

// writePNG16 streams a w×h 16-bit RGBA PNG of a smooth pattern to out
// without holding the image: for the peak-memory measurement.
func writePNG16(out io.Writer, w, h int) error {
	chunk := func(typ string, body []byte) error {
		var hdr [8]byte
		binary.BigEndian.PutUint32(hdr[:], uint32(len(body)))
		copy(hdr[4:], typ)
		crc := crc32.NewIEEE()
		crc.Write(hdr[4:])
		crc.Write(body)
		var sum [4]byte
		binary.BigEndian.PutUint32(sum[:], crc.Sum32())
		for _, b := range [][]byte{hdr[:], body, sum[:]} {
			if _, err := out.Write(b); err != nil {
				return err
			}
		}
		return nil
	}
	if _, err := out.Write([]byte("\x89PNG\r\n\x1a\n")); err != nil {
		return err
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 16, 6
	if err := chunk("IHDR", ihdr); err != nil {
		return err
	}
	var idat bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&idat, zlib.BestSpeed)
	// A horizontal gradient in the first row, then rows filtered "Up" with
	// zero differences: legal, tiny on disk, 8 bytes a pixel decoded.
	row := make([]byte, 1+8*w)
	for x := 0; x < w; x++ {
		c := color.NRGBA64{R: uint16(x * 7), G: uint16(x * 3), B: uint16(x * 5), A: 0xFFFF}
		binary.BigEndian.PutUint16(row[1+8*x:], c.R)
		binary.BigEndian.PutUint16(row[3+8*x:], c.G)
		binary.BigEndian.PutUint16(row[5+8*x:], c.B)
		binary.BigEndian.PutUint16(row[7+8*x:], c.A)
	}
	up := make([]byte, 1+8*w)
	up[0] = 2
	for y := 0; y < h; y++ {
		if y == 1 {
			row = up
		}
		zw.Write(row)
		if idat.Len() > 1<<20 {
			if err := chunk("IDAT", idat.Next(idat.Len())); err != nil {
				return err
			}
		}
	}
	zw.Close()
	if err := chunk("IDAT", idat.Bytes()); err != nil {
		return err
	}
	return chunk("IEND", nil)
}

// hostileCases are the hostile images of issue 13 that a test can hold in
// memory (the near-limit ones are in TestPeakRSS).
func hostileCases(t testing.TB) map[string][]byte {
	return map[string][]byte{
		"png zTXt 16 MB":               pngTextBomb(t, "zTXt", 16<<20, 1<<20-4096),
		"png iTXt 16 MB":               pngTextBomb(t, "iTXt", 16<<20, 1<<20-4096),
		"png zTXt chunk over 1 MiB":    pngTextBomb(t, "zTXt", 1, 2<<20),
		"jpeg 600 repeated scans":      progressiveBomb(t, 2000, 2000, 600),
		"gif 100000 extension blocks":  gifWithExtensions(100000),
		"jpeg data stops after header": jpegHeaderOnly(t),
		"jpeg size bomb":               resizeSOF(smallJPEG(t), 60000, 60000),
		"png size bomb":                pngHeaderOnly(100000, 100000),
		"gif size bomb":                craftGIF(65535, 65535, []byte{1, 2, 3}, -1, 0, 0, 1, 1, []byte{0}),
	}
}

// BenchmarkHostile times each hostile case through Preprocessor.Bytes.
func BenchmarkHostile(b *testing.B) {
	p := New(DefaultConfig(), Options{})
	for name, data := range hostileCases(b) {
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				p.Bytes(data)
			}
		})
	}
}
