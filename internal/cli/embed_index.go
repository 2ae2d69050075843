package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/fashionclip/fashionclip/internal/buildinfo"
	"github.com/fashionclip/fashionclip/internal/index"
	"github.com/fashionclip/fashionclip/internal/source"
	"github.com/fashionclip/fashionclip/pkg/fashionclip"
)

// Environment variables that give the shard number of a batch job.
const (
	envJobIndex       = "JOB_COMPLETION_INDEX" // Kubernetes Indexed Job
	envSlurmTaskID    = "SLURM_ARRAY_TASK_ID"
	envSlurmTaskMin   = "SLURM_ARRAY_TASK_MIN"
	envSlurmTaskCount = "SLURM_ARRAY_TASK_COUNT"
)

// bindEmbedIndexFlags adds the flags that only make sense with -o.
func bindEmbedIndexFlags(cmd *cobra.Command, o *EmbedOptions) {
	fl := cmd.Flags()
	fl.StringVar(&o.Dtype, "dtype", "", "vector type in the index: float32 or float16 (default: the index's own; float32 for a new one)")
	fl.BoolVar(&o.Hash, "hash", false, "tell changed files by SHA-256 of their bytes (stored in the index) instead of size and mtime")
	fl.StringVar(&o.Shard, "shard", "", "embed only shard K of N (K/N, 0 ≤ K < N): the inputs whose path hash mod N is K")
	fl.IntVar(&o.Shards, "shards", 0, "number of shards N when K comes from $"+envJobIndex+" or $"+envSlurmTaskID)
	fl.Int("commit-every", index.DefaultCommitEvery, "commit the index after this many new items (a crash loses at most these)")
	prev := cmd.PreRunE
	cmd.PreRunE = func(cmd *cobra.Command, args []string) error {
		if o.Index == "" {
			for _, name := range []string{"dtype", "hash", "shard", "shards", "commit-every"} {
				if cmd.Flags().Changed(name) {
					return UsageError("--%s only applies with -o INDEX", name)
				}
			}
		}
		if prev != nil {
			return prev(cmd, args)
		}
		return nil
	}
	cmd.Long += `

With -o INDEX the embeddings go into an index folder instead (see docs/index.md):
float32 (or --dtype float16) .npy chunks, Parquet item tables and manifest.json.
A rerun embeds only new or changed files (size and mtime, or content with --hash),
drops the rows of files that no longer exist, and refuses an index made by another
model. The index is committed every --commit-every items and survives kill -9.
--shard K/N (or $` + envJobIndex + ` with --shards N, or a Slurm array) embeds one
shard; join the shard indexes with 'fashionclip index merge'.`
	cmd.Example += `
  fashionclip embed catalog/ -o catalog.idx --dtype float16 --hash
  fashionclip embed catalog/ -o shard-3.idx --shard 3/8`
}

// shardFromFlags resolves --shard, --shards and the batch-job variables.
func shardFromFlags(f *Factory, spec string, shards int, shardsSet bool) (source.Shard, error) {
	if shardsSet && shards < 1 {
		return source.Shard{}, UsageError("--shards must be at least 1")
	}
	if spec != "" {
		if shardsSet {
			return source.Shard{}, UsageError("give --shard K/N or --shards N, not both")
		}
		ks, ns, ok := strings.Cut(spec, "/")
		k, kerr := strconv.Atoi(strings.TrimSpace(ks))
		n, nerr := strconv.Atoi(strings.TrimSpace(ns))
		if !ok || kerr != nil || nerr != nil || n < 1 || k < 0 || k >= n {
			return source.Shard{}, UsageError("--shard %q: want K/N with 0 ≤ K < N, e.g. 0/4", spec)
		}
		return source.Shard{Index: k, Of: n}, nil
	}
	envInt := func(name string) (int, bool, error) {
		v := strings.TrimSpace(f.Getenv(name))
		if v == "" {
			return 0, false, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, true, UsageError("$%s=%q is not a number", name, v)
		}
		return n, true, nil
	}
	if k, ok, err := envInt(envJobIndex); err != nil {
		return source.Shard{}, err
	} else if ok {
		if !shardsSet {
			if k == 0 {
				return source.Shard{}, nil // an Indexed Job of one: nothing to split
			}
			return source.Shard{}, UsageError("$%s=%d (a Kubernetes Indexed Job): give --shards N, the Job's completions", envJobIndex, k)
		}
		if k < 0 || k >= shards {
			return source.Shard{}, UsageError("$%s=%d is not below --shards %d", envJobIndex, k, shards)
		}
		return source.Shard{Index: k, Of: shards}, nil
	}
	if id, ok, err := envInt(envSlurmTaskID); err != nil {
		return source.Shard{}, err
	} else if ok {
		lo, _, err := envInt(envSlurmTaskMin)
		if err != nil {
			return source.Shard{}, err
		}
		n := shards
		if !shardsSet {
			c, ok, err := envInt(envSlurmTaskCount)
			if err != nil {
				return source.Shard{}, err
			}
			if !ok {
				return source.Shard{}, UsageError("$%s is set but $%s is not: give --shards N", envSlurmTaskID, envSlurmTaskCount)
			}
			n = c
		}
		k := id - lo
		if n < 1 || k < 0 || k >= n {
			return source.Shard{}, UsageError("Slurm array task %d (min %d) is not a shard of %d", id, lo, n)
		}
		return source.Shard{Index: k, Of: n}, nil
	}
	if shardsSet && shards > 1 {
		return source.Shard{}, UsageError("--shards %d needs the shard number: --shard K/N, $%s or $%s", shards, envJobIndex, envSlurmTaskID)
	}
	return source.Shard{}, nil
}

