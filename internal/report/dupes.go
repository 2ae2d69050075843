package report

import (
	"bufio"
	"errors"
	"strconv"
)

// DupeMember is one image of a duplicate group.
type DupeMember struct {
	Path string
	// Score is the member's cosine similarity to the group's first member.
	Score float64
}

// DupeGroup is a group of exact copies or of near duplicates.
type DupeGroup struct {
	Group       int
	Exact       bool
	MaxDistance float64
	Members     []DupeMember
}

// DupesInfo says what was compared.
type DupesInfo struct {
	Index     string
	Threshold float64
}

// WriteDupes writes a duplicates report: a section per group, exact copies
// and near duplicates told apart, each member a card with its thumbnail and
// score. thumbnail makes a member's small JPEG (nil: none); each is spooled
// at once, so memory holds one at a time. The first page's thumbnails come
// first in the file and the rest load behind them, so a report of many
// groups opens at once. Thumbnails that are not JPEGs or too large are left
// out and named in the error, in which errors.As finds a *ThumbnailError.
func WriteDupes(path string, info DupesInfo, groups []DupeGroup, thumbnail func(path string) []byte, o Options) error {
	o.defaults("fashionclip index dupes")
	p, err := newPage(path, o.Title, "dupes", &o)
	if err != nil {
		return err
	}
	var refs []thumbRef
	var thumbErrs []error
	for _, g := range groups {
		for _, m := range g.Members {
			var jpg []byte
			if thumbnail != nil {
				jpg = thumbnail(m.Path)
			}
			ref, refused, err := p.keepThumbnail(m.Path, jpg, o.MaxThumbnailBytes)
			if err != nil {
				p.abort()
				return err
			}
			if refused != nil {
				thumbErrs = append(thumbErrs, refused)
			}
			refs = append(refs, ref)
		}
	}
	firstN := min(len(refs), o.PageSize)
	err = p.finish(refs[:firstN], func(w *bufio.Writer, first []thumbRef) error {
		// {"h", "index", "threshold", "groups": [[group, exact, max_distance, [[path, thumb, score], ...]], ...]}
		buf := append([]byte(nil), `{"h":`...)
		buf, err := jsonValue(buf, p.header("dupes", &o))
		if err != nil {
			return err
		}
		buf = append(buf, `,"index":`...)
		buf = jsonString(buf, info.Index)
		buf = append(buf, `,"threshold":`...)
		buf = strconv.AppendFloat(buf, info.Threshold, 'g', -1, 64)
		buf = append(buf, `,"groups":[`...)
		n := 0
		for gi, g := range groups {
			if gi > 0 {
				buf = append(buf, ",\n"...)
			}
			buf = append(buf, '[')
			buf = strconv.AppendInt(buf, int64(g.Group), 10)
			buf = append(buf, ',')
			buf = strconv.AppendBool(buf, g.Exact)
			buf = append(buf, ',')
			buf = appendScore(buf, g.MaxDistance)
			buf = append(buf, ",["...)
			for mi, m := range g.Members {
				if mi > 0 {
					buf = append(buf, ',')
				}
				ref := refs[n]
				if n < len(first) {
					ref = first[n]
				}
				n++
				buf = append(buf, '[')
				buf = jsonString(buf, m.Path)
				buf = append(buf, ',')
				buf = appendRef(buf, ref)
				buf = append(buf, ',')
				buf = appendScore(buf, m.Score)
				buf = append(buf, ']')
			}
			buf = append(buf, "]]"...)
			if len(buf) > 64<<10 {
				if _, err := w.Write(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
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
