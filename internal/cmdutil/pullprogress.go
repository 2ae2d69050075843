package cmdutil

import (
	"fmt"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/fashionclip/fashionclip/internal/hub"
)

// pullProgress draws one bar for all the files of a pull on stderr. It is
// nil (and every method a no-op) when no bar belongs on stderr.
type pullProgress struct {
	f     *Factory
	label string
	mu    sync.Mutex
	bar   *progressbar.ProgressBar
	done  map[string]int64
}

// NewPullProgress returns the bar as the library's progress interface (a
// nil interface, not a nil pointer, when no bar belongs on stderr).
func NewPullProgress(f *Factory, label string) hub.Progress {
	if !f.IO.ShowProgress() {
		return nil
	}
	return &pullProgress{f: f, label: label, done: map[string]int64{}}
}

// CloseProgress clears a pull's bar, if there is one.
func CloseProgress(p hub.Progress) {
	if pp, ok := p.(*pullProgress); ok {
		pp.mu.Lock()
		defer pp.mu.Unlock()
		if pp.bar != nil {
			pp.bar.Finish()
		}
	}
}

func (p *pullProgress) Start(files []hub.FileSize) {
	var total int64
	for _, fs := range files {
		if fs.Size < 0 {
			total = -1
			break
		}
		total += fs.Size
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	label := p.label
	if label == "" {
		label = "model"
	}
	p.bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(p.f.IO.ProgressWriter()),
		progressbar.OptionSetDescription(fmt.Sprintf("%s (%d files)", label, len(files))),
		progressbar.OptionShowBytes(true), progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
}

func (p *pullProgress) Update(path string, done, _ int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done[path] = done
	var sum int64
	for _, n := range p.done {
		sum += n
	}
	if p.bar != nil {
		p.bar.Set64(sum)
	}
}

// Finish ends the bar once the last file is done.
func (p *pullProgress) Finish(string, error) {}
