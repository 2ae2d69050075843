package hub

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
)

// PullOptions tune Pull.
type PullOptions struct {
	// Variant picks the graphs: "" or "fp32", "fp16", "quantized", ...
	Variant string
	// Refresh asks the Hub what the revision points at even when the cache
	// already holds a complete snapshot for it (`model pull` does).
	Refresh bool
	// Progress receives byte counts; nil means none.
	Progress Progress
}

// Pull makes the variant of ref available in the cache and returns its
// snapshot.
//
// Re-checking refs: huggingface_hub asks the Hub on every call whether a
// branch moved. Pull does not: when refs/{revision} names a snapshot that
// already holds the variant's graphs and a tokenizer, it is used with no
// request at all, so runs are fast and work on a plane. Refresh (used by
// `fashionclip model pull`) asks the Hub and fetches what changed. When the
// Hub cannot be reached during a refresh, a complete cached snapshot is
// used with a warning.
//
// Offline (Config.Offline): no request is ever made; the cache must hold
// the variant, else the error says what is missing.
func (c *Client) Pull(ctx context.Context, ref Ref, opts PullOptions) (*Snapshot, error) {
	prog := opts.Progress
	if prog == nil {
		prog = nopProgress{}
	}
	if _, err := VariantSuffix(opts.Variant); err != nil {
		return nil, err
	}
	if c.cfg.Offline {
		return c.Local(ref, opts.Variant)
	}
	if !opts.Refresh {
		if s, err := c.Local(ref, opts.Variant); err == nil {
			return s, nil
		}
	}
	info, err := c.Info(ctx, ref)
	if err != nil {
		if ctx.Err() == nil && errors.Is(err, ErrUnreachable) {
			if s, lerr := c.Local(ref, opts.Variant); lerr == nil {
				s.Warnings = append(s.Warnings, fmt.Sprintf("%v; using cached snapshot %s", err, short(s.Commit)))
				return s, nil
			}
		}
		return nil, err
	}
	paths := make([]string, len(info.Files))
	for i, f := range info.Files {
		paths[i] = f.Path
	}
	sel, err := SelectFiles(paths, opts.Variant)
	if err != nil {
		var he *Error
		if errors.As(err, &he) {
			e := *he
			e.Msg = fmt.Sprintf("%s (commit %s): %s", ref, short(info.Commit), he.Msg)
			return nil, e.withRef(ref, opts.Variant)
		}
		return nil, err
	}
	repoDir := c.repoDir(ref.Repo)
	snap := snapshotDir(repoDir, info.Commit)
	var todo []RemoteFile
	for _, p := range sel.Files {
		if st, err := os.Stat(filepath.Join(snap, filepath.FromSlash(p))); err == nil && st.Mode().IsRegular() {
			continue
		}
		rf, _ := info.File(p)
		todo = append(todo, rf)
	}
	out := &Snapshot{Repo: ref.Repo, Revision: ref.Revision, Commit: info.Commit, Dir: snap,
		Layout: sel.Kind, Graphs: sel.Graphs, Files: sel.Files, Network: true}
	if len(todo) > 0 {
		if err := c.checkSpace(repoDir, todo); err != nil {
			var he *Error
			if errors.As(err, &he) {
				he.withRef(ref, opts.Variant)
			}
			return nil, err
		}
		sizes := make([]FileSize, len(todo))
		for i, rf := range todo {
			sizes[i] = FileSize{rf.Path, rf.Size}
		}
		prog.Start(sizes)
		if err := c.fetchAll(ctx, ref, info.Commit, todo, prog, out); err != nil {
			return nil, err
		}
	}
	if ref.Revision != info.Commit {
		if err := writeRef(repoDir, ref.Revision, info.Commit); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// fetchAll downloads files in parallel (at most c.Parallel at a time); the
// first failure cancels the rest.
func (c *Client) fetchAll(ctx context.Context, ref Ref, commit string, todo []RemoteFile, prog Progress, out *Snapshot) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	parallel := c.Parallel
	if parallel < 1 {
		parallel = 1
	}
	sem := make(chan struct{}, parallel)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for _, rf := range todo {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			n, err := c.fetchFile(ctx, ref, commit, rf, prog)
			prog.Finish(rf.Path, err)
			mu.Lock()
			defer mu.Unlock()
			out.Bytes += n
			if err != nil {
				if firstErr == nil && !(errors.Is(err, context.Canceled) && ctx.Err() != nil) {
					var he *Error
					if !errors.As(err, &he) {
						err = fmt.Errorf("download %s from %s: %w", rf.Path, ref.Repo, err)
					}
					firstErr = err
				}
				cancel()
				return
			}
			out.Fetched = append(out.Fetched, rf.Path)
		}()
	}
	wg.Wait()
	sort.Strings(out.Fetched)
	if firstErr != nil {
		return firstErr
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return nil
}

// checkSpace refuses a pull that cannot fit, before any byte is written.
// Blobs already present (shared with another snapshot) and bytes of
// interrupted downloads count as done.
func (c *Client) checkSpace(repoDir string, todo []RemoteFile) error {
	blobs := filepath.Join(repoDir, "blobs")
	if err := os.MkdirAll(blobs, 0o777); err != nil {
		return err
	}
	var need int64
	for _, rf := range todo {
		if rf.Size <= 0 {
			continue
		}
		n := rf.Size
		if guess := firstNonEmpty(rf.SHA256, rf.BlobID); guess != "" && etagPattern.MatchString(guess) {
			if blobPresent(filepath.Join(blobs, guess), rf.Size) {
				continue
			}
			if st, err := os.Stat(filepath.Join(blobs, guess+".incomplete")); err == nil && st.Size() <= n {
				n -= st.Size()
			}
		}
		need += n
	}
	if need == 0 || c.FreeSpace == nil {
		return nil
	}
	free, err := c.FreeSpace(blobs)
	if err != nil {
		return nil // unknown: let the writes tell
	}
	if uint64(need) > free {
		return newError(ErrDiskSpace, "not enough free disk space in %s: the download needs %s and %s is free",
			blobs, FormatBytes(need), FormatBytes(int64(free)))
	}
	return nil
}

// FormatBytes prints a byte count for people: 605.1 MB.
func FormatBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}
