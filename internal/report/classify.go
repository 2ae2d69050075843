package report

import (
	"bufio"
	"errors"
	"math"
	"sort"
	"strconv"
)

// Record is one classified input, as classify produced it.
type Record struct {
	Path string
	// Groups are the scores per label group, in the order of the run's
	// groups; empty for a failed input.
	Groups []Group
	// Err is why the input failed (nil: it did not).
	Err error
	// Thumbnail is a small JPEG of the image (nil: none). Use the thumbnail
	// the decode already made; a report never holds a full image.
	Thumbnail []byte
}

// Classify writes a classify report. Feed it every result with Add, in
// any order, then Close; Abort instead drops the partial file. Not safe for
// concurrent use.
type Classify struct {
	p    *page
	opts Options

	groups  []*groupTable
	byGroup map[string]int

	items  []kept
	failed []failure
	closed bool
}

type groupTable struct {
	name    string
	labels  []string
	byLabel map[string]int32
}

func (g *groupTable) label(l string) int32 {
	if i, ok := g.byLabel[l]; ok {
		return i
	}
	i := int32(len(g.labels))
	g.labels = append(g.labels, l)
	g.byLabel[l] = i
	return i
}

// kept is what a record costs in memory until Close: its path, where its
// thumbnail went, and its scores as (label index, float32) pairs.
type kept struct {
	path   string
	thumb  thumbRef
	counts []uint16 // scores per group, in group order
	scores []scorePair
}

type scorePair struct {
	label int32
	score float32
}

type failure struct {
	path, err string
	thumb     thumbRef
}

// NewClassify starts the report that Close writes to path.
func NewClassify(path string, o Options) (*Classify, error) {
	o.defaults("fashionclip classify")
	p, err := newPage(path, o.Title, "classify", &o)
	if err != nil {
		return nil, err
	}
	c := &Classify{p: p, opts: o, byGroup: map[string]int{}}
	for _, g := range o.Groups {
		t := c.group(g.Name)
		for _, l := range g.Labels {
			t.label(l)
		}
	}
	return c, nil
}

func (c *Classify) group(name string) *groupTable {
	if i, ok := c.byGroup[name]; ok {
		return c.groups[i]
	}
	t := &groupTable{name: name, byLabel: map[string]int32{}}
	c.byGroup[name] = len(c.groups)
	c.groups = append(c.groups, t)
	return t
}

var errClosed = errors.New("report: Add after Close")

// Add records one result. Its thumbnail goes to the report file at once.
// A thumbnail that is not a JPEG, or too large, is left out with a
// *ThumbnailError; the record is kept all the same.
func (c *Classify) Add(r Record) error {
	if c.closed {
		return errClosed
	}
	ref, thumbErr, err := c.p.keepThumbnail(r.Path, r.Thumbnail, c.opts.MaxThumbnailBytes)
	if err != nil {
		return err
	}
	if r.Err != nil {
		c.failed = append(c.failed, failure{path: r.Path, err: r.Err.Error(), thumb: ref})
		return thumbErr
	}
	k := kept{path: r.Path, thumb: ref}
	n := 0
	for _, g := range r.Groups {
		n += len(g.Scores)
	}
	k.scores = make([]scorePair, 0, n)
	// Scores are kept in the report's group order; a group the record
	// lacks has none.
	for _, g := range r.Groups {
		c.group(g.Name)
	}
	k.counts = make([]uint16, len(c.groups))
	for gi, t := range c.groups {
		for _, g := range r.Groups {
			if g.Name != t.name {
				continue
			}
			for _, s := range g.Scores {
				k.scores = append(k.scores, scorePair{t.label(s.Label), float32(s.Score)})
			}
			k.counts[gi] = uint16(min(len(g.Scores), math.MaxUint16))
			break
		}
	}
	c.items = append(c.items, k)
	return thumbErr
}

// Close writes the rest of the report and puts it in place.
func (c *Classify) Close() error {
	if c.closed {
		return errClosed
	}
	c.closed = true
	first := c.firstPage()
	refs := make([]thumbRef, len(first))
	for i, k := range first {
		refs[i] = c.items[k].thumb
	}
	return c.p.finish(refs, func(w *bufio.Writer, moved []thumbRef) error {
		at := make(map[int]thumbRef, len(first))
		for i, k := range first {
			at[k] = moved[i]
		}
		return c.writeData(w, at)
	})
}

// firstPage is the records the page shows first (the first group's best
// top scores, ties in input order, as report.js sorts them), whose
// thumbnails go to block 0.
func (c *Classify) firstPage() []int {
	top := make([]float64, len(c.items))
	for i, k := range c.items {
		top[i] = math.Inf(-1)
		if len(k.counts) > 0 && k.counts[0] > 0 {
			top[i] = roundScore(float64(k.scores[0].score))
		}
	}
	idx := make([]int, len(c.items))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return top[idx[a]] > top[idx[b]] })
	return idx[:min(len(idx), c.opts.PageSize)]
}

// Abort drops the report.
func (c *Classify) Abort() {
	if !c.closed {
		c.closed = true
		c.p.abort()
	}
}

type groupJSON struct {
	Name   string   `json:"name"`
	Labels []string `json:"labels"`
}

// writeData writes the page's data:
//
//	{"h": header, "groups": [{"name", "labels"}],
//	 "items": [[path, thumb, [label, score, label, score, ...] per group], ...],
//	 "failed": [[path, error, thumb], ...]}
//
// thumb is [block, offset, length] (inline), a file name (assets) or null.
func (c *Classify) writeData(w *bufio.Writer, moved map[int]thumbRef) error {
	buf := make([]byte, 0, 64<<10)
	buf = append(buf, `{"h":`...)
	buf, err := jsonValue(buf, c.p.header("classify", &c.opts))
	if err != nil {
		return err
	}
	groups := make([]groupJSON, len(c.groups))
	for i, g := range c.groups {
		groups[i] = groupJSON{Name: g.name, Labels: g.labels}
		if groups[i].Labels == nil {
			groups[i].Labels = []string{}
		}
	}
	buf = append(buf, `,"groups":`...)
	if buf, err = jsonValue(buf, groups); err != nil {
		return err
	}
	buf = append(buf, `,"items":[`...)
	for i, k := range c.items {
		if i > 0 {
			buf = append(buf, ",\n"...)
		}
		buf = append(buf, '[')
		buf = jsonString(buf, k.path)
		buf = append(buf, ',')
		ref := k.thumb
		if m, ok := moved[i]; ok {
			ref = m
		}
		buf = appendRef(buf, ref)
		at := 0
		for gi := range c.groups {
			buf = append(buf, ",["...)
			n := 0
			if gi < len(k.counts) {
				n = int(k.counts[gi])
			}
			for j, s := range k.scores[at : at+n] {
				if j > 0 {
					buf = append(buf, ',')
				}
				buf = strconv.AppendInt(buf, int64(s.label), 10)
				buf = append(buf, ',')
				buf = appendScore(buf, float64(s.score))
			}
			at += n
			buf = append(buf, ']')
		}
		buf = append(buf, ']')
		if len(buf) > 48<<10 {
			if _, err := w.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	buf = append(buf, `],"failed":[`...)
	for i, f := range c.failed {
		if i > 0 {
			buf = append(buf, ",\n"...)
		}
		buf = append(buf, '[')
		buf = jsonString(buf, f.path)
		buf = append(buf, ',')
		buf = jsonString(buf, f.err)
		buf = append(buf, ',')
		buf = appendRef(buf, f.thumb)
		buf = append(buf, ']')
	}
	buf = append(buf, "]}\n"...)
	_, err = w.Write(buf)
	return err
}
