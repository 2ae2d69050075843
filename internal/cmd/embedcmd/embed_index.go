package embedcmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/fashionclip/fashionclip/internal/buildinfo"
	"github.com/fashionclip/fashionclip/internal/cmdutil"
	"github.com/fashionclip/fashionclip/internal/index"
	"github.com/fashionclip/fashionclip/internal/source"
	"github.com/fashionclip/fashionclip/pkg/fashionclip"
)

// Environment variables that give the shard number of a batch job.
const (
	EnvJobIndex       = "JOB_COMPLETION_INDEX" // Kubernetes Indexed Job
	EnvSlurmTaskID    = "SLURM_ARRAY_TASK_ID"
	EnvSlurmTaskMin   = "SLURM_ARRAY_TASK_MIN"
	EnvSlurmTaskCount = "SLURM_ARRAY_TASK_COUNT"
)

// bindEmbedIndexFlags adds the flags that only make sense with -o.
func bindEmbedIndexFlags(cmd *cobra.Command, o *EmbedOptions) {
	fl := cmd.Flags()
	fl.StringVar(&o.Dtype, "dtype", "", "vector type in the index: float32 or float16 (default: the index's own; float32 for a new one)")
	fl.BoolVar(&o.Hash, "hash", false, "tell changed files by SHA-256 of their bytes (stored in the index) instead of size and mtime")
	fl.StringVar(&o.Shard, "shard", "", "embed only shard K of N (K/N, 0 ≤ K < N): the inputs whose path hash mod N is K")
	fl.IntVar(&o.Shards, "shards", 0, "number of shards N when K comes from $"+EnvJobIndex+" or $"+EnvSlurmTaskID)
	fl.Int("commit-every", index.DefaultCommitEvery, "commit the index after this many new items (a crash loses at most these)")
	prev := cmd.PreRunE
	cmd.PreRunE = func(cmd *cobra.Command, args []string) error {
		if o.Index == "" {
			for _, name := range []string{"dtype", "hash", "shard", "shards", "commit-every"} {
				if cmd.Flags().Changed(name) {
					return cmdutil.UsageError("--%s only applies with -o INDEX", name)
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
--shard K/N (or $` + EnvJobIndex + ` with --shards N, or a Slurm array) embeds one
shard; join the shard indexes with 'fashionclip index merge'.`
	cmd.Example += `
  fashionclip embed catalog/ -o catalog.idx --dtype float16 --hash
  fashionclip embed catalog/ -o shard-3.idx --shard 3/8`
}

// shardFromFlags resolves --shard, --shards and the batch-job variables.
func shardFromFlags(f *cmdutil.Factory, spec string, shards int, shardsSet bool) (source.Shard, error) {
	if shardsSet && shards < 1 {
		return source.Shard{}, cmdutil.UsageError("--shards must be at least 1")
	}
	if spec != "" {
		if shardsSet {
			return source.Shard{}, cmdutil.UsageError("give --shard K/N or --shards N, not both")
		}
		ks, ns, ok := strings.Cut(spec, "/")
		k, kerr := strconv.Atoi(strings.TrimSpace(ks))
		n, nerr := strconv.Atoi(strings.TrimSpace(ns))
		if !ok || kerr != nil || nerr != nil || n < 1 || k < 0 || k >= n {
			return source.Shard{}, cmdutil.UsageError("--shard %q: want K/N with 0 ≤ K < N, e.g. 0/4", spec)
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
			return 0, true, cmdutil.UsageError("$%s=%q is not a number", name, v)
		}
		return n, true, nil
	}
	if k, ok, err := envInt(EnvJobIndex); err != nil {
		return source.Shard{}, err
	} else if ok {
		if !shardsSet {
			if k == 0 {
				return source.Shard{}, nil // an Indexed Job of one: nothing to split
			}
			return source.Shard{}, cmdutil.UsageError("$%s=%d (a Kubernetes Indexed Job): give --shards N, the Job's completions", EnvJobIndex, k)
		}
		if k < 0 || k >= shards {
			return source.Shard{}, cmdutil.UsageError("$%s=%d is not below --shards %d", EnvJobIndex, k, shards)
		}
		return source.Shard{Index: k, Of: shards}, nil
	}
	if id, ok, err := envInt(EnvSlurmTaskID); err != nil {
		return source.Shard{}, err
	} else if ok {
		lo, _, err := envInt(EnvSlurmTaskMin)
		if err != nil {
			return source.Shard{}, err
		}
		n := shards
		if !shardsSet {
			c, ok, err := envInt(EnvSlurmTaskCount)
			if err != nil {
				return source.Shard{}, err
			}
			if !ok {
				return source.Shard{}, cmdutil.UsageError("$%s is set but $%s is not: give --shards N", EnvSlurmTaskID, EnvSlurmTaskCount)
			}
			n = c
		}
		k := id - lo
		if n < 1 || k < 0 || k >= n {
			return source.Shard{}, cmdutil.UsageError("Slurm array task %d (min %d) is not a shard of %d", id, lo, n)
		}
		return source.Shard{Index: k, Of: n}, nil
	}
	if shardsSet && shards > 1 {
		return source.Shard{}, cmdutil.UsageError("--shards %d needs the shard number: --shard K/N, $%s or $%s", shards, EnvJobIndex, EnvSlurmTaskID)
	}
	return source.Shard{}, nil
}

// preprocessRecord is the preprocessing written to the manifest.
func preprocessRecord(m *fashionclip.Model, in cmdutil.InputFlags) json.RawMessage {
	c := m.PreprocessConfig()
	b, _ := json.Marshal(map[string]any{
		"shortest_edge": c.ShortestEdge, "crop_height": c.CropHeight, "crop_width": c.CropWidth,
		"mean": c.Mean, "std": c.Std, "rescale_factor": c.RescaleFactor,
		"do_resize": c.DoResize, "do_center_crop": c.DoCenterCrop, "do_rescale": c.DoRescale,
		"do_normalize": c.DoNormalize, "resample": "bicubic", "fast_decode": in.FastDecode,
	})
	return b
}

// embedIndexRun brings the index -o names up to date with the inputs: the
// plan (what is new, changed, unchanged or gone) is internal/index's Sync;
// this streams the planned files through the model and reports.
func embedIndexRun(cmd *cobra.Command, o *EmbedOptions) (err error) {
	ctx := cmd.Context()
	f := o.f
	commitEvery, _ := cmd.Flags().GetInt("commit-every")
	if commitEvery < 1 {
		return cmdutil.UsageError("--commit-every must be at least 1")
	}
	if o.Dtype != "" && o.Dtype != index.DTypeFloat32 && o.Dtype != index.DTypeFloat16 {
		return cmdutil.UsageError("--dtype %q: want float32 or float16", o.Dtype)
	}
	shard, err := shardFromFlags(f, o.Shard, o.Shards, cmd.Flags().Changed("shards"))
	if err != nil {
		return err
	}
	rule := index.BySizeMTime
	if o.Hash {
		rule = index.BySHA256
	}
	texts, err := o.allTexts()
	if err != nil {
		return err
	}
	// Texts go into shard 0 only, so merged shards hold each text once.
	if len(texts) > 0 && shard.Index != 0 {
		f.Warnf("texts are added by shard 0 only (this is shard %d/%d)", shard.Index, shard.Of)
		texts = nil
	}
	m, err := f.LoadModel(ctx, "", o.In.ModelOptions)
	if err != nil {
		return err
	}
	defer m.Close()
	info, err := cmdutil.IndexModelInfo(m)
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
		if cerr := w.Close(); cerr != nil && (err == nil || errors.Is(err, cmdutil.ErrSilentInterrupted)) {
			err = fmt.Errorf("commit index %s: %w", o.Index, cerr)
		} else if errors.Is(err, cmdutil.ErrSilentInterrupted) {
			m := w.Manifest()
			f.Errorf("interrupted: %s holds %s as committed; rerun the same command to go on", o.Index, cmdutil.Plural(m.Items(), "item"))
		}
	}()

	walk := o.In.SourceOptions(f, shard)
	var walked []source.Item
	if len(o.Inputs) > 0 {
		err := source.Walk(ctx, o.Inputs, walk, func(it source.Item) error {
			walked = append(walked, it)
			return nil
		})
		if err != nil {
			return interruptedOr(ctx, err)
		}
	}
	plan, err := index.NewSync(ctx, w, walked, texts, index.SyncOptions{Rule: rule, Args: o.Inputs, Walk: walk,
		Workers: max(4, f.ThreadBudget())})
	if err != nil {
		return interruptedOr(ctx, err)
	}
	for _, e := range plan.Failed() {
		f.Errorf("%v", e)
	}
	if todo := plan.Texts(); len(todo) > 0 {
		embs, err := m.EncodeTexts(ctx, todo)
		if err != nil {
			return interruptedOr(ctx, err)
		}
		for i, t := range todo {
			if err := reportInput(f, plan.ApplyText(t, embs[i])); err != nil {
				return err
			}
		}
	}
	if files := plan.Files(); len(files) > 0 {
		items := func(yield func(source.Item) bool) {
			for _, file := range files {
				if !yield(source.Item{Path: file.Name, Arg: file.Name, Rel: file.Name}) {
					return
				}
			}
		}
		total := func(bar *progressbar.ProgressBar) { bar.ChangeMax(len(files)) }
		_, err := cmdutil.EncodeItems(ctx, f, m, o.In, items, total, func(r fashionclip.Result[*cmdutil.ImageItem]) error {
			err := plan.Apply(r.Item.Path, r.Embedding, r.Err)
			if r.Err != nil {
				return nil // EncodeItems named it; Apply dropped its stale row
			}
			return reportInput(f, err)
		})
		if err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return cmdutil.ErrSilentInterrupted
	}
	if err := plan.Finish(); err != nil {
		return err
	}
	st := plan.Stats()
	reportIndexRun(f, o.Index, w, st)
	if len(o.Inputs) == 0 {
		if st.Failed == 0 {
			return nil
		}
		return cmdutil.ImageRun{OK: len(texts) - st.Failed, Failed: st.Failed}.ExitFor(nil)
	}
	return cmdutil.ImageRun{OK: st.Added + st.Replaced + st.Unchanged, Failed: st.Failed}.ExitFor(o.Inputs)
}

// reportInput names a failed input (an *index.InputError) on stderr and
// lets the run go on; any other error ends it.
func reportInput(f *cmdutil.Factory, err error) error {
	var ie *index.InputError
	if errors.As(err, &ie) {
		f.Errorf("%v", ie)
		return nil
	}
	return err
}

// interruptedOr is ErrSilentInterrupted when the run was stopped, else err.
func interruptedOr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return cmdutil.ErrSilentInterrupted
	}
	return err
}

// reportIndexRun prints the counts of a finished run; they add up: live
// items after = before + added + texts − removed.
func reportIndexRun(f *cmdutil.Factory, dir string, w *index.Writer, st index.SyncStats) {
	m := w.Manifest()
	f.Warnf("%s: %d added, %d replaced, %d removed, %d unchanged, %s added; %s, %s",
		dir, st.Added, st.Replaced, st.Removed(), st.Unchanged, cmdutil.Plural(st.Texts, "text"), cmdutil.Plural(m.Items(), "item"), cmdutil.Plural(m.Garbage(), "garbage row"))
}
