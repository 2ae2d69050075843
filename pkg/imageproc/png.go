package imageproc

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"io"
	"unicode/utf8"
)

// PNG chunks are walked once, before decoding, with the rules of Pillow
// 9.4's PngImagePlugin, which decides what is accepted:
//
//   - text (tEXt, zTXt, iTXt) anywhere in the file counts towards 64 MiB
//     (MAX_TEXT_MEMORY); past that, or for one compressed text inflating to
//     1 MiB or more (MAX_TEXT_CHUNK), the file is refused. Inflating stops
//     at that 1 MiB, so text costs bounded work;
//   - a zTXt with a compression method other than 0 is refused;
//   - once the image data (the first run of IDAT chunks) has been read,
//     what follows may be cut short at a chunk header, or lack IEND, and is
//     still accepted; a chunk whose body is cut short is not.
//
// Pixels then come from image/png reading only the chunks up to the end of
// the image data plus a synthetic IEND, so that what Pillow tolerates after
// the image data cannot fail the decode.

const (
	pngTextChunkMax  = 1 << 20  // Pillow's MAX_TEXT_CHUNK (ImageFile.SAFEBLOCK)
	pngTextMemoryMax = 64 << 20 // Pillow's MAX_TEXT_MEMORY
)

var pngMagic = []byte("\x89PNG\r\n\x1a\n")

// iendChunk is a complete IEND chunk (its CRC included).
var iendChunk = []byte{0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82}

type pngScan struct {
	orientation        int
	plteLen            int // PLTE entries (256 when absent)
	imageEnd           int // offset past the last chunk of the image data
	textMemory         int
	exif, rawExif, xmp []byte
	seenIDATs          bool
}

// isChunkType is Pillow's is_cid: four word characters.
func isChunkType(t []byte) bool {
	for _, c := range t {
		if !(c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
			return false
		}
	}
	return true
}

// scanPNG walks the chunks of data (which starts with the PNG magic).
func scanPNG(data []byte) (*pngScan, error) {
	sc := &pngScan{plteLen: 256}
	p := len(pngMagic)
	inIDAT := false
	for {
		after := sc.seenIDATs && !inIDAT // past the image data: Pillow's load_end
		if p+8 > len(data) {
			if after || inIDAT {
				break
			}
			return nil, errTruncated
		}
		n := int64(binary.BigEndian.Uint32(data[p:]))
		typ := data[p+4 : p+8]
		if !isChunkType(typ) {
			if after {
				break
			}
			return nil, fmt.Errorf("broken PNG file (chunk %q)", typ)
		}
		end := int64(p) + 8 + n
		if end > int64(len(data)) {
			return nil, errTruncated
		}
		body := data[p+8 : end]
		next := int(min(end+4, int64(len(data))))
		if string(typ) == "IDAT" {
			if !sc.seenIDATs {
				inIDAT, sc.seenIDATs = true, true
			}
			if inIDAT {
				sc.imageEnd = next
			}
			p = next
			continue
		}
		if inIDAT {
			inIDAT = false
		}
		switch string(typ) {
		case "PLTE":
			if !sc.seenIDATs {
				sc.plteLen = len(body) / 3
			}
		case "eXIf":
			sc.exif = body
		case "tEXt", "zTXt", "iTXt":
			if err := sc.text(string(typ), body); err != nil {
				return nil, err
			}
		case "IEND":
			if !sc.seenIDATs {
				return nil, errTruncated // no image data
			}
			sc.finish()
			return sc, nil
		}
		p = next
	}
	if !sc.seenIDATs {
		return nil, errTruncated
	}
	sc.finish()
	return sc, nil
}

// finish derives the orientation as Pillow's getexif does: eXIf, else
// ImageMagick's "Raw profile type exif" text, else XMP.
func (sc *pngScan) finish() {
	exif := sc.exif
	if exif == nil && sc.rawExif != nil {
		exif = rawProfile(sc.rawExif)
	}
	if o := exifOrientation(exif); o != 0 {
		sc.orientation = o
		return
	}
	sc.orientation = xmpOrientation(sc.xmp)
}

var errTextMemory = fmt.Errorf("%w: too much memory used in PNG text chunks (over %d bytes)", ErrTooComplex, pngTextMemoryMax)

// text applies Pillow's text rules to one chunk and keeps the values that
// can hold an orientation. Later chunks win, as in Pillow's dict.
func (sc *pngScan) text(typ string, body []byte) error {
	key, rest, _ := bytes.Cut(body, []byte{0})
	var val []byte
	count := 0
	switch typ {
	case "tEXt":
		if len(key) == 0 {
			return nil
		}
		val, count = rest, len(rest) // latin-1: one character a byte
	case "zTXt":
		method := byte(0)
		if len(rest) > 0 {
			method = rest[0]
		}
		if method != 0 {
			return fmt.Errorf("unknown compression method %d in zTXt chunk", method)
		}
		if len(rest) > 0 {
			rest = rest[1:]
		}
		v, err := inflateText(rest)
		if err != nil {
			return err
		}
		if len(key) == 0 {
			return nil
		}
		val, count = v, len(v)
	default: // iTXt: flag, method, language\0, translated keyword\0, text
		if len(rest) < 2 {
			return nil
		}
		compressed, method := rest[0] != 0, rest[1]
		parts := bytes.SplitN(rest[2:], []byte{0}, 3)
		if len(parts) < 3 {
			return nil
		}
		v := parts[2]
		if compressed {
			if method != 0 {
				return nil
			}
			var err error
			if v, err = inflateText(v); err != nil {
				return err
			}
		}
		if !utf8.Valid(v) || !utf8.Valid(parts[0]) || !utf8.Valid(parts[1]) {
			return nil // Pillow skips text it cannot decode
		}
		val, count = v, utf8.RuneCount(v)
	}
	if sc.textMemory += count; sc.textMemory > pngTextMemoryMax {
		return errTextMemory
	}
	switch string(key) {
	case "Raw profile type exif":
		sc.rawExif = val
	case "XML:com.adobe.xmp":
		sc.xmp = val
	}
	return nil
}

// inflateText inflates at most pngTextChunkMax bytes. Reaching that much is
// Pillow's "Decompressed Data Too Large"; a broken stream gives what it
// held (Python's decompressobj does the same) or nothing.
func inflateText(b []byte) ([]byte, error) {
	r, err := zlib.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, nil
	}
	defer r.Close()
	out, _ := io.ReadAll(io.LimitReader(r, pngTextChunkMax))
	if len(out) >= pngTextChunkMax {
		return nil, fmt.Errorf("%w: a PNG text chunk inflates to %d bytes or more", ErrTooComplex, pngTextChunkMax)
	}
	return out, nil
}

// pngImageStream is what image/png reads: the chunks up to the end of the
// image data, then IEND.
func pngImageStream(data []byte, sc *pngScan) io.Reader {
	return io.MultiReader(bytes.NewReader(data[:sc.imageEnd]), bytes.NewReader(iendChunk))
}
