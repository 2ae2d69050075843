package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/fashionclip/fashionclip/internal/graphcache"
	"github.com/fashionclip/fashionclip/internal/hub"
	"github.com/fashionclip/fashionclip/internal/ort"
	"github.com/fashionclip/fashionclip/internal/output"
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

// ModelPullOptions are `model pull`'s arguments.
type ModelPullOptions struct {
	f   *Factory
	Ref hub.Ref
}

// NewCmdModelPull builds `fashionclip model pull`.
func NewCmdModelPull(f *Factory, runF func(*ModelPullOptions) error) *cobra.Command {
	opts := &ModelPullOptions{f: f}
	cmd := &cobra.Command{
		Use:   "pull [REPO[@REVISION]]",
		Short: "Download a model (the graphs of one variant, tokenizer, configs) into the cache",
		Long: `Download a model into the Hugging Face cache and print its snapshot folder.

The Hub is asked which commit the revision (default: main) points at; files already cached are
not downloaded again, interrupted downloads resume, and every file is checked against its
sha256 (LFS) or git hash before it is linked. Without REPO, --model or $FASHIONCLIP_MODEL or
the default model is pulled.`,
		Example: `  fashionclip model pull
  fashionclip model pull Xenova/clip-vit-base-patch32@main --variant fp16
  HF_TOKEN=hf_xxx fashionclip model pull my-org/private-clip`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := parseRepoArg(f, args)
			if err != nil {
				return err
			}
			if err := checkVariant(f); err != nil {
				return err
			}
			opts.Ref = ref
			if runF != nil {
				return runF(opts)
			}
			return modelPullRun(cmd.Context(), opts)
		},
	}
	return cmd
}

func modelPullRun(ctx context.Context, o *ModelPullOptions) error {
	f := o.f
	c := hub.NewClient(f.Hub())
	bar := newPullProgress(f, o.Ref.String())
	snap, err := c.Pull(ctx, o.Ref, hub.PullOptions{Variant: f.Flags.Variant, Refresh: true, Progress: bar})
	closeProgress(bar)
	if err != nil {
		return err
	}
	for _, w := range snap.Warnings {
		f.Warnf("%s", w)
	}
	switch {
	case !snap.Network:
		f.Warnf("%s is cached (commit %s; offline, not checked against the Hub)", o.Ref, shortCommit(snap.Commit))
	case len(snap.Fetched) == 0:
		f.Warnf("%s is up to date (commit %s)", o.Ref, shortCommit(snap.Commit))
	default:
		f.Warnf("pulled %s (commit %s): %d files, %s", o.Ref, shortCommit(snap.Commit), len(snap.Fetched), hub.FormatBytes(snap.Bytes))
	}
	_, err = fmt.Fprintln(f.IO.Out, snap.Dir)
	return quietPipe(err)
}

func shortCommit(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}

// ModelListOptions are `model list`'s flags.
type ModelListOptions struct {
	f      *Factory
	Format output.Format
	format string
}

