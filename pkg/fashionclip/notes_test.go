package fashionclip

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fashionclip/fashionclip/internal/synth"
)

// The first load of a combined model says it is preparing the model before
// the cut (seconds for ViT-B/32), then what it did; later loads say nothing.
func TestPreparingNoteComesFirst(t *testing.T) {
	rt := testRuntime(t)
	dir := filepath.Join(t.TempDir(), "model")
	if err := synth.Write(dir, "combined", synth.Tiny()); err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	load := func() string {
		var log logBuffer
		m, err := rt.Load(context.Background(), dir, Options{CacheDir: cache, Logger: slog.New(slog.NewTextHandler(&log, nil))})
		if err != nil {
			t.Fatal(err)
		}
		m.Close()
		return log.buf.String()
	}
	first := load()
	before, after := strings.Index(first, "preparing "), strings.Index(first, "cut into text and vision graphs in")
	if before < 0 || after < before {
		t.Errorf("first load: want the preparing note before the prepared one:\n%s", first)
	}
	if second := load(); strings.Contains(second, "preparing") || strings.Contains(second, "cut into") {
		t.Errorf("second load repeated the notes:\n%s", second)
	}
}
