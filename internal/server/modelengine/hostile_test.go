package modelengine

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"image"
	"image/jpeg"
	"net/http"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/fashionclip/fashionclip/internal/server"
)

// progressiveBomb is a w×h progressive JPEG whose last scan is repeated
// repeats more times: legal enough for libjpeg (it warns about the bogus
// progression and goes on), and each repeat costs a pass over every
// coefficient block. It needs jpegtran (Debian's libjpeg-turbo-progs).
func progressiveBomb(t testing.TB, w, h, repeats int) []byte {
	t.Helper()
	jpegtran, err := exec.LookPath("jpegtran")
	if err != nil {
		t.Skip("jpegtran not found (apt-get install libjpeg-turbo-progs): it makes the progressive JPEG")
	}
	img := image.NewGray(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Pix[y*img.Stride+x] = byte((x + y) * 255 / (w + h)) // smooth: refinement scans stay tiny
		}
	}
	var baseline bytes.Buffer
	if err := jpeg.Encode(&baseline, img, &jpeg.Options{Quality: 30}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(jpegtran, "-progressive")
	cmd.Stdin = &baseline
	prog, err := cmd.Output()
	if err != nil {
		t.Fatalf("jpegtran: %v", err)
	}
	// The last scan runs from the last SOS marker to EOI.
	last := bytes.LastIndex(prog, []byte{0xFF, 0xDA})
	eoi := bytes.LastIndex(prog, []byte{0xFF, 0xD9})
	if last < 0 || eoi < last {
		t.Fatal("jpegtran output has no scan")
	}
	out := append([]byte(nil), prog[:eoi]...)
	for range repeats {
		out = append(out, prog[last:eoi]...)
	}
	return append(out, 0xFF, 0xD9)
}

// TestHostileDecodeStress tries once to reproduce issue 13's SIGSEGV:
// two requests decode a 6000×6000 progressive JPEG of ~600 repeated scans
// under a 10 s timeout with two decode workers, then the server idles with
// a text request now and then. A crash kills the test binary. It also
// checks what bounded decoding promises today: the requests are answered
// at their timeout, not when the decoder finally stops. Opt-in (-long):
// it runs for minutes.
func TestHostileDecodeStress(t *testing.T) {
	if !*longTests {
		t.Skip("hostile decode stress test runs with -long")
	}
	bomb := progressiveBomb(t, 6000, 6000, 600)
	t.Logf("bomb: %d KB", len(bomb)>>10)
	eng := tinyEngine(t)
	start := time.Now()
	_, err := eng.Preprocess(context.Background(), bomb)
	t.Logf("one decode took %v (err %v)", time.Since(start), err)

	url, _ := serve(t, eng, server.Config{Timeout: 10 * time.Second, DecodeWorkers: 2})
	body, _ := json.Marshal(map[string]any{"input": "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(bomb)})
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			resp, err := client.Post(url+"/v1/embeddings", "application/json", bytes.NewReader(body))
			if err != nil {
				t.Errorf("bomb request %d: %v", i, err)
				return
			}
			resp.Body.Close()
			took := time.Since(start)
			t.Logf("bomb request %d: %d after %v", i, resp.StatusCode, took.Round(time.Millisecond))
			if resp.StatusCode != http.StatusServiceUnavailable && resp.StatusCode != http.StatusBadRequest {
				t.Errorf("bomb request %d: status %d", i, resp.StatusCode)
			}
			if took > 15*time.Second {
				t.Errorf("bomb request %d answered after %v, past its 10 s timeout", i, took)
			}
		}()
	}
	wg.Wait()
	small := testImages(t)[0]
	imgBody, _ := json.Marshal(map[string]any{"input": small.dataURL()})
	deadline := time.Now().Add(5 * time.Minute)
	for n := 0; time.Now().Before(deadline); n++ {
		resp, err := client.Post(url+"/v1/embeddings", "application/json", bytes.NewReader([]byte(`{"input": "a red dress"}`)))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("text request %d after the bombs: %v %v", n, resp, err)
		}
		resp.Body.Close()
		resp, err = client.Post(url+"/v1/embeddings", "application/json", bytes.NewReader(imgBody))
		if err != nil {
			t.Fatalf("image request %d: %v", n, err)
		}
		resp.Body.Close()
		t.Logf("%v: text 200, image %d", time.Since(start).Round(time.Second), resp.StatusCode)
		time.Sleep(30 * time.Second)
	}
}

// TestPreprocessStopsWhenCancelled: a slow legal decode (a 6000×6000
// progressive JPEG within the scan limit) ends soon after its request's
// context does, instead of holding a decode slot to the end.
func TestPreprocessStopsWhenCancelled(t *testing.T) {
	bomb := progressiveBomb(t, 6000, 6000, 80)
	eng := tinyEngine(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := eng.Preprocess(ctx, bomb)
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("after cancel: %v, want context.Canceled", err)
		}
	case <-time.After(20 * time.Second): // a bound on hanging, not a speed target
		t.Fatal("the decode ignored its cancelled context")
	}
}
