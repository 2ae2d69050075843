package fuzzseed

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEncodeAndWrite(t *testing.T) {
	got, err := Encode([]byte("a\x00\"b"), "é\n")
	if err != nil {
		t.Fatal(err)
	}
	want := "go test fuzz v1\n[]byte(\"a\\x00\\\"b\")\nstring(\"é\\n\")\n"
	if string(got) != want {
		t.Fatalf("Encode = %q, want %q", got, want)
	}
	if _, err := Encode(3); err == nil {
		t.Fatal("an int was accepted")
	}
	dir := t.TempDir()
	if err := Write(dir, "FuzzX", "seed", []byte("x")); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "FuzzX", "seed-*"))
	if len(files) != 1 {
		t.Fatalf("files %v", files)
	}
	b, _ := os.ReadFile(files[0])
	if !strings.HasPrefix(string(b), "go test fuzz v1\n") {
		t.Fatalf("content %q", b)
	}
}
