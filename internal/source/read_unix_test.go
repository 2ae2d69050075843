//go:build unix

package source

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

var errNotImage = errors.New("unsupported image format")

// jpegOnly stands in for the decoder's header check.
func jpegOnly(head []byte) error {
	if !bytes.HasPrefix(head, []byte("\xff\xd8\xff")) {
		return errNotImage
	}
	return nil
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	body := append([]byte(jpegHead), bytes.Repeat([]byte{0xAB}, 3*readChunk+17)...)
	small := write("small.jpg", []byte(jpegHead))
	big := write("big.jpg", body)
	text := write("notes.jpg", []byte("hello, world"))
	empty := write("empty.jpg", nil)
	sparse := filepath.Join(dir, "sparse.jpg")
	if err := os.WriteFile(sparse, []byte(jpegHead), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(sparse, 3<<30); err != nil { // 3 GiB, no blocks
		t.Fatal(err)
	}
	zero := filepath.Join(dir, "zero.jpg")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo.jpg")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		path    string
		opts    ReadOptions
		want    []byte
		wantErr error
		mention string // in the message
	}{
		{name: "a small file", path: small, opts: ReadOptions{CheckHeader: jpegOnly}, want: []byte(jpegHead)},
		{name: "a file of several chunks", path: big, opts: ReadOptions{CheckHeader: jpegOnly}, want: body},
		{name: "an empty file reaches the check", path: empty, opts: ReadOptions{CheckHeader: jpegOnly}, wantErr: errNotImage},
		{name: "an empty file without a check", path: empty, want: []byte{}},
		{name: "the header check refuses early", path: text, opts: ReadOptions{CheckHeader: jpegOnly}, wantErr: errNotImage},
		{name: "a sparse 3 GiB file by its size", path: sparse, wantErr: ErrFileTooLarge, mention: "3.2 GB, above the limit of 256.0 MB"},
		{name: "a lower limit", path: big, opts: ReadOptions{MaxSize: readChunk}, wantErr: ErrFileTooLarge},
		{name: "no limit", path: big, opts: ReadOptions{MaxSize: -1}, want: body},
		{name: "a link to /dev/zero", path: zero, wantErr: ErrNotRegular, mention: "character device"},
		{name: "a FIFO does not block", path: fifo, wantErr: ErrNotRegular, mention: "named pipe"},
		{name: "a folder", path: dir, wantErr: ErrNotRegular, mention: "folder"},
		{name: "missing", path: filepath.Join(dir, "nope.jpg"), wantErr: os.ErrNotExist},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			done := make(chan struct{})
			var got []byte
			var err error
			go func() { defer close(done); got, err = ReadFile(context.Background(), c.path, c.opts) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("ReadFile blocked")
			}
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("error %v, want %v", err, c.wantErr)
				}
				if !strings.Contains(err.Error(), c.mention) || strings.Contains(err.Error(), c.path) || strings.Contains(err.Error(), "--") {
					t.Fatalf("message %q: want it to say %q, without the path or a flag", err, c.mention)
				}
				return
			}
			if err != nil || !bytes.Equal(got, c.want) {
				t.Fatalf("got %d bytes, %v; want %d bytes", len(got), err, len(c.want))
			}
		})
	}
}

func TestReadFileHonoursTheContext(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "big.jpg")
	if err := os.WriteFile(p, bytes.Repeat([]byte{1}, 4*readChunk), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	// The header check runs after the first read: cancel there, and the
	// next chunk is never read.
	_, err := ReadFile(ctx, p, ReadOptions{CheckHeader: func([]byte) error { calls++; cancel(); return nil }})
	if !errors.Is(err, context.Canceled) || calls != 1 {
		t.Fatalf("error %v after %d checks, want context.Canceled", err, calls)
	}
}

func BenchmarkReadFile(b *testing.B) {
	p := filepath.Join(b.TempDir(), "photo.jpg")
	if err := os.WriteFile(p, bytes.Repeat([]byte{0xAB}, 2<<20), 0o644); err != nil {
		b.Fatal(err)
	}
	b.Run("source.ReadFile", func(b *testing.B) {
		for b.Loop() {
			if _, err := ReadFile(context.Background(), p, ReadOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("os.ReadFile", func(b *testing.B) {
		for b.Loop() {
			if _, err := os.ReadFile(p); err != nil {
				b.Fatal(err)
			}
		}
	})
}
