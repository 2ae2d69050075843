package imageproc

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"regexp"
	"strings"
)

// Orientation handling follows Pillow 9.4's ImageOps.exif_transpose: the
// Orientation tag (0x0112) of IFD0 picks one of seven transpositions, and any
// other value, a missing tag or unreadable EXIF leaves the image alone.

const tagOrientation = 0x0112

// tiffOrientation returns the Orientation of IFD0 in a TIFF structure (the
// body of an EXIF block, or a whole TIFF file), or 0 when there is none.
func tiffOrientation(b []byte) int {
	if len(b) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(b[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return 0
	}
	off := int64(bo.Uint32(b[4:]))
	if off < 8 || off+2 > int64(len(b)) {
		return 0
	}
	n := int(bo.Uint16(b[off:]))
	p := off + 2
	for i := 0; i < n; i++ {
		if p+12 > int64(len(b)) {
			return 0
		}
		e := b[p : p+12]
		p += 12
		if bo.Uint16(e) != tagOrientation || bo.Uint32(e[4:]) != 1 {
			continue
		}
		// The tag is a SHORT; Pillow reads whatever type is declared, so
		// accept the integer types whose single value fits inline.
		switch bo.Uint16(e[2:]) {
		case 1, 6: // BYTE, SBYTE
			return int(e[8])
		case 3, 8: // SHORT, SSHORT
			return int(bo.Uint16(e[8:]))
		case 4, 9: // LONG, SLONG
			return int(bo.Uint32(e[8:]))
		}
		return 0
	}
	return 0
}

// exifOrientation reads an EXIF payload, with or without its "Exif\0\0"
// prefix (Pillow strips it when present).
func exifOrientation(b []byte) int {
	b, _ = bytes.CutPrefix(b, []byte("Exif\x00\x00"))
	return tiffOrientation(b)
}

// jpegOrientation walks the JPEG markers before the first scan, as Pillow's
// JpegImagePlugin does, and reads the first APP1 segment starting "Exif\0".
func jpegOrientation(data []byte) int {
	i := 2 // after SOI
	for i+1 < len(data) {
		if data[i] != 0xFF {
			i++ // junk between segments
			continue
		}
		m := data[i+1]
		switch {
		case m == 0xFF: // fill byte
			i++
			continue
		case m == 0x00 || m == 0x01 || m == 0xD8 || (m >= 0xD0 && m <= 0xD7):
			i += 2 // no length field
			continue
		case m == 0xDA || m == 0xD9: // start of scan, end of image
			return 0
		}
		if i+4 > len(data) {
			return 0
		}
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		if n < 2 || i+2+n > len(data) {
			return 0
		}
		seg := data[i+4 : i+2+n]
		if m == 0xE1 && bytes.HasPrefix(seg, []byte("Exif\x00")) {
			// Pillow keeps only the first such segment.
			return exifOrientation(seg)
		}
		i += 2 + n
	}
	return 0
}

// xmpOrientation is Pillow's fallback for PNG: a tiff:Orientation attribute
// or element in the XMP packet.
var xmpOrientationRE = regexp.MustCompile(`tiff:Orientation(="|>)([0-9])`)

func xmpOrientation(xmp []byte) int {
	m := xmpOrientationRE.FindSubmatch(xmp)
	if m == nil {
		return 0
	}
	return int(m[2][0] - '0')
}

// rawProfile decodes ImageMagick's hex dump: a blank line, the profile name,
// the length, then hex lines.
func rawProfile(v []byte) []byte {
	lines := strings.Split(string(v), "\n")
	if len(lines) < 4 {
		return nil
	}
	b, err := hex.DecodeString(strings.Join(lines[3:], ""))
	if err != nil {
		return nil
	}
	return b
}

// webpOrientation reads the EXIF chunk of an extended WebP file.
func webpOrientation(data []byte) int {
	p := 12
	for p+8 <= len(data) {
		n := int(binary.LittleEndian.Uint32(data[p+4:]))
		if n < 0 || p+8+n > len(data) {
			return 0
		}
		if string(data[p:p+4]) == "EXIF" {
			return exifOrientation(data[p+8 : p+8+n])
		}
		p += 8 + n + n&1
	}
	return 0
}

// orient addresses a w×h raster (stride bytes per row, first held row
// firstRow) through an EXIF orientation, without copying: the result's lines
// are the oriented rows and its positions the oriented columns. It also
// returns the oriented size. The mapping matches Pillow's Image.transpose.
func orient(pix []byte, w, h, stride, firstRow, orientation int) (plane, int, int) {
	p := plane{pix: pix, ls: stride, ps: 3}
	last := (w - 1) * 3        // offset of the last column
	bottom := (h - 1) * stride // offset of the last row
	ow, oh := orientedSize(orientation, w, h)
	switch orientation {
	case 2: // FLIP_LEFT_RIGHT
		p.off, p.ps = last, -3
	case 3: // ROTATE_180
		p.off, p.ps, p.ls = bottom+last, -3, -stride
	case 4: // FLIP_TOP_BOTTOM
		p.off, p.ls = bottom, -stride
	case 5: // TRANSPOSE
		p.ps, p.ls = stride, 3
	case 6: // ROTATE_270: a quarter turn clockwise
		p.off, p.ps, p.ls = bottom, -stride, 3
	case 7: // TRANSVERSE
		p.off, p.ps, p.ls = bottom+last, -stride, -3
	case 8: // ROTATE_90: a quarter turn anticlockwise
		p.off, p.ps, p.ls = last, stride, -3
	}
	p.off -= firstRow * stride
	return p, ow, oh
}

// storedRows returns the stored rows that hold oriented columns [x0, x1) and
// rows [y0, y1) of an image stored with h rows.
func storedRows(orientation, h, x0, x1, y0, y1 int) (int, int) {
	switch orientation {
	case 3, 4:
		return h - y1, h - y0
	case 5, 8:
		return x0, x1
	case 6, 7:
		return h - x1, h - x0
	}
	return y0, y1
}

// orientedSize returns the size after applying the orientation.
func orientedSize(orientation, w, h int) (int, int) {
	if orientation >= 5 && orientation <= 8 {
		return h, w
	}
	return w, h
}
