package modelengine

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fashionclip/fashionclip/internal/server"
	"github.com/fashionclip/fashionclip/internal/synth"
	"github.com/fashionclip/fashionclip/internal/testutil"
	"github.com/fashionclip/fashionclip/pkg/fashionclip"
)

// modelBatch is the ONNX Runtime batch cap of test models: at least any
// server MaxBatch used here, so one micro-batch is one encoder run.
const modelBatch = 64

var (
	tmpRoot  string // removed by TestMain
	tinyOnce sync.Once
	tinyEng  *Engine
	tinyErr  error
)

func TestMain(m *testing.M) {
	var err error
	if tmpRoot, err = os.MkdirTemp("", "fashionclip-serve-test-"); err != nil {
		panic(err)
	}
	code := m.Run()
	if tinyEng != nil {
		tinyEng.Model().Close()
	}
	os.RemoveAll(tmpRoot)
	os.Exit(code)
}

// loadEngine loads a model folder with split graphs cached under tmpRoot.
func loadEngine(t testing.TB, dir string) (*Engine, error) {
	t.Helper()
	rt, err := fashionclip.NewRuntime(fashionclip.RuntimeOptions{Library: testutil.ORTLibrary(t)})
	if err != nil {
		return nil, err
	}
	m, err := rt.Load(context.Background(), dir, fashionclip.Options{
		// NoSpin as serve sets it: decoding shares the cores.
		BatchSize: modelBatch, NoSpin: true, CacheDir: filepath.Join(tmpRoot, "graphs"),
	})
	if err != nil {
		return nil, err
	}
	e, err := New(context.Background(), m)
	if err != nil {
		m.Close()
		return nil, err
	}
	return e, nil
}

// tinyEngine is the synthetic tiny CLIP (the reference kit's shapes),
// generated and loaded once per test binary and shared: Model is safe for
// concurrent use.
func tinyEngine(t testing.TB) *Engine {
	t.Helper()
	testutil.ORTLibrary(t)
	tinyOnce.Do(func() {
		dir := filepath.Join(tmpRoot, "tiny")
		if tinyErr = synth.Write(dir, "combined", synth.Tiny()); tinyErr == nil {
			tinyEng, tinyErr = loadEngine(t, dir)
		}
	})
	if tinyErr != nil {
		t.Fatal(tinyErr)
	}
	return tinyEng
}

// testImage is an encoded image with its file for the library's own path.
type testImage struct {
	path string
	data []byte
}

func (im testImage) dataURL() string {
	mime := "image/jpeg"
	if strings.HasSuffix(im.path, ".png") {
		mime = "image/png"
	}
	return "data:" + mime + ";base64," + base64.StdEncoding.EncodeToString(im.data)
}

// testImages are the reference kit's JPEGs (progressive, CMYK, EXIF-rotated,
// ...) when ../shared is there, else the repository's sample images.
func testImages(t testing.TB) []testImage {
	t.Helper()
	var paths []string
	if _, err := os.Stat(filepath.Join(filepath.Dir(testutil.ModuleRoot(t)), "shared", "reference", "images")); err == nil {
		paths, _ = filepath.Glob(filepath.Join(testutil.ReferenceDir(t), "images", "*.jpg"))
	}
	if len(paths) == 0 {
		paths, _ = filepath.Glob(filepath.Join(testutil.ModuleRoot(t), "testdata", "images", "*"))
	}
	if len(paths) == 0 {
		t.Fatal("no test images found")
	}
	out := make([]testImage, len(paths))
	for i, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = testImage{path: p, data: b}
	}
	return out
}

// serve runs a real server for eng on 127.0.0.1:0 until the test ends and
// returns its base URL.
func serve(t testing.TB, eng server.Engine, cfg server.Config) (string, *server.Server) {
	t.Helper()
	s, err := server.New(eng, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("server did not shut down")
		}
	})
	return "http://" + ln.Addr().String(), s
}

// client is an HTTP client for loopback tests with a hard per-request cap.
var client = &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 128}}

// maxDiff is the largest absolute difference between two vectors; a length
// mismatch counts as infinitely different.
func maxDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return 1e9
	}
	var d float64
	for i := range a {
		d = max(d, abs(float64(a[i])-float64(b[i])))
	}
	return d
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// decodeFloat32Base64 reads a base64 embedding: little-endian float32s.
func decodeFloat32Base64(s string) ([]float32, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("base64 embedding has %d bytes, not a multiple of 4", len(b))
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out, nil
}
