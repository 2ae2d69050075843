package query

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	files := map[string]bool{"shoe.jpg": true, "2:odd name.jpg": true}
	exists := func(p string) bool { return files[p] }
	text := func(w float64, s string) Term { return Term{Weight: w, Text: s} }
	image := func(w float64, p string) Term { return Term{Weight: w, Image: p} }
	tests := []struct {
		name    string
		args    []string
		images  []string
		want    []Term
		wantErr string
	}{
		{"one term", []string{"white sneaker"}, nil, []Term{text(1, "white sneaker")}, ""},
		{"a - b + 2:c", []string{"a", "-", "b", "+", "2:c"}, nil, []Term{text(1, "a"), text(-1, "b"), text(2, "c")}, ""},
		{"dashes inside a term are text", []string{"3-pack crew socks"}, nil, []Term{text(1, "3-pack crew socks")}, ""},
		{"plus inside a term is text", []string{"t-shirt + jeans"}, nil, []Term{text(1, "t-shirt + jeans")}, ""},
		{"decimal weight", []string{"0.5:linen", "-", ".25:logo"}, nil, []Term{text(0.5, "linen"), text(-0.25, "logo")}, ""},
		{"exponent weight", []string{"1e1:x"}, nil, []Term{text(10, "x")}, ""},
		{"weight before a time", []string{"1:12:30 watch"}, nil, []Term{text(1, "12:30 watch")}, ""},
		{"a word and a colon is text", []string{"style:boho"}, nil, []Term{text(1, "style:boho")}, ""},
		{"minus then negative weight", []string{"a", "-", "-2:b"}, nil, []Term{text(1, "a"), text(2, "b")}, ""},
		{"images first", []string{"red"}, []string{"shoe.jpg", "-0.5:logo.png"},
			[]Term{image(1, "shoe.jpg"), image(-0.5, "logo.png"), text(1, "red")}, ""},
		{"image then leading operator", []string{"-", "laces"}, []string{"shoe.jpg"}, []Term{image(1, "shoe.jpg"), text(-1, "laces")}, ""},
		{"an existing file is never W:FILE", nil, []string{"2:odd name.jpg"}, []Term{image(1, "2:odd name.jpg")}, ""},
		{"image only", nil, []string{"3:shoe.jpg"}, []Term{image(3, "shoe.jpg")}, ""},

		{"bad weight", []string{"1..2:x"}, nil, nil, `bad weight "1..2"`},
		{"overflowing weight", []string{"1e999:x"}, nil, nil, "bad weight"},
		{"zero weight", []string{"0:x"}, nil, nil, "weight 0"},
		{"weight without text", []string{"2:"}, nil, nil, "empty term"},
		{"empty argument", []string{""}, nil, nil, "empty term"},
		{"a name that is no weight is a file", nil, []string{"x1:-:y.png"}, []Term{image(1, "x1:-:y.png")}, ""},
		{"bad image weight", nil, []string{"1..2:y.png"}, nil, `image term "1..2:y.png": bad weight`},
		{"image weight without file", nil, []string{"2:"}, nil, "names no image"},
		{"dangling operator", []string{"a", "-"}, nil, nil, `ends with the operator "-"`},
		{"leading operator", []string{"+", "a"}, nil, nil, `starts with the operator "+"`},
		{"two operators", []string{"a", "+", "-", "b"}, nil, nil, `operator "-" follows operator "+"`},
		{"two terms", []string{"white", "sneaker"}, nil, nil, "two terms in a row"},
		{"nothing", nil, nil, nil, "no query"},
		{"only an operator", []string{"-"}, nil, nil, "starts with the operator"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.args, tt.images, exists)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("got %v, %v; want an error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestVector(t *testing.T) {
	terms := []Term{{Weight: 1, Text: "a"}, {Weight: -1, Text: "b"}}
	q, err := Vector(terms, [][]float32{{1, 0}, {0, 1}})
	if err != nil {
		t.Fatal(err)
	}
	if w := float32(1 / math.Sqrt2); math.Abs(float64(q[0]-w)) > 1e-7 || math.Abs(float64(q[1]+w)) > 1e-7 {
		t.Fatalf("a - b = %v", q)
	}
	if _, err := Vector(terms, [][]float32{{1, 0}, {1, 0}}); !errors.Is(err, ErrCancelOut) {
		t.Fatalf("cancelling terms: %v", err)
	}
	if _, err := Vector(terms, [][]float32{{1, 0}}); err == nil {
		t.Fatal("a missing embedding must be an error")
	}
}
