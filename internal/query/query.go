// Package query is the search query language shared by the CLI's search
// and the HTTP API: weighted text and image terms joined by + and -
// operators, and the rule that turns their embeddings into one query vector.
//
//	"white sneaker" - "logo" + 2:"chunky sole"
//
// An operator is an argument that is exactly + or -. A term may start with a
// weight W: (a number and a colon); the rest of the argument is the text, so
// "3-pack crew socks" is one term. Two terms need an operator between them.
// Image terms (given apart, as FILE or W:FILE) come first.
package query

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/fashionclip/fashionclip/internal/vecmath"
)

// Term is one weighted part of a query: a text or an image.
type Term struct {
	Weight float64
	Text   string
	Image  string // a file path (CLI) or an opaque reference (HTTP)
}

// weightPrefix is what looks like the start of a weight: a number-ish run
// ending in a colon. It must then parse as a number, or the term is refused
// (rather than silently searched as text).
var weightPrefix = regexp.MustCompile(`^([+-]?[0-9.][0-9.eE+-]*):`)

// splitWeight takes a W: prefix off s; without one the weight is 1.
func splitWeight(s string) (float64, string, error) {
	m := weightPrefix.FindStringSubmatch(s)
	if m == nil {
		return 1, s, nil
	}
	w, err := strconv.ParseFloat(m[1], 64)
	if err != nil || math.IsInf(w, 0) || math.IsNaN(w) {
		return 0, "", fmt.Errorf("bad weight %q in %q (to search this text, write 1:%s)", m[1], s, s)
	}
	if w == 0 {
		return 0, "", fmt.Errorf("weight 0 in %q: the term would do nothing", s)
	}
	return w, s[len(m[0]):], nil
}

// Parse reads the query grammar: images are the image terms (FILE or
// W:FILE), args the text terms and operators. exists tells whether an image
// term names a file as it stands (then it is never read as W:FILE).
func Parse(args, images []string, exists func(string) bool) ([]Term, error) {
	var terms []Term
	for _, img := range images {
		w, path := 1.0, img
		if !exists(img) {
			var err error
			if w, path, err = splitWeight(img); err != nil {
				return nil, &ImageTermError{Term: img, Err: err}
			}
		}
		if path == "" {
			return nil, &ImageTermError{Term: img, Err: errors.New("names no image")}
		}
		terms = append(terms, Term{Weight: w, Image: path})
	}
	const (
		start = iota
		afterTerm
		afterOp
	)
	state, sign, op := start, 1.0, ""
	for _, a := range args {
		if a == "+" || a == "-" {
			switch {
			case state == afterOp:
				return nil, fmt.Errorf("operator %q follows operator %q: put a term between them", a, op)
			case state == start && len(images) == 0:
				return nil, fmt.Errorf("the query starts with the operator %q: start with a term (or an image term)", a)
			}
			state, op, sign = afterOp, a, 1
			if a == "-" {
				sign = -1
			}
			continue
		}
		if state == afterTerm {
			prev := terms[len(terms)-1].Text
			return nil, fmt.Errorf("two terms in a row (%q, %q): quote them as one text, or put + or - between them", prev, a)
		}
		w, text, err := splitWeight(a)
		if err != nil {
			return nil, err
		}
		if strings.TrimSpace(text) == "" {
			return nil, fmt.Errorf("empty term %q", a)
		}
		terms = append(terms, Term{Weight: sign * w, Text: text})
		state, sign = afterTerm, 1
	}
	if state == afterOp {
		return nil, fmt.Errorf("the query ends with the operator %q: a term must follow it", op)
	}
	if len(terms) == 0 {
		return nil, ErrEmpty
	}
	return terms, nil
}

// ErrEmpty is a query without any term.
var ErrEmpty = errors.New("no query: give a text or an image term")

// ImageTermError is an image term that cannot be read.
type ImageTermError struct {
	Term string
	Err  error
}

func (e *ImageTermError) Error() string { return fmt.Sprintf("image term %q: %v", e.Term, e.Err) }

func (e *ImageTermError) Unwrap() error { return e.Err }

// ErrCancelOut is returned when the weighted terms sum to nothing.
var ErrCancelOut = errors.New("the query terms cancel out: their weighted sum is zero")

// Vector is the normalised weighted sum of the terms' normalised
// embeddings, given in term order.
func Vector(terms []Term, embeddings [][]float32) ([]float32, error) {
	if len(terms) != len(embeddings) {
		return nil, fmt.Errorf("%d embeddings for %d query terms", len(embeddings), len(terms))
	}
	w := make([]float64, len(terms))
	for i, t := range terms {
		w[i] = t.Weight
	}
	q, err := vecmath.WeightedSum(embeddings, w)
	if errors.Is(err, vecmath.ErrZeroSum) {
		return nil, ErrCancelOut
	}
	return q, err
}
