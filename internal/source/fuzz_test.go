package source

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
	"unicode/utf8"
)

// FuzzListChecker: whatever stdin holds, the checker passes on exactly a
// prefix of it, and what it passes within the window is text.
func FuzzListChecker(f *testing.F) {
	f.Add([]byte("a.jpg\nb.jpg\n"), false, false)
	f.Add([]byte("a.jpg\x00b\nc.jpg\x00"), true, true)
	f.Add([]byte(jpegHead), false, true)
	f.Add([]byte("caf\xc3\xa9.jpg\n\xc3"), false, true)
	f.Fuzz(func(t *testing.T, data []byte, nul, oneByte bool) {
		var r io.Reader = bytes.NewReader(data)
		if oneByte {
			r = iotest.OneByteReader(r)
		}
		c := &listChecker{r: r, nul: nul, format: fakeFormat}
		out, err := io.ReadAll(c)
		if !bytes.HasPrefix(data, out) {
			t.Fatalf("passed %q, not a prefix of the input", out)
		}
		var nl *NotAListError
		if err != nil && !errors.As(err, &nl) {
			t.Fatalf("error %v", err)
		}
		if err == nil && len(out) != len(data) {
			t.Fatalf("passed %d of %d bytes without an error", len(out), len(data))
		}
		window := out[:min(len(out), sniffBytes)]
		for i, x := range window {
			if (isControl(x) && x != 0) || (x == 0 && !nul) {
				t.Fatalf("passed byte %#x at %d", x, i)
			}
		}
		if !nul && len(out) == len(data) && !utf8.Valid(window) && len(data) <= sniffBytes {
			t.Fatalf("passed invalid UTF-8 %q", window)
		}
	})
}

// FuzzMatch: the pruning test never refuses a folder below which the
// pattern matches something.
func FuzzMatch(f *testing.F) {
	f.Add("**/a*/**/*.jpg", "x/ab/y/z.jpg", false)
	f.Add("x/**", "x/.h/a", true)
	f.Add("*/[ab]?/**", "q/a1/r", false)
	f.Fuzz(func(t *testing.T, pattern, path string, hidden bool) {
		_, below, ok := splitPattern("base/" + pattern)
		if !ok || len(below) > 8 || checkPattern(below) != nil {
			return
		}
		segs := bytes.Split([]byte(path), []byte("/"))
		if len(segs) > 12 {
			return
		}
		s := make([]string, len(segs))
		for i, b := range segs {
			s[i] = string(b)
		}
		if match(below, s, hidden) {
			for i := 0; i < len(s); i++ {
				if !matchPrefix(below, s[:i], hidden) && !match(below, s[:i], hidden) {
					t.Fatalf("%q matches %q but its folder %q was pruned", pattern, path, s[:i])
				}
			}
		}
	})
}