// indexModelInfo describes the loaded model for the manifest.
func indexModelInfo(m *fashionclip.Model) (index.ModelInfo, error) {
	id, err := m.Identity()
	return index.ModelInfo{Repo: id.Repo, Revision: id.Revision, Folder: id.Folder, Graph: id.Graph}, err
}

// preprocessRecord is the preprocessing written to the manifest.
func preprocessRecord(m *fashionclip.Model, in InputFlags) json.RawMessage {
	c := m.PreprocessConfig()
	b, _ := json.Marshal(map[string]any{
		"shortest_edge": c.ShortestEdge, "crop_height": c.CropHeight, "crop_width": c.CropWidth,
		"mean": c.Mean, "std": c.Std, "rescale_factor": c.RescaleFactor,
		"do_resize": c.DoResize, "do_center_crop": c.DoCenterCrop, "do_rescale": c.DoRescale,
		"do_normalize": c.DoNormalize, "resample": "bicubic", "fast_decode": in.FastDecode,
	})
	return b
}

// fileState is what change detection compares.
type fileState struct {
	size  int64
	mtime time.Time
	sha   string
}

// embedPlan is the result of walking the inputs against the index.
type embedPlan struct {
	todo      []string // paths to embed, in input order
	state     map[string]fileState
	seen      map[string]bool // every path the walk found (embedded or not)
	roots     []string        // what the walk covered, for deletions
	unchanged int
	failed    int
	complete  bool // the walk ran to its end
}

// planImages walks the inputs (the same walk forEachImage does), stats (and
// with --hash reads) every file, and keeps those the index lacks or holds
// in an older state.
func planImages(ctx context.Context, f *Factory, o *EmbedOptions, shard source.Shard, w *index.Writer) (*embedPlan, error) {
	p := &embedPlan{state: map[string]fileState{}, seen: map[string]bool{}}
	var items []source.Item
	roots := map[string]bool{}
	err := source.Walk(ctx, o.Inputs, o.In.sourceOptions(f, shard), func(it source.Item) error {
		roots[it.Arg] = true
		items = append(items, it)
		return nil
	})
	if err != nil {
		return p, err
	}
	for _, a := range o.Inputs {
		if a != "-" {
			roots[a] = true
		}
	}
	for r := range roots {
		p.roots = append(p.roots, r)
	}

	// Stat (and hash) in parallel: on a network disk this is the slow part.
	states := make([]fileState, len(items))
	errs := make([]error, len(items))
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(4, f.ThreadBudget()))
	for i, it := range items {
		if it.Err != nil {
			errs[i] = it.Err
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			states[i], errs[i] = statFile(it.Path, o.Hash)
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return p, err
	}
	for i, it := range items {
		if errs[i] != nil {
			p.failed++
			f.Errorf("%s: %v", it.Path, errs[i])
			continue
		}
		if p.seen[it.Path] {
			continue // named twice
		}
		p.seen[it.Path] = true
		st := states[i]
		old, ok := w.Lookup(index.PathKey(it.Path))
		if ok && ((o.Hash && old.SHA256 == st.sha) || (!o.Hash && old.Size == st.size && old.MTime.Equal(st.mtime))) {
			p.unchanged++
			continue
		}
		p.state[it.Path] = st
		p.todo = append(p.todo, it.Path)
	}
	p.complete = true
	return p, nil
}

func statFile(path string, hash bool) (fileState, error) {
	st, err := os.Stat(path)
	if err != nil {
		return fileState{}, err
	}
	if st.IsDir() {
		return fileState{}, fmt.Errorf("is a folder")
	}
	s := fileState{size: st.Size(), mtime: st.ModTime().UTC()}
	if hash {
		fh, err := os.Open(path)
		if err != nil {
			return s, err
		}
		defer fh.Close()
		h := sha256.New()
		if _, err := io.Copy(h, fh); err != nil {
			return s, err
		}
		s.sha = hex.EncodeToString(h.Sum(nil))
	}
	return s, nil
}

