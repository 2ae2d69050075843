package source

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// fakeFormat stands in for the decoder's magic-bytes check.
func fakeFormat(head []byte) string {
	switch {
	case strings.HasPrefix(string(head), "\xff\xd8\xff"):
		return "JPEG"
	case strings.HasPrefix(string(head), "\x89PNG\r\n\x1a\n"):
		return "PNG"
	}
	return ""
}

const jpegHead = "\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"

func TestStdinThatIsNotAList(t *testing.T) {
	root := makeTree(t, "a.jpg", "café.jpg", "l\xe9gacy.jpg", "new\nline.jpg")
	a, cafe, latin1, nl := filepath.Join(root, "a.jpg"), filepath.Join(root, "café.jpg"), filepath.Join(root, "l\xe9gacy.jpg"), filepath.Join(root, "new\nline.jpg")
	cases := []struct {
		name    string
		input   string
		null    bool
		format  func([]byte) string
		oneByte bool // the producer writes a byte at a time
		want    []string
		problem ListProblem
		format2 string
	}{
		{name: "text lines", input: a + "\n" + cafe + "\r\n", want: []string{a, cafe}},
		{name: "UTF-8 split across reads", input: cafe + "\n" + a + "\n", oneByte: true, want: []string{cafe, a}},
		{name: "NUL-separated names are bytes", input: latin1 + "\x00" + nl + "\x00", null: true, want: []string{latin1, nl}},
		{name: "a JPEG, named", input: jpegHead + "rest", format: fakeFormat, problem: ListImage, format2: "JPEG"},
		{name: "a JPEG named a byte at a time", input: jpegHead + "rest", format: fakeFormat, oneByte: true, problem: ListImage, format2: "JPEG"},
		{name: "a PNG with -0, named", input: "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", null: true, format: fakeFormat, problem: ListImage, format2: "PNG"},
		{name: "a JPEG without a sniffer is binary", input: jpegHead, problem: ListInvalidUTF8},
		{name: "NUL bytes in a line list", input: a + "\x00" + cafe + "\x00", problem: ListNUL},
		{name: "invalid UTF-8 in a line list", input: a + "\n" + latin1 + "\n", problem: ListInvalidUTF8},
		// The complete line before the bad bytes came in a read of its own.
		{name: "a truncated UTF-8 sequence at the end", input: a + "\n\xc3", oneByte: true, want: []string{a}, problem: ListInvalidUTF8},
		{name: "control characters", input: a + "\n\x1b[31mred.jpg\n", problem: ListControl},
		{name: "binary with -0", input: "\x01\x02\x03\x00\x04", null: true, problem: ListControl},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var in io.Reader = strings.NewReader(c.input)
			if c.oneByte {
				in = iotest.OneByteReader(in)
			}
			var got []string
			err := Walk(context.Background(), []string{"-"}, Options{MaxDepth: -1, Stdin: in, NullSeparated: c.null, ImageFormat: c.format},
				func(it Item) error {
					if it.Err != nil {
						t.Errorf("%q: %v", it.Path, it.Err)
					}
					got = append(got, it.Path)
					return nil
				})
			if c.problem == 0 {
				if err != nil || !reflect.DeepEqual(got, c.want) {
					t.Fatalf("got %q, %v; want %q", got, err, c.want)
				}
				return
			}
			var nl *NotAListError
			if !errors.As(err, &nl) || nl.Problem != c.problem || nl.Format != c.format2 {
				t.Fatalf("error %v, want problem %d (format %q)", err, c.problem, c.format2)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("paths %q emitted from input that is not a list, want %q", got, c.want)
			}
			if strings.Contains(nl.Error(), "-0") || strings.Contains(nl.Error(), "--") {
				t.Fatalf("%q names a flag", nl.Error())
			}
		})
	}
}

func TestStdinCheckedOnlyAtFirst(t *testing.T) {
	// Past the first 8 KiB a list is trusted: a long list costs no scan.
	root := makeTree(t, "a.jpg")
	a := filepath.Join(root, "a.jpg")
	list := strings.Repeat(a+"\n", sniffBytes/len(a)+2) + "\x1bnot checked\n"
	n := 0
	err := Walk(context.Background(), []string{"-"}, Options{MaxDepth: -1, Stdin: strings.NewReader(list)}, func(it Item) error {
		n++
		return nil
	})
	if err != nil || n != sniffBytes/len(a)+3 {
		t.Fatalf("%d items, %v", n, err)
	}
}
