package imageproc

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"image"
	"image/png"
	"strings"
	"testing"
)

// tiffBlock builds a minimal TIFF structure whose IFD0 holds an unrelated
// tag and then Orientation with the given type and count.
func tiffBlock(bo binary.ByteOrder, orientation int, typ uint16, count uint32) []byte {
	var b bytes.Buffer
	if bo == binary.LittleEndian {
		b.WriteString("II*\x00")
	} else {
		b.WriteString("MM\x00*")
	}
	binary.Write(&b, bo, uint32(8))
	binary.Write(&b, bo, uint16(2))
	// ImageDescription pointing nowhere useful: must be skipped.
	binary.Write(&b, bo, []uint16{0x010E, 2})
	binary.Write(&b, bo, []uint32{4, 0})
	binary.Write(&b, bo, []uint16{tagOrientation, typ})
	binary.Write(&b, bo, count)
	var val [4]byte
	switch typ {
	case 1:
		val[0] = byte(orientation)
	case 3:
		bo.PutUint16(val[:], uint16(orientation))
	case 4:
		bo.PutUint32(val[:], uint32(orientation))
	}
	b.Write(val[:])
	binary.Write(&b, bo, uint32(0)) // no next IFD
	return b.Bytes()
}

func exifAPP1(bo binary.ByteOrder, orientation int) []byte {
	return append([]byte("Exif\x00\x00"), tiffBlock(bo, orientation, 3, 1)...)
}

func TestTiffOrientation(t *testing.T) {
	le, be := binary.LittleEndian, binary.BigEndian
	tests := []struct {
		name string
		b    []byte
		want int
	}{
		{"little-endian short", tiffBlock(le, 6, 3, 1), 6},
		{"big-endian short", tiffBlock(be, 8, 3, 1), 8},
		{"long", tiffBlock(be, 3, 4, 1), 3},
		{"byte", tiffBlock(le, 5, 1, 1), 5},
		{"two values", tiffBlock(le, 6, 3, 2), 0},
		{"unknown type", tiffBlock(le, 6, 7, 1), 0},
		{"truncated IFD", tiffBlock(le, 6, 3, 1)[:20], 0},
		{"bad header", []byte("XX*\x00\x08\x00\x00\x00"), 0},
		{"IFD offset past end", []byte("II*\x00\xff\x00\x00\x00"), 0},
		{"empty", nil, 0},
	}
	for _, tc := range tests {
		if got := tiffOrientation(tc.b); got != tc.want {
			t.Errorf("%s: got %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestJPEGOrientationMarkers(t *testing.T) {
	seg := func(marker byte, body []byte) []byte {
		return append([]byte{0xFF, marker, byte((len(body) + 2) >> 8), byte(len(body) + 2)}, body...)
	}
	soi := []byte{0xFF, 0xD8}
	ex6, ex3 := exifAPP1(binary.BigEndian, 6), exifAPP1(binary.LittleEndian, 3)
	join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	tests := []struct {
		name string
		data []byte
		want int
	}{
		{"after JFIF", join(soi, seg(0xE0, []byte("JFIF\x00....")), seg(0xE1, ex6)), 6},
		{"first Exif wins", join(soi, seg(0xE1, ex3), seg(0xE1, ex6)), 3},
		{"XMP APP1 skipped", join(soi, seg(0xE1, []byte("http://ns.adobe.com/xap/1.0/\x00<x/>")), seg(0xE1, ex6)), 6},
		{"fill bytes", join(soi, []byte{0xFF, 0xFF}, seg(0xE1, ex6)), 6},
		{"after scan ignored", join(soi, seg(0xDA, []byte{1, 2, 3}), seg(0xE1, ex6)), 0},
		{"length past end", join(soi, []byte{0xFF, 0xE1, 0x40, 0x00}, ex6), 0},
		{"none", join(soi, seg(0xE0, []byte("JFIF\x00"))), 0},
	}
	for _, tc := range tests {
		if got := jpegOrientation(tc.data); got != tc.want {
			t.Errorf("%s: got %d, want %d", tc.name, got, tc.want)
		}
	}
}

// pngChunk frames a chunk with its length and CRC.
func pngChunk(typ string, body []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, uint32(len(body)))
	b.WriteString(typ)
	b.Write(body)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), body...)))
	return b.Bytes()
}