// covers reports whether the walk over roots would have found path, had it
// still existed: only such rows may be dropped as deleted.
func (p *embedPlan) covers(path string) bool {
	for _, r := range p.roots {
		if r == path {
			return true
		}
		if strings.ContainsAny(r, "*?[") {
			if ok, _ := filepath.Match(r, path); ok {
				return true
			}
		}
		if rel, err := filepath.Rel(r, path); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// indexRunStats is the summary printed at the end of embed -o.
type indexRunStats struct {
	added, replaced, removed, unchanged, texts int
}

func embedIndexRun(cmd *cobra.Command, o *EmbedOptions) (err error) {
	ctx := cmd.Context()
	f := o.f
	commitEvery, _ := cmd.Flags().GetInt("commit-every")
	if commitEvery < 1 {
		return UsageError("--commit-every must be at least 1")
	}
	if o.Dtype != "" && o.Dtype != index.DTypeFloat32 && o.Dtype != index.DTypeFloat16 {
		return UsageError("--dtype %q: want float32 or float16", o.Dtype)
	}
	shard, err := shardFromFlags(f, o.Shard, o.Shards, cmd.Flags().Changed("shards"))
	if err != nil {
		return err
	}
	texts, err := o.allTexts()
	if err != nil {
		return err
	}
	m, err := f.LoadModel(ctx, "", o.In.modelOptions)
	if err != nil {
		return err
	}
	defer m.Close()
	info, err := indexModelInfo(m)
	if err != nil {
		return err
	}
	w, err := index.OpenWriter(o.Index, index.Options{Model: info, DType: o.Dtype, CommitEvery: commitEvery,
		Preprocess: preprocessRecord(m, o.In), ToolVersion: buildinfo.Version})
	if err != nil {
		return err
	}
	// Whatever happens below, what was embedded is committed: a rerun then
	// starts from there.
	defer func() {
		if cerr := w.Close(); cerr != nil && (err == nil || errors.Is(err, errSilentInterrupted)) {
			err = fmt.Errorf("commit index %s: %w", o.Index, cerr)
		}
	}()

	var st indexRunStats
	// Texts go into shard 0 only, so merged shards hold each text once.
	if len(texts) > 0 && shard.Index == 0 {
		var todo []string
		seen := map[string]bool{}
		for _, t := range texts {
			if _, ok := w.Lookup(index.TextKey(t)); !ok && !seen[t] {
				todo = append(todo, t)
			}
			seen[t] = true
		}
		if len(todo) > 0 {
			embs, err := m.EncodeTexts(ctx, todo)
			if err != nil {
				return err
			}
			for i, t := range todo {
				if err := w.Add(index.Item{Text: t, IsText: true}, embs[i]); err != nil {
					return err
				}
			}
		}
		st.texts = len(todo)
	} else if len(texts) > 0 {
		f.Warnf("texts are added by shard 0 only (this is shard %d/%d)", shard.Index, shard.Of)
	}
	if len(o.Inputs) == 0 {
		reportIndexRun(f, o.Index, w, st)
		return nil
	}

	plan, err := planImages(ctx, f, o, shard, w)
	if err != nil {
		if ctx.Err() != nil {
			return errSilentInterrupted
		}
		return err
	}
	st.unchanged = plan.unchanged
	var run imageRun
	if len(plan.todo) > 0 {
		items := func(yield func(source.Item) bool) {
			for _, p := range plan.todo {
				if !yield(source.Item{Path: p, Arg: p, Rel: p}) {
					return
				}
			}
		}
		total := func(bar *progressbar.ProgressBar) { bar.ChangeMax(len(plan.todo)) }
		run, err = encodeItems(ctx, f, m, items, total, func(r fashionclip.Result[source.Item]) error {
			key := index.PathKey(r.Item.Path)
			if r.Err != nil {
				w.Remove(key) // the file changed into something unreadable: its old row is stale
				return nil
			}
			if _, ok := w.Lookup(key); ok {
				st.replaced++
			} else {
				st.added++
			}
			s := plan.state[r.Item.Path]
			return w.Add(index.Item{Path: r.Item.Path, Size: s.size, MTime: s.mtime, SHA256: s.sha}, r.Embedding)
		})
		if err != nil {
			return err
		}
	}

	// Rows of files that are gone: only those the walk would have found,
	// so that a run over another folder keeps what it did not look at.
	if plan.complete && ctx.Err() == nil {
		var gone []string
		w.Keys(func(key string, it index.Item) {
			if it.IsText || plan.seen[it.Path] || !plan.covers(it.Path) {
				return
			}
			if _, err := os.Lstat(it.Path); errors.Is(err, fs.ErrNotExist) {
				gone = append(gone, key)
			}
		})
		for _, k := range gone {
			w.Remove(k)
		}
		st.removed = len(gone)
	}
	if err := w.Commit(); err != nil {
		return err
	}
	reportIndexRun(f, o.Index, w, st)
	total := imageRun{ok: run.ok + plan.unchanged, failed: run.failed + plan.failed}
	return total.exitFor(o.Inputs)
}

func reportIndexRun(f *Factory, dir string, w *index.Writer, st indexRunStats) {
	if err := w.Commit(); err != nil {
		return // Close reports it
	}
	m := w.Manifest()
	f.Warnf("%s: %d added, %d replaced, %d removed, %d unchanged, %d texts added; %d items, %d garbage rows",
		dir, st.added, st.replaced, st.removed, st.unchanged, st.texts, m.Items(), m.Garbage())
}