// NewCmdModelList builds `fashionclip model list`.
func NewCmdModelList(f *Factory, runF func(*ModelListOptions) error) *cobra.Command {
	opts := &ModelListOptions{f: f}
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the models in the Hugging Face cache",
		Long: `List the model repos in the Hugging Face cache, with their revisions (refs), snapshots and
size on disk (each blob counted once, as huggingface-cli scan-cache does). Repos downloaded by
Python are listed too.`,
		Example: `  fashionclip model list
  fashionclip model list --format json | jq -r '.[].repo'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := output.Listing.Resolve(opts.format, f.IO.IsStdoutTTY(), output.Table, output.JSON)
			if err != nil {
				return UsageError("%v", err)
			}
			opts.Format = format
			if runF != nil {
				return runF(opts)
			}
			return modelListRun(opts)
		},
	}
	cmd.Flags().StringVarP(&opts.format, "format", "f", "", "table or json (default: table on a terminal, plain text in a pipe)")
	return cmd
}

func modelListRun(o *ModelListOptions) error {
	f := o.f
	cache := f.Hub().CacheDir
	repos, err := hub.List(cache)
	if err != nil {
		return fmt.Errorf("read the Hugging Face cache %s: %w", cache, err)
	}
	if o.Format == output.JSON {
		w := output.NewRecordWriter(f.IO.Out, true)
		for _, r := range repos {
			if err := w.Write(r); err != nil {
				return quietPipe(err)
			}
		}
		return quietPipe(w.Close())
	}
	if len(repos) == 0 {
		f.Warnf("no models in %s; fetch one with `fashionclip model pull`", cache)
		return nil
	}
	t := listTable(f.IO.Out, o.Format, "REPO", "REVISIONS", "SNAPSHOTS", "SIZE", "PATH")
	for _, r := range repos {
		revs := make([]string, 0, len(r.Refs))
		for rev, commit := range r.Refs {
			revs = append(revs, rev+"="+shortCommit(commit))
		}
		sort.Strings(revs)
		if len(revs) == 0 {
			revs = []string{"-"}
		}
		t.Append(r.Repo, strings.Join(revs, " "), fmt.Sprint(len(r.Snapshots)), hub.FormatBytes(r.Size), r.Dir)
	}
	return quietPipe(t.Close())
}

// ModelInfoOptions are `model info`'s arguments.
type ModelInfoOptions struct {
	f      *Factory
	Target string // a repo id or a local folder
	Format output.Format
	format string
}

// NewCmdModelInfo builds `fashionclip model info`.
func NewCmdModelInfo(f *Factory, runF func(*ModelInfoOptions) error) *cobra.Command {
	opts := &ModelInfoOptions{f: f}
	cmd := &cobra.Command{
		Use:   "info [REPO[@REVISION] | FOLDER]",
		Short: "Show a model's files, sizes, layout and graph inputs/outputs",
		Long: `Show a model's files and sizes (from the Hub, or from the cache when offline or when the Hub
cannot be reached), which of them the --variant needs, the layout detected in the cached
snapshot, and, when the graphs are cached and ONNX Runtime loads, their input and output names.
A local model folder is accepted too.`,
		Example: `  fashionclip model info
  fashionclip model info Xenova/clip-vit-base-patch32 --variant quantized
  fashionclip model info ./my-model --format json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Target = f.ModelRef()
			if len(args) > 0 {
				opts.Target = args[0]
			}
			if st, err := os.Stat(opts.Target); err != nil || !st.IsDir() {
				if _, err := hub.ParseRef(opts.Target); err != nil {
					return UsageError("%q is neither a folder nor a repo id: %v", opts.Target, err)
				}
			}
			if err := checkVariant(f); err != nil {
				return err
			}
			format, err := output.Listing.Resolve(opts.format, f.IO.IsStdoutTTY(), output.Table, output.JSON)
			if err != nil {
				return UsageError("%v", err)
			}
			opts.Format = format
			if runF != nil {
				return runF(opts)
			}
			return modelInfoRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.format, "format", "f", "", "table or json (default: table on a terminal, plain text in a pipe)")
	return cmd
}

func modelInfoRun(ctx context.Context, o *ModelInfoOptions) error {
	f := o.f
	inspect := func(path string) ([]hub.IOName, []hub.IOName, error) {
		if _, err := f.Runtime(); err != nil {
			return nil, nil, fmt.Errorf("%w: %v", hub.ErrInspectUnavailable, err)
		}
		in, out, err := ort.Describe(path)
		return ioNames(in), ioNames(out), err
	}
	d, err := hub.NewClient(f.Hub()).Describe(ctx, o.Target, hub.DescribeOptions{Variant: f.Flags.Variant, Inspect: inspect})
	if err != nil {
		return err
	}
	if d.Repo != "" && d.Snapshot == "" {
		d.Notes = append(d.Notes, "not cached: run `fashionclip model pull "+o.Target+variantArg(f.Flags.Variant)+"`")
	}
	return writeModelInfo(f, o.Format, d)
}

func ioNames(infos []ort.IOInfo) []hub.IOName {
	out := make([]hub.IOName, len(infos))
	for i, x := range infos {
		out[i] = hub.IOName{Name: x.Name, Type: x.Type, Shape: x.Shape}
	}
	return out
}

