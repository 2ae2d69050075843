package index

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/fashionclip/fashionclip/internal/source"
)

// A Sync brings an index up to date with a walk over its inputs: which
// files are new or changed (and must be embedded), which are unchanged,
// and which rows belong to files that are gone. The caller embeds the
// files it lists and hands each result to Apply; Finish drops the rows of
// vanished files and commits. Counts are kept as it goes, so that they
// add up: live items after = before + Added + Texts − Removed().

// ChangeRule says how a rerun tells that an indexed file changed.
type ChangeRule int

const (
	// BySizeMTime: a file is unchanged when its size and modification time
	// equal its row's.
	BySizeMTime ChangeRule = iota
	// BySHA256: when the SHA-256 of its bytes equals its row's. Every file
	// is read in full while planning, and the hash is stored in its row.
	BySHA256
)

// SyncOptions tune NewSync.
type SyncOptions struct {
	Rule ChangeRule
	// Args are the walk's inputs as given (files, folders, glob patterns;
	// "-" is skipped, the walked items' Args name the lines it read), and
	// Walk the options it ran with. A row whose file is gone is dropped
	// only when that walk would have found the file, by the walk's own
	// rules (source.Options.Covers: named, or under a folder or matching a
	// pattern with the extension, hidden-name, depth, link and shard rules
	// applied). A run over another folder, or with a narrower walk, leaves
	// the rows it did not look at alone.
	Args []string
	Walk source.Options
	// Workers stat (and hash) files in parallel (default 4): on a network
	// disk this is the slow part of a rerun.
	Workers int
}

// File is a file to embed.
type File struct {
	// Name is the file as walked: what to open, and what Apply takes.
	Name string
	// Item is what its row will hold: the item path, and the size,
	// modification time (and SHA-256) the file had when it was planned.
	Item Item
	// Replaces tells that the index holds a row of an older state of it.
	Replaces bool
}

// InputError is an input that could not be indexed; the run goes on.
type InputError struct {
	Name string // the file as walked, or a text quoted
	Err  error
}

