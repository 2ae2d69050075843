package report

import (
	"bufio"
	"errors"
)

// SearchHit is one search result, best first.
type SearchHit struct {
	// Path is the image (empty for a text item).
	Path string
	// Text is the text of a text item (IsText).
	Text   string
	IsText bool
	Score  float64
	// Thumbnail is a small JPEG of the image (nil: none).
	Thumbnail []byte
}

// SearchInfo says what was searched.
type SearchInfo struct {
	// Query is the query as the user wrote it.
	Query string
	// Index names the index searched.
	Index string
}

// WriteSearch writes a search report: the results as a grid of cards in
// rank order, each with its score. Thumbnails that are not JPEGs or too
// large are left out (the report is written all the same) and named in the
// error, in which errors.As finds a *ThumbnailError.
func WriteSearch(path string, info SearchInfo, hits []SearchHit, o Options) error {
	o.defaults("fashionclip search")
	p, err := newPage(path, o.Title, "search", &o)
	if err != nil {
		return err
	}
	refs := make([]thumbRef, len(hits))
	var thumbErrs []error
	for i, h := range hits {
		refs[i] = noThumb
		if h.IsText {
			continue
		}
		var refused error
		if refs[i], refused, err = p.keepThumbnail(h.Path, h.Thumbnail, o.MaxThumbnailBytes); err != nil {
			p.abort()
			return err
		}
		if refused != nil {
			thumbErrs = append(thumbErrs, refused)
		}
	}
	err = p.finish(refs, func(w *bufio.Writer, refs []thumbRef) error {
		// {"h": header, "query", "index", "hits": [[path|null, text|null, thumb, score], ...]}
		buf := append([]byte(nil), `{"h":`...)
		buf, err := jsonValue(buf, p.header("search", &o))
		if err != nil {
			return err
		}
		buf = append(buf, `,"query":`...)
		buf = jsonString(buf, info.Query)
		buf = append(buf, `,"index":`...)
		buf = jsonString(buf, info.Index)
		buf = append(buf, `,"hits":[`...)
		for i, h := range hits {
			if i > 0 {
				buf = append(buf, ",\n"...)
			}
			buf = append(buf, '[')
			if h.IsText {
				buf = append(buf, "null,"...)
				buf = jsonString(buf, h.Text)
			} else {
				buf = jsonString(buf, h.Path)
				buf = append(buf, ",null"...)
			}
			buf = append(buf, ',')
			buf = appendRef(buf, refs[i])
			buf = append(buf, ',')
			buf = appendScore(buf, h.Score)
			buf = append(buf, ']')
		}
		buf = append(buf, "]}\n"...)
		_, err = w.Write(buf)
		return err
	})
	if err != nil {
		return err
	}
	return errors.Join(thumbErrs...)
}
