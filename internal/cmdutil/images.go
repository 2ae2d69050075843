package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/fashionclip/fashionclip/internal/output"
	"github.com/fashionclip/fashionclip/internal/source"
	"github.com/fashionclip/fashionclip/pkg/fashionclip"
	"github.com/fashionclip/fashionclip/pkg/imageproc"
)

// InputFlags are the image-input flags shared by classify, embed and bench.
type InputFlags struct {
	MaxDepth   int
	Hidden     bool
	Null       bool
	BatchSize  int
	FastDecode bool
	MaxPixels  int64

	Thumbnails int // edge of the thumbnails to make (0: none)
}

// bind adds the flags; walk is false for commands that take no paths.
func (in *InputFlags) Bind(cmd *cobra.Command, walk bool) {
	fl := cmd.Flags()
	if walk {
		fl.IntVar(&in.MaxDepth, "max-depth", -1, "how deep to walk into folders (-1 = no limit, 0 = the folder's own files)")
		fl.BoolVar(&in.Hidden, "hidden", false, "include hidden files and folders (names starting with '.')")
		fl.BoolVarP(&in.Null, "null", "0", false, "paths on stdin ('-') are NUL-separated, as find -print0 writes them")
	}
	fl.IntVar(&in.BatchSize, "batch-size", 8, "images per ONNX Runtime run")
	fl.BoolVar(&in.FastDecode, "fast-decode", false, "decode large JPEGs at 1/2, 1/4 or 1/8 scale in the DCT domain (faster, not bit-exact)")
	fl.Int64Var(&in.MaxPixels, "max-pixels", 89_478_485, "refuse images with more pixels than this (decompression-bomb guard)")
}

func (in *InputFlags) Validate() error {
	if in.BatchSize < 1 {
		return UsageError("--batch-size must be at least 1")
	}
	if in.MaxPixels < 1 {
		return UsageError("--max-pixels must be positive")
	}
	return nil
}

// modelOptions applies the input flags to the library options. The thread
// budget is shared: ONNX Runtime gets every core but does not spin while idle,
// so decode workers run in its gaps instead of fighting it.
func (in *InputFlags) ModelOptions(o *fashionclip.Options) {
	o.BatchSize = in.BatchSize
	o.FastDecode = in.FastDecode
	o.MaxPixels = in.MaxPixels
	o.NoSpin = true
}

func (in *InputFlags) SourceOptions(f *Factory, shard source.Shard) source.Options {
	return source.Options{MaxDepth: in.MaxDepth, Hidden: in.Hidden, Stdin: f.IO.In, NullSeparated: in.Null, Shard: shard}
}

// ImageRun counts a finished image run's outcomes.
type ImageRun struct {
	OK, Failed int
}

// ImageItem is one walked input on its way through the stream, with what
// the loader made besides the tensor.
type ImageItem struct {
	source.Item
	Thumb []byte // a small JPEG, when asked for (HTML reports)
}

// loader is the stream's loader for walked inputs: an input the walk could
// not use fails as itself. thumbs > 0 also makes a thumbnail of that edge
// from the same decode (the model's view: the centre crop).
func loader(thumbs int) fashionclip.LoadFunc[*ImageItem] {
	return func(ctx context.Context, m *fashionclip.Model, it *ImageItem, dst []float32) ([]float32, error) {
		if it.Err != nil {
			return nil, it.Err
		}
		data, err := m.Preprocessor().ReadFile(ctx, it.Path)
		if err != nil {
			return nil, err
		}
		res, err := m.Preprocessor().Process(ctx, data, imageproc.Request{Dst: dst, Thumbnail: thumbs})
		it.Thumb = res.Thumbnail
		return res.Pixels, err
	}
}