func (e *InputError) Error() string { return e.Name + ": " + e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// SyncStats count what a Sync did.
type SyncStats struct {
	Added     int // new files embedded
	Replaced  int // changed files embedded again; their old rows became garbage
	Unchanged int // files left as they were
	// Vanished counts rows dropped because their file is gone;
	// Unreadable rows of changed files that could not be embedded any
	// more (their old vector is stale).
	Vanished, Unreadable int
	Texts                int // texts added
	// Failed counts inputs that could not be used: walk, stat and hash
	// errors while planning, and files that failed to embed.
	Failed int
}

// Removed is the number of rows dropped without a replacement.
func (s SyncStats) Removed() int { return s.Vanished + s.Unreadable }

// Sync is a planned update of an index. It is not safe for concurrent use.
type Sync struct {
	w        *Writer
	walk     source.Options
	cwd      string
	files    []File
	byName   map[string]int
	applied  []bool
	texts    []string
	textTodo map[string]bool
	failed   []*InputError
	seen     map[string]bool // keys of the files the walk found
	roots    []string        // the walk's arguments, "-" replaced by the lines it read
	stats    SyncStats
}

// NewSync plans an update of w from the items of a complete walk and the
// texts to index (texts already indexed, or given twice, are skipped).
// It stats every walked file (and with BySHA256 reads it) in parallel; a
// file that is not a regular file, or cannot be read, is a failed input.
func NewSync(ctx context.Context, w *Writer, walked []source.Item, texts []string, o SyncOptions) (*Sync, error) {
	if o.Workers <= 0 {
		o.Workers = 4
	}
	cwd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	s := &Sync{w: w, walk: o.Walk, cwd: cwd, byName: map[string]int{}, textTodo: map[string]bool{}, seen: map[string]bool{}}
	roots := map[string]bool{}
	addRoot := func(r string) {
		if r != "" && r != "-" && !roots[r] {
			roots[r] = true
			s.roots = append(s.roots, r)
		}
	}
	for _, a := range o.Args {
		addRoot(a)
	}
	for _, it := range walked {
		addRoot(it.Arg)
	}

	states := make([]fileState, len(walked))
	errs := make([]error, len(walked))
	var wg sync.WaitGroup
	sem := make(chan struct{}, o.Workers)
	for i, it := range walked {
		if it.Err != nil {
			errs[i] = it.Err
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			states[i], errs[i] = statFile(ctx, it.Path, o.Rule == BySHA256)
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for i, it := range walked {
		if errs[i] != nil {
			s.failed = append(s.failed, &InputError{Name: it.Path, Err: errs[i]})
			continue
		}
		item := Item{Path: w.ItemPath(it.Path), Size: states[i].size, MTime: states[i].mtime, SHA256: states[i].sha}
		key := item.Key()
		if s.seen[key] {
			continue // named twice (perhaps under two names)
		}
		s.seen[key] = true
		old, indexed := w.Lookup(key)
		if indexed && unchanged(o.Rule, old, item) {
			s.stats.Unchanged++
			continue
		}
		s.byName[it.Path] = len(s.files)
		s.files = append(s.files, File{Name: it.Path, Item: item, Replaces: indexed})
	}
	s.applied = make([]bool, len(s.files))
	s.stats.Failed = len(s.failed)

	for _, t := range texts {
		if _, indexed := w.Lookup(TextKey(t)); !indexed && !s.textTodo[t] {
			s.textTodo[t] = true
			s.texts = append(s.texts, t)
		}
	}
	return s, nil
}

func unchanged(rule ChangeRule, old, now Item) bool {
	if rule == BySHA256 {
		return old.SHA256 != "" && old.SHA256 == now.SHA256
	}
	return old.Size == now.Size && old.MTime.Equal(now.MTime)
}

// fileState is what change detection compares.
type fileState struct {
	size  int64
	mtime time.Time
	sha   string
}

// statFile describes a regular file (links followed), hashing it when
// asked; reading stops when ctx is cancelled.
func statFile(ctx context.Context, name string, hash bool) (fileState, error) {
	st, err := os.Stat(name)
	if err != nil {
		return fileState{}, withoutPath(err)
	}
	if !st.Mode().IsRegular() {
		return fileState{}, errNotRegular
	}
	s := fileState{size: st.Size(), mtime: st.ModTime().UTC()}
	if !hash {
		return s, nil
	}
	f, _, err := openRegular(name)
	if err != nil {
		return s, withoutPath(err)
	}
	defer f.Close()
	if s.sha, err = hashSHA256(ctx, f); err != nil && ctx.Err() == nil {
		err = withoutPath(err)
	}
	return s, err
}

// Files are the files to embed, in walk order.
func (s *Sync) Files() []File { return s.files }

// Texts are the texts to embed, in the order given.
func (s *Sync) Texts() []string { return s.texts }

// Failed are the inputs that could not be used while planning, in walk
// order (already counted in Stats().Failed).
func (s *Sync) Failed() []*InputError { return s.failed }

// Stats are the counts so far.
func (s *Sync) Stats() SyncStats { return s.stats }

// Apply records the outcome of embedding the planned file name: its
// vector, or the error that kept it from being embedded. A file that
// failed loses its old row, if it had one: the file changed into
// something that no longer embeds, so that row is stale. Apply returns an
// *InputError when the file is a failed input (embedErr, or a vector
// Writer.Add refuses): report it and go on. Any other error concerns the
// index itself (a failed commit) and ends the run.
func (s *Sync) Apply(name string, vec []float32, embedErr error) error {
	i, ok := s.byName[name]
	if !ok {
		return fmt.Errorf("index sync: %s was not planned", name)
	}
	if s.applied[i] {
		return fmt.Errorf("index sync: %s was applied twice", name)
	}
	s.applied[i] = true
	f := &s.files[i]
	if embedErr == nil {
		err := s.w.Add(f.Item, vec)
		var ve *VectorError
		if errors.As(err, &ve) {
			unnamed := *ve
			unnamed.Item = ""
			embedErr = &unnamed
		} else if err != nil {
			return err
		}
	}
	if embedErr != nil {
		s.stats.Failed++
		if f.Replaces {
			s.w.Remove(f.Item.Key())
			s.stats.Unreadable++
		}
		return &InputError{Name: name, Err: embedErr}
	}
	if f.Replaces {
		s.stats.Replaced++
	} else {
		s.stats.Added++
	}
	return nil
}

// ApplyText adds the vector of a text Texts listed. It returns an
// *InputError for a vector Writer.Add refuses.
func (s *Sync) ApplyText(text string, vec []float32) error {
	if !s.textTodo[text] {
		return fmt.Errorf("index sync: text %q was not planned or was applied twice", text)
	}
	delete(s.textTodo, text)
	err := s.w.Add(Item{Text: text, IsText: true}, vec)
	var ve *VectorError
	if errors.As(err, &ve) {
		unnamed := *ve
		unnamed.Item = ""
		s.stats.Failed++
		return &InputError{Name: fmt.Sprintf("text %q", text), Err: &unnamed}
	}
	if err != nil {
		return err
	}
	s.stats.Texts++
	return nil
}

// Finish ends a complete run: it drops the rows of files that are gone
// (those the walk would have found) and commits. Call it only when every
// planned file was applied; an interrupted run closes the writer instead,
// which commits what was applied and leaves vanished rows for the next run.
func (s *Sync) Finish() error {
	for i, done := range s.applied {
		if !done {
			return fmt.Errorf("index sync: %s was planned but not applied", s.files[i].Name)
		}
	}
	var gone []string
	s.w.Keys(func(key string, it Item) {
		if it.IsText || s.seen[key] {
			return
		}
		file := s.w.FilePath(it.Path)
		if !s.covers(file) {
			return
		}
		if _, err := os.Lstat(file); errors.Is(err, fs.ErrNotExist) {
			gone = append(gone, key)
		}
	})
	for _, k := range gone {
		s.w.Remove(k)
	}
	s.stats.Vanished += len(gone)
	return s.w.Commit()
}

// covers reports whether the walk would have found file, had it still
// existed. Each argument is compared with the file in its own form:
// absolute, or relative to the working folder (as the walk saw it).
func (s *Sync) covers(file string) bool {
	abs := file
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(s.cwd, abs)
	}
	rel, relErr := filepath.Rel(s.cwd, abs)
	for _, r := range s.roots {
		p := abs
		if !filepath.IsAbs(r) {
			if relErr != nil {
				continue
			}
			p = rel
		}
		if s.walk.Covers([]string{r}, p) {
			return true
		}
	}
	return false
}
