package cli

import (
	"fmt"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

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

// newPullProgress returns the bar as the library's progress interface (a
// nil interface, not a nil pointer, when no bar belongs on stderr).
func newPullProgress(f *Factory, label string) hub.Progress {
	if !f.IO.ShowProgress() {
		return nil
	}
	return &pullProgress{f: f, label: label, done: map[string]int64{}}
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

// closeProgress clears a pull's bar, if there is one.
func closeProgress(p hub.Progress) {
	if pp, ok := p.(*pullProgress); ok {
		pp.mu.Lock()
		defer pp.mu.Unlock()
		if pp.bar != nil {
			pp.bar.Finish()
		}
	}
}

// NewCmdModel builds `fashionclip model`.
func NewCmdModel(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "model",
		Short: "Download and manage models in the Hugging Face cache",
		Long: `Download and manage FashionCLIP models in the Hugging Face cache.

Models live where huggingface_hub keeps them ($HF_HUB_CACHE, else $HF_HOME/hub, else
~/.cache/huggingface/hub), in the same layout, so a model downloaded with Python is used here
without network and the other way round. Only the ONNX graphs of the chosen --variant and the
tokenizer and config files are downloaded.

Any command given --model owner/name pulls the model on first use. Later runs use the cached
snapshot without asking the Hub while it is complete; 'model pull' asks the Hub whether the
revision moved and fetches what changed. With --offline or HF_HUB_OFFLINE=1 nothing touches
the network. HF_TOKEN authenticates for gated or private repos; HF_ENDPOINT picks a mirror.`,
		Example: `  fashionclip model pull Xenova/clip-vit-base-patch32 --variant quantized
  fashionclip model list
  fashionclip model info patrickjohncyh/fashion-clip --format json
  fashionclip classify --model Xenova/clip-vit-base-patch32 --labels shirt,dress photo.jpg`,
	}
	cmd.AddCommand(NewCmdModelPull(f, nil), NewCmdModelList(f, nil), NewCmdModelInfo(f, nil),
		NewCmdModelRm(f, nil), NewCmdModelPath(f, nil))
	cmd.AddCommand(NewCmdModelQuantize(f, nil))
	return cmd
}

// parseRepoArg reads an owner/name[@rev] argument (default: --model or the
// default model).
func parseRepoArg(f *Factory, args []string) (hub.Ref, error) {
	s := f.ModelRef()
	if len(args) > 0 {
		s = args[0]
	}
	ref, err := hub.ParseRef(s)
	if err != nil {
		return hub.Ref{}, UsageError("%v", err)
	}
	return ref, nil
}

func checkVariant(f *Factory) error {
	if _, err := hub.VariantSuffix(f.Flags.Variant); err != nil {
		return UsageError("--variant: %v", err)
	}
	return nil
}

// ModelInfoOptions are `model info`'s arguments.
