package modelengine

import (
	"github.com/fashionclip/fashionclip/internal/server"
	"github.com/fashionclip/fashionclip/internal/thumbnail"
)

// Thumbnails implements server.Thumbnailer with internal/thumbnail: the
// same bounded decoder as the model's preprocessing, with its pixel budget.
type Thumbnails struct {
	// MaxPixels refuses images declaring more pixels (0: the decoder's default).
	MaxPixels int64
	// Quality is the JPEG quality (0: thumbnail.DefaultQuality).
	Quality int
}

var _ server.Thumbnailer = Thumbnails{}

// Thumbnail implements server.Thumbnailer.
func (t Thumbnails) Thumbnail(data []byte, maxEdge int) ([]byte, error) {
	return thumbnail.FromBytes(data, thumbnail.Options{MaxEdge: maxEdge, Quality: t.Quality, MaxPixels: t.MaxPixels})
}
