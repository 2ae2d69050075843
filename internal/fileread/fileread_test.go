package fileread

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	body := bytes.Repeat([]byte{0xAB}, 3*piece+17)
	big := filepath.Join(dir, "big.jpg")
	os.WriteFile(big, body, 0o644)
	sparse := filepath.Join(dir, "sparse.jpg")
	os.WriteFile(sparse, nil, 0o644)
	os.Truncate(sparse, 3<<30) // 3 GiB, no blocks
	zero := filepath.Join(dir, "zero.jpg")
	os.Symlink("/dev/zero", zero)
	fifo := filepath.Join(dir, "fifo.jpg")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		path    string
		max     int64
		want    []byte
		wantErr error
		mention string
	}{
		{"several pieces", big, 0, body, nil, ""},
		{"within the limit", big, int64(len(body)), body, nil, ""},
		{"a sparse 3 GiB file by its size", sparse, 1 << 30, nil, ErrTooLarge, "above the limit"},
		{"a link to /dev/zero", zero, 0, nil, ErrNotRegular, "character device"},
		{"a FIFO does not block", fifo, 0, nil, ErrNotRegular, "named pipe"},
		{"a folder", dir, 0, nil, ErrNotRegular, "folder"},
		{"missing", filepath.Join(dir, "nope.jpg"), 0, nil, fs.ErrNotExist, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			done := make(chan struct{})
			var got []byte
			var err error
			go func() { defer close(done); got, err = Read(context.Background(), c.path, c.max) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Read blocked")
			}
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) || !strings.Contains(err.Error(), c.mention) || strings.Contains(err.Error(), c.path) {
					t.Fatalf("error %v, want %v saying %q without the path", err, c.wantErr, c.mention)
				}
				return
			}
			if err != nil || !bytes.Equal(got, c.want) {
				t.Fatalf("got %d bytes, %v", len(got), err)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Read(ctx, big, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