func writeModelInfo(f *Factory, format output.Format, info *hub.Description) error {
	if format == output.JSON {
		return quietPipe(output.NewRecordWriter(f.IO.Out, false).Write(info))
	}
	out := f.IO.Out
	if info.Repo != "" {
		fmt.Fprintf(out, "repo:      %s@%s", info.Repo, info.Revision)
		if info.Commit != "" {
			fmt.Fprintf(out, " (commit %s, from the %s)", info.Commit, info.Source)
		}
		fmt.Fprintln(out)
	}
	fmt.Fprintf(out, "variant:   %s\n", info.Variant)
	snapshot := info.Snapshot
	if snapshot == "" {
		snapshot = "not cached"
	}
	fmt.Fprintf(out, "folder:    %s\n", snapshot)
	if l := info.Layout; l != nil {
		if l.Kind == "split" {
			fmt.Fprintf(out, "layout:    split: %s + %s\n", l.Text, l.Vision)
		} else {
			fmt.Fprintf(out, "layout:    combined: %s\n", l.Combined)
		}
	}
	fmt.Fprintln(out)
	t := listTable(out, format, "FILE", "SIZE", "LFS", "NEEDED", "CACHED")
	for _, mf := range info.Files {
		size := "?"
		if mf.Size >= 0 {
			size = hub.FormatBytes(mf.Size)
		}
		t.Append(mf.Path, size, yesNo(mf.LFS), yesNo(mf.Needed), yesNo(mf.Cached))
	}
	if err := t.Close(); err != nil {
		return quietPipe(err)
	}
	if len(info.Graphs) > 0 {
		fmt.Fprintln(out)
		t := listTable(out, format, "GRAPH", "KIND", "NAME", "TYPE", "SHAPE")
		for _, g := range info.Graphs {
			for _, x := range g.Inputs {
				t.Append(g.Path, "input", x.Name, x.Type, fmt.Sprint(x.Shape))
			}
			for _, x := range g.Outputs {
				t.Append(g.Path, "output", x.Name, x.Type, fmt.Sprint(x.Shape))
			}
		}
		if err := t.Close(); err != nil {
			return quietPipe(err)
		}
	}
	for _, n := range info.Notes {
		f.Warnf("%s", n)
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// ModelRmOptions are `model rm`'s arguments.
type ModelRmOptions struct {
	f   *Factory
	Ref hub.Ref
	Yes bool
}

// NewCmdModelRm builds `fashionclip model rm`.
func NewCmdModelRm(f *Factory, runF func(*ModelRmOptions) error) *cobra.Command {
	opts := &ModelRmOptions{f: f}
	cmd := &cobra.Command{
		Use:     "rm REPO[@REVISION]",
		Aliases: []string{"remove"},
		Short:   "Delete a cached model, or one revision of it",
		Long: `Delete a model from the Hugging Face cache. REPO alone removes every revision; REPO@REVISION
removes that snapshot and the blobs no other snapshot uses.`,
		Example: `  fashionclip model rm Xenova/clip-vit-base-patch32
  fashionclip model rm patrickjohncyh/fashion-clip@v1.0`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := hub.ParseRef(args[0])
			if err != nil {
				return UsageError("%v", err)
			}
			opts.Ref = ref
			if runF != nil {
				return runF(opts)
			}
			return modelRmRun(opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation on a terminal")
	return cmd
}

func modelRmRun(o *ModelRmOptions) error {
	if io := o.f.IO; !o.Yes && io.IsStdinTTY() && io.IsStderrTTY() {
		fmt.Fprintf(io.ErrOut, "Delete %s from the Hugging Face cache (%s)? [y/N] ", o.Ref, o.f.Hub().CacheDir)
		answer, _ := bufio.NewReader(io.In).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			return errors.New("nothing removed")
		}
	}
	res, err := hub.Remove(o.f.Hub().CacheDir, o.Ref)
	if err != nil {
		return err
	}
	// The graphs derived from the deleted blobs go too.
	if gc, err := graphCache(o.f); err == nil && len(res.Blobs) > 0 {
		keys := make([]string, len(res.Blobs))
		for i, sha := range res.Blobs {
			keys[i] = graphcache.BlobKey(sha)
		}
		freed, err := gc.RemoveSources(keys...)
		res.Freed += freed
		if err != nil {
			o.f.Warnf("derived graphs: %v", err)
		}
	}
	what := plural(len(res.Commits), "snapshot")
	if res.Whole {
		what += ", the whole repo"
	}
	o.f.Warnf("removed %s (%s), %s freed", o.Ref, what, hub.FormatBytes(res.Freed))
	return nil
}

// ModelPathOptions are `model path`'s arguments.
type ModelPathOptions struct {
	f   *Factory
	Ref hub.Ref
}

// NewCmdModelPath builds `fashionclip model path`.
func NewCmdModelPath(f *Factory, runF func(*ModelPathOptions) error) *cobra.Command {
	opts := &ModelPathOptions{f: f}
	cmd := &cobra.Command{
		Use:   "path [REPO[@REVISION]]",
		Short: "Print the cached snapshot folder of a model (never downloads)",
		Long: `Print the snapshot folder of a cached model, ready for --model or for other tools. Nothing is
downloaded: when the cache lacks the model (or the --variant's graphs), the command says what is
missing and exits 1.`,
		Example: `  fashionclip model path patrickjohncyh/fashion-clip
  ls "$(fashionclip model path Xenova/clip-vit-base-patch32 --variant quantized)/onnx"`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := parseRepoArg(f, args)
			if err != nil {
				return err
			}
			if err := checkVariant(f); err != nil {
				return err
			}
			opts.Ref = ref
			if runF != nil {
				return runF(opts)
			}
			return modelPathRun(opts)
		},
	}
	return cmd
}

func modelPathRun(o *ModelPathOptions) error {
	snap, err := hub.NewClient(o.f.Hub()).Local(o.Ref, o.f.Flags.Variant)
	if err != nil {
		if errors.Is(err, hub.ErrNotCached) {
			return &ExitError{Code: ExitFatal, Err: err}
		}
		return err
	}
	_, err = fmt.Fprintln(o.f.IO.Out, snap.Dir)
	return quietPipe(err)
}
