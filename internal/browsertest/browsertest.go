// Package browsertest runs Debian's headless Chromium for tests and for
// `make screenshots`, driven through the DevTools protocol (chromedp).
// Tests call Start, which skips them with a message where Chromium is not
// installed (scripts/install-chromium.sh installs it).
package browsertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// EnvChromium names a Chromium binary to use instead of the one on PATH.
const EnvChromium = "FASHIONCLIP_CHROMIUM"

// ErrNoChromium means no Chromium binary was found.
var ErrNoChromium = errors.New("no Chromium found: install Debian's chromium package (scripts/install-chromium.sh) or set $" + EnvChromium)

// Find returns the Chromium binary: $FASHIONCLIP_CHROMIUM, else chromium,
// chromium-browser or google-chrome on PATH.
func Find() (string, error) {
	if p := os.Getenv(EnvChromium); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("$%s: %w", EnvChromium, err)
		}
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", ErrNoChromium
}

// Options tune Launch.
type Options struct {
	// Width and Height are the window size in CSS pixels (default 1280×900).
	Width, Height int
}

// Browser is one headless Chromium with its own fresh profile.
type Browser struct {
	ctx     context.Context // the browser's chromedp context
	cancel  context.CancelFunc
	profile string
}

// Launch starts Chromium. The flags are the ones that work in this
// project's sandboxes and CI: no sandbox (root), no GPU, and no background
// networking of any kind (the network is closed; Chromium would otherwise
// retry Google's hosts at every start).
func Launch(o Options) (*Browser, error) {
	bin, err := Find()
	if err != nil {
		return nil, err
	}
	if o.Width <= 0 || o.Height <= 0 {
		o.Width, o.Height = 1280, 900
	}
	profile, err := os.MkdirTemp("", "fashionclip-chromium-")
	if err != nil {
		return nil, err
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(o.Width, o.Height),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("force-device-scale-factor", "1"),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	b := &Browser{ctx: ctx, profile: profile, cancel: func() { cancel(); acancel() }}
	// The first Run starts the browser; it must not carry a timeout.
	if err := chromedp.Do(ctx); err != nil {
		b.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	return b, nil
}

// Start launches a browser for a test and closes it when the test ends. It
// skips the test when Chromium is missing, and in -short mode.
func Start(t testing.TB, o Options) *Browser {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	b, err := Launch(o)
	if errors.Is(err, ErrNoChromium) {
		t.Skipf("skipping the browser test: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// Close stops Chromium and removes its profile.
func (b *Browser) Close() {
	b.cancel()
	os.RemoveAll(b.profile)
}

// Tab is one browser tab. Ctx runs chromedp actions in it; what the page
// writes to its console is kept for Problems.
type Tab struct {
	Ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	messages []chromedp.ConsoleMessage
}

// Tab opens a new tab whose actions fail after timeout.
func (b *Browser) Tab(timeout time.Duration) (*Tab, error) {
	ctx, cancel := chromedp.NewContext(b.ctx)
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		return nil, err
	}
	tctx, tcancel := context.WithTimeout(ctx, timeout)
	t := &Tab{Ctx: tctx, cancel: func() { tcancel(); cancel() }}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			t.mu.Lock()
			t.messages = append(t.messages, m)
			t.mu.Unlock()
		}
	}()
	return t, nil
}

// NewTab opens a tab for a test, closed when the test ends; at the end the
// test fails if the page threw an exception or logged an error.
func (b *Browser) NewTab(t testing.TB, timeout time.Duration) *Tab {
	t.Helper()
	tab, err := b.Tab(timeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, p := range tab.Problems() {
			t.Errorf("browser console: %s", p)
		}
		tab.Close()
	})
	return tab
}

// Close closes the tab.
func (t *Tab) Close() { t.cancel() }

// Problems are the exceptions and console errors of the page so far.
// Failed loads the browser logs itself (a 401 before the page sends its
// key, a 404 a test asks for) are not: tests check statuses themselves.
func (t *Tab) Problems() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for _, m := range t.messages {
		if m.Source == "network" {
			continue
		}
		if m.IsException() || m.Type == chromedp.ConsoleError {
			out = append(out, strings.TrimSpace(m.String()))
		}
	}
	return out
}

// Eval evaluates a JavaScript expression in the tab (awaiting a promise)
// and decodes its JSON value.
func Eval[T any](t *Tab, js string) (T, error) {
	return chromedp.Run(t.Ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
}

// Screenshot navigates to url, waits for ready (a JavaScript expression
// that becomes true), and returns a PNG of the viewport.
func (t *Tab) Screenshot(url, ready string) ([]byte, error) {
	if err := chromedp.Do(t.Ctx, chromedp.Navigate(url)); err != nil {
		return nil, err
	}
	if ready != "" {
		if err := t.Wait(ready); err != nil {
			return nil, err
		}
	}
	return chromedp.Run(t.Ctx, chromedp.CaptureScreenshot())
}

// Wait polls a JavaScript expression until it is true. A page that was just
// navigated to may swap its JavaScript context under the first polls; those
// are retried.
func (t *Tab) Wait(expr string) error {
	var err error
	for range 5 {
		if _, err = chromedp.Run(t.Ctx, chromedp.Poll[bool](expr)); err == nil || !strings.Contains(err.Error(), "Cannot find context") {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("waiting for %s: %w", expr, err)
	}
	return nil
}