// insertChunk puts a chunk right after IHDR.
func insertChunk(pngData []byte, chunk []byte) []byte {
	at := 8 + 12 + int(binary.BigEndian.Uint32(pngData[8:]))
	return bytes.Join([][]byte{pngData[:at], chunk, pngData[at:]}, nil)
}

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestPNGOrientationSources(t *testing.T) {
	base := encodePNG(t, image.NewGray(image.Rect(0, 0, 2, 2)))
	zip := func(s string) []byte {
		var b bytes.Buffer
		w := zlib.NewWriter(&b)
		w.Write([]byte(s))
		w.Close()
		return b.Bytes()
	}
	raw := "\nexif\n      40\n" + hex.EncodeToString(exifAPP1(binary.LittleEndian, 7)) + "\n"
	exif := func(o int) []byte { return pngChunk("eXIf", tiffBlock(binary.BigEndian, o, 3, 1)) }
	rawText := pngChunk("tEXt", []byte("Raw profile type exif\x00"+raw))
	tests := []struct {
		name   string
		chunks [][]byte
		want   int
	}{
		{"eXIf", [][]byte{exif(6)}, 6},
		{"raw profile tEXt", [][]byte{rawText}, 7},
		{"raw profile zTXt", [][]byte{pngChunk("zTXt", append([]byte("Raw profile type exif\x00\x00"), zip(raw)...))}, 7},
		{"XMP attribute", [][]byte{pngChunk("iTXt", []byte("XML:com.adobe.xmp\x00\x00\x00\x00\x00<r tiff:Orientation=\"8\"/>"))}, 8},
		{"XMP element compressed", [][]byte{pngChunk("iTXt", append([]byte("XML:com.adobe.xmp\x00\x01\x00\x00\x00"), zip("<tiff:Orientation>5</tiff:Orientation>")...))}, 5},
		{"eXIf beats raw profile", [][]byte{rawText, exif(2)}, 2},
		{"last eXIf wins", [][]byte{exif(2), exif(4)}, 4},
		{"EXIF without orientation falls back to XMP", [][]byte{pngChunk("eXIf", tiffBlock(binary.BigEndian, 0, 7, 1)), pngChunk("tEXt", []byte("XML:com.adobe.xmp\x00tiff:Orientation>3"))}, 3},
		{"no metadata", nil, 0},
	}
	for _, tc := range tests {
		data := base
		for i := len(tc.chunks) - 1; i >= 0; i-- {
			data = insertChunk(data, tc.chunks[i])
		}
		sc, err := scanPNG(data)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := sc.orientation; got != tc.want {
			t.Errorf("%s: got %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestWebPOrientation(t *testing.T) {
	chunk := func(id string, body []byte) []byte {
		b := append([]byte(id), 0, 0, 0, 0)
		binary.LittleEndian.PutUint32(b[4:], uint32(len(body)))
		b = append(b, body...)
		if len(body)%2 == 1 {
			b = append(b, 0)
		}
		return b
	}
	riff := func(chunks ...[]byte) []byte {
		body := append([]byte("WEBP"), bytes.Join(chunks, nil)...)
		h := []byte("RIFF\x00\x00\x00\x00")
		binary.LittleEndian.PutUint32(h[4:], uint32(len(body)))
		return append(h, body...)
	}
	tests := []struct {
		name string
		data []byte
		want int
	}{
		{"EXIF after odd chunk", riff(chunk("VP8X", make([]byte, 10)), chunk("ICCP", []byte{1, 2, 3}), chunk("EXIF", tiffBlock(binary.LittleEndian, 6, 3, 1))), 6},
		{"EXIF with prefix", riff(chunk("VP8X", make([]byte, 10)), chunk("EXIF", exifAPP1(binary.BigEndian, 2))), 2},
		{"no EXIF", riff(chunk("VP8L", make([]byte, 5))), 0},
	}
	for _, tc := range tests {
		if got := webpOrientation(tc.data); got != tc.want {
			t.Errorf("%s: got %d, want %d", tc.name, got, tc.want)
		}
	}
}

// A 3×2 image with distinct pixels A..F, written as PNG with an eXIf
// orientation, must come out arranged as worked out by hand from the EXIF
// definitions (6 = a quarter turn clockwise, and so on).
func TestOrientationHandChecked(t *testing.T) {
	names := "ABCDEF"
	img := image.NewNRGBA(image.Rect(0, 0, 3, 2))
	for i := range names {
		img.Pix[4*i], img.Pix[4*i+1], img.Pix[4*i+2], img.Pix[4*i+3] = byte(10*i), byte(20*i), byte(30*i), 255
	}
	base := encodePNG(t, img)
	tests := []struct {
		o    int
		want string // rows separated by '/'
	}{
		{1, "ABC/DEF"},
		{2, "CBA/FED"},
		{3, "FED/CBA"},
		{4, "DEF/ABC"},
		{5, "AD/BE/CF"},
		{6, "DA/EB/FC"},
		{7, "FC/EB/DA"},
		{8, "CF/BE/AD"},
		{9, "ABC/DEF"}, // not an orientation: ignored
		{0, "ABC/DEF"},
	}
	for _, tc := range tests {
		for _, bo := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
			data := insertChunk(base, pngChunk("eXIf", tiffBlock(bo, tc.o, 3, 1)))
			rgb, err := DecodeRGB(data, Options{})
			if err != nil {
				t.Fatal(err)
			}
			var rows []string
			for y := 0; y < rgb.H; y++ {
				var row []byte
				for x := 0; x < rgb.W; x++ {
					row = append(row, names[rgb.Pix[3*(y*rgb.W+x)]/10])
				}
				rows = append(rows, string(row))
			}
			if got := strings.Join(rows, "/"); got != tc.want {
				t.Errorf("orientation %d (%v): got %s, want %s", tc.o, bo, got, tc.want)
			}
		}
	}
}

// JPEGs that differ only in their EXIF orientation must decode to the same
// pixels rearranged; through the preprocessor (which decodes only the rows
// it needs) they must match preprocessing the rearranged pixels directly.
func TestJPEGOrientationGeometry(t *testing.T) {
	const w, h = 331, 253
	pix := smoothRGB(w, h)
	for i := range pix {
		pix[i] ^= byte(i * 7 % 23) // texture, so every misplaced pixel shows
	}
	plain, err := encodeJPEG(pix, w, h, 3, jpegOptions{quality: 92, hs: 2, vs: 2})
	if err != nil {
		t.Fatal(err)
	}
	upright, err := DecodeRGB(plain, Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := New(DefaultConfig(), Options{})
	for o := 1; o <= 8; o++ {
		for _, bo := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
			t.Run(fmt.Sprintf("o%d/%v", o, bo), func(t *testing.T) {
				data, err := encodeJPEG(pix, w, h, 3, jpegOptions{quality: 92, hs: 2, vs: 2, app1: exifAPP1(bo, o)})
				if err != nil {
					t.Fatal(err)
				}
				got, err := DecodeRGB(data, Options{})
				if err != nil {
					t.Fatal(err)
				}
				want, ww, wh := transpose(upright.Pix, w, h, o)
				if got.W != ww || got.H != wh || !bytes.Equal(got.Pix, want) {
					t.Fatalf("DecodeRGB: %dx%d, want %dx%d; pixels equal: %v", got.W, got.H, ww, wh, bytes.Equal(got.Pix, want))
				}
				fromFile, err := p.Bytes(data)
				if err != nil {
					t.Fatal(err)
				}
				fromImage, err := p.Image(&image.NRGBA{Pix: rgbToNRGBA(want), Stride: 4 * ww, Rect: image.Rect(0, 0, ww, wh)})
				if err != nil {
					t.Fatal(err)
				}
				if m, _ := diffStats(fromFile, fromImage); m != 0 {
					t.Fatalf("preprocessed JPEG differs from preprocessed rotated pixels by %g", m)
				}
			})
		}
	}
}

func rgbToNRGBA(rgb []byte) []byte {
	out := make([]byte, len(rgb)/3*4)
	for i := 0; i < len(rgb)/3; i++ {
		copy(out[4*i:], rgb[3*i:3*i+3])
		out[4*i+3] = 255
	}
	return out
}