// EncodeItems streams items through the model and calls sink for every
// result, in input order, with a progress bar on a terminal (total: how
// many items will come, -1 unknown). Failed inputs are named on stderr.
func EncodeItems(ctx context.Context, f *Factory, m *fashionclip.Model, in InputFlags, items iter.Seq[source.Item], total func(*progressbar.ProgressBar),
	sink func(fashionclip.Result[*ImageItem]) error) (ImageRun, error) {
	var bar *progressbar.ProgressBar
	if f.IO.ShowProgress() {
		bar = ImageProgress(f, "images", -1)
		if total != nil {
			total(bar)
		}
	}
	var run ImageRun
	var err error
	wrapped := func(yield func(*ImageItem) bool) {
		for it := range items {
			if !yield(&ImageItem{Item: it}) {
				return
			}
		}
	}
	load := loader(in.Thumbnails)
	for r, ferr := range fashionclip.Encode(ctx, m, wrapped, load, fashionclip.StreamOptions{Workers: f.ThreadBudget()}) {
		if ferr != nil {
			err = ferr
			break
		}
		if r.Err != nil {
			// A failed input is an error, not a note: --quiet does not hide it.
			run.Failed++
			f.Errorf("%s: %v", r.Item.Path, r.Err)
		} else {
			run.OK++
		}
		if bar != nil {
			bar.Add(1)
		}
		if err = sink(r); err != nil {
			break
		}
	}
	if bar != nil {
		bar.Finish()
	}
	switch {
	case err == nil:
		return run, nil
	case output.IsClosedPipe(err):
		return run, nil // the reader went away (| head): a quiet, successful end
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		return run, ErrSilentInterrupted
	}
	return run, err
}

// ForEachImage walks the command-line inputs and streams them (see EncodeItems).
func ForEachImage(ctx context.Context, f *Factory, m *fashionclip.Model, args []string, in InputFlags,
	sink func(fashionclip.Result[*ImageItem]) error) (ImageRun, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	walkOpts := in.SourceOptions(f, source.Shard{})
	ch, walkErr := source.Stream(ctx, args, walkOpts)
	items := func(yield func(source.Item) bool) {
		for it := range ch {
			if !yield(it) {
				return
			}
		}
	}
	run, err := EncodeItems(ctx, f, m, in, items, func(bar *progressbar.ProgressBar) { countForETA(ctx, bar, args, walkOpts) }, sink)
	cancel()
	if werr := <-walkErr; err == nil && werr != nil && !errors.Is(werr, context.Canceled) {
		err = werr
	}
	return run, err
}

// ImageProgress is the stderr progress bar of image runs (total -1: unknown).
// It draws through ProgressWriter, so rows and messages written meanwhile
// never share its line.
func ImageProgress(f *Factory, what string, total int) *progressbar.ProgressBar {
	return progressbar.NewOptions(total, progressbar.OptionSetWriter(f.IO.ProgressWriter()),
		progressbar.OptionSetDescription(what), progressbar.OptionShowCount(),
		progressbar.OptionShowIts(), progressbar.OptionSetItsString("img"),
		progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
}

// countForETA walks the inputs a second time, names only, so the progress
// bar can show a total and an ETA; the run itself never waits for it. A list
// on stdin can be read only once, so with '-' the bar shows a rate alone.
func countForETA(ctx context.Context, bar *progressbar.ProgressBar, args []string, opts source.Options) {
	for _, a := range args {
		if a == "-" {
			return
		}
	}
	opts.Stdin = nil
	go func() {
		n := 0
		err := source.Walk(ctx, args, opts, func(source.Item) error { n++; return nil })
		if err == nil && n > 0 {
			bar.ChangeMax(n)
		}
	}()
}

// ExitFor applies the exit-status rules to a finished run.
func (r ImageRun) ExitFor(args []string) error {
	switch {
	case r.OK == 0 && r.Failed == 0:
		return fmt.Errorf("no image found in %v (folders are searched for %v; name a file to use it whatever its extension)", args, source.ImageExtensions)
	case r.OK == 0:
		return fmt.Errorf("every input failed (%d)", r.Failed)
	case r.Failed > 0:
		return &ExitError{Code: ExitPartial, Err: fmt.Errorf("%d of %d inputs failed", r.Failed, r.OK+r.Failed)}
	}
	return nil
}
