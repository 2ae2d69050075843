package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/fashionclip/fashionclip/internal/output"
	"github.com/fashionclip/fashionclip/internal/pipeline"
	"github.com/fashionclip/fashionclip/internal/source"
	"github.com/fashionclip/fashionclip/pkg/fashionclip"
)

// InputFlags are the image-input flags shared by classify, embed and bench.
type InputFlags struct {
	MaxDepth   int
	Hidden     bool
	Null       bool
	BatchSize  int
	FastDecode bool
	MaxPixels  int64
}

func (in *InputFlags) bind(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.IntVar(&in.MaxDepth, "max-depth", -1, "how deep to walk into folders (-1 = no limit, 0 = the folder's own files)")
	fl.BoolVar(&in.Hidden, "hidden", false, "include hidden files and folders (names starting with '.')")
	fl.BoolVarP(&in.Null, "null", "0", false, "paths on stdin ('-') are NUL-separated, as find -print0 writes them")
	fl.IntVar(&in.BatchSize, "batch-size", 8, "images per ONNX Runtime run")
	fl.BoolVar(&in.FastDecode, "fast-decode", false, "decode large JPEGs at 1/2, 1/4 or 1/8 scale in the DCT domain (faster, not bit-exact)")
	fl.Int64Var(&in.MaxPixels, "max-pixels", 89_478_485, "refuse images with more pixels than this (decompression-bomb guard)")
}

func (in *InputFlags) validate() error {
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
func (in *InputFlags) modelOptions(o *fashionclip.Options) {
	o.BatchSize = in.BatchSize
	o.FastDecode = in.FastDecode
	o.MaxPixels = in.MaxPixels
	o.NoSpin = true
}

// imageRun is a running image pipeline and the bookkeeping every command needs.
type imageRun struct {
	ok, failed int
}

// forEachImage streams the inputs through the model and calls sink for every
// result, in input order. Failed inputs are named on stderr; the caller turns
// the counts into an exit status with exitFor.
func forEachImage(ctx context.Context, f *Factory, m *fashionclip.Model, args []string, in InputFlags,
	shard source.Shard, sink func(pipeline.Result) error) (imageRun, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	items, walkErr := source.Stream(ctx, args, source.Options{
		MaxDepth: in.MaxDepth, Hidden: in.Hidden, Stdin: f.IO.In, NullSeparated: in.Null, Shard: shard,
	})
	pre := m.Preprocessor()
	results, wait := pipeline.Run(ctx, items, func(path string, dst []float32) ([]float32, error) {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		return pre.Reuse(dst, data)
	}, m, pipeline.Options{Workers: f.ThreadBudget(), BatchSize: in.BatchSize})

	var bar *progressbar.ProgressBar
	if f.IO.ShowProgress() {
		bar = imageProgress(f, "images", -1)
		countForETA(ctx, bar, args, source.Options{MaxDepth: in.MaxDepth, Hidden: in.Hidden, Shard: shard})
	}
	var run imageRun
	var sinkErr error
	for r := range results {
		if sinkErr != nil {
			continue // drain so the stages can stop
		}
		if r.Err != nil && ctx.Err() != nil {
			continue // cancelled work is not an input failure
		}
		if r.Err != nil {
			// A failed input is an error, not a note: --quiet does not hide it.
			run.failed++
			if bar != nil {
				bar.Clear()
			}
			fmt.Fprintf(f.IO.ErrOut, "fashionclip: %s: %v\n", r.Item.Path, r.Err)
		} else {
			run.ok++
		}
		if bar != nil {
			bar.Add(1)
		}
		if err := sink(r); err != nil {
			sinkErr = err
			cancel()
		}
	}
	if bar != nil {
		bar.Finish()
	}
	fatal := wait()
	werr := <-walkErr
	if sinkErr != nil {
		if output.IsClosedPipe(sinkErr) {
			return run, nil // the reader went away (| head): a quiet, successful end
		}
		return run, sinkErr
	}
	if fatal != nil && !errors.Is(fatal, context.Canceled) {
		return run, fatal
	}
	if werr != nil && !errors.Is(werr, context.Canceled) {
		return run, werr
	}
	if ctx.Err() != nil {
		return run, errSilentInterrupted
	}
	return run, nil
}

// imageProgress is the stderr progress bar of image runs (total -1: unknown).
func imageProgress(f *Factory, what string, total int) *progressbar.ProgressBar {
	return progressbar.NewOptions(total, progressbar.OptionSetWriter(f.IO.ErrOut),
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
	go func() {
		n := 0
		err := source.Walk(ctx, args, opts, func(source.Item) error { n++; return nil })
		if err == nil && n > 0 {
			bar.ChangeMax(n)
		}
	}()
}

// exitFor applies the exit-status rules to a finished run.
func (r imageRun) exitFor(args []string) error {
	switch {
	case r.ok == 0 && r.failed == 0:
		return fmt.Errorf("no image found in %v (folders are searched for %v; name a file to use it whatever its extension)", args, source.ImageExtensions)
	case r.ok == 0:
		return fmt.Errorf("every input failed (%d)", r.failed)
	case r.failed > 0:
		return &ExitError{Code: ExitPartial, Err: fmt.Errorf("%d of %d inputs failed", r.failed, r.ok+r.failed)}
	}
	return nil
}
