package imageproc

import "errors"

// DefaultThumbnailQuality is the JPEG quality of thumbnails.
const DefaultThumbnailQuality = 80

// thumbnail encodes the resized crop pixels (nx×ny packed RGB) as a JPEG
// whose longest side is at most size, shrinking them with the same Pillow
// bicubic kernels when they are larger.
func thumbnail(crop []byte, nx, ny, size, quality int, sc *scratch) ([]byte, error) {
	if quality == 0 {
		quality = DefaultThumbnailQuality
	}
	if quality < 1 || quality > 100 {
		return nil, errors.New("thumbnail quality must be 1..100")
	}
	tw, th := nx, ny
	if max(nx, ny) > size {
		if nx >= ny {
			tw, th = size, max(1, ny*size/nx)
		} else {
			tw, th = max(1, nx*size/ny), size
		}
	}
	pix := crop[:3*nx*ny]
	if tw != nx || th != ny {
		small := makePix(3 * tw * th)
		src := plane{pix: crop, ls: 3 * nx, ps: 3}
		if err := resizeCrop(small, src, newAxis(nx, tw, 0, tw), newAxis(ny, th, 0, th), &scratch{tmp: sc.tmp, tmp2: sc.tmp2}); err != nil {
			return nil, err
		}
		pix = small
	}
	return encodeJPEG(pix, tw, th, 3, jpegOptions{quality: quality, hs: 2, vs: 2})
}
