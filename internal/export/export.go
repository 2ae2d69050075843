// Package export writes the live items of one or more indexes (the shards
// of a run, or any indexes of one model) as one dataset that vector
// databases and tools load as they are: Parquet (LanceDB, Milvus bulk
// insert, DuckDB, Pinecone import, pandas), JSON Lines (Qdrant, Weaviate,
// Elasticsearch bulk loaders), clip-retrieval's npy layout (autofaiss) and
// a PostgreSQL COPY script (pgvector, or real[] columns). See docs/export.md.
//
// The package never prints; progress goes through the Progress interface.
package export

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/fashionclip/fashionclip/internal/index"
)

// Formats.
const (
	FormatParquet  = "parquet"
	FormatJSONL    = "jsonl"
	FormatNpy      = "npy"
	FormatPgvector = "pgvector"
)

// Formats lists the formats, for help texts and completion.
var Formats = []string{FormatParquet, FormatJSONL, FormatNpy, FormatPgvector}

// PostgreSQL column types of the pgvector format.
const (
	PGVector  = "vector"
	PGHalfvec = "halfvec"
	PGReal    = "real[]"
)

// Options describe an export.
type Options struct {
	Format string
	// Out is a folder for parquet and npy (created when missing), a file
	// for jsonl and pgvector. For those two, an empty Out or "-" writes to W.
	Out string
	W   io.Writer
	// DType of the exported vectors: float32 (default) or float16
	// (parquet FLOAT16 elements, npy <f2; jsonl and pgvector print the
	// values rounded to half precision).
	DType string
	// PGType is the embedding column's type for pgvector: vector (default),
	// halfvec or real[] (no extension needed). PGTable names the table
	// (default "items").
	PGType  string
	PGTable string
	// Compression of parquet's small columns: snappy (default: every
	// Parquet reader has it, and it is the fastest), zstd or none. The embedding column is never compressed: random float bits
	// do not shrink, and the copy should run at memory speed.
	Compression string
	// RowGroupRows bounds parquet's row groups (default: 128 MiB of
	// vectors, 65536 rows of 512 float32). PartRows bounds the rows of one
	// file for parquet and npy (default 1,048,576).
	RowGroupRows int
	PartRows     int
	// Force replaces the files of an earlier export in Out; without it
	// they are refused.
	Force bool
	// ToolVersion is recorded in the files (Parquet created_by and
	// metadata).
	ToolVersion string
	// Progress, when set, hears how many items are exported.
	Progress Progress
}

// Progress receives export progress. Calls come from one goroutine.
type Progress interface {
	// Start announces the number of items to export.
	Start(items int)
	// Add reports n more items written.
	Add(n int)
}

// Stats tell what Export wrote.
type Stats struct {
	Items, Images, Texts int
	// Files are the files written, in order (empty when writing to W).
	Files []string
}

// MismatchError: the inputs do not hold vectors of one space.
type MismatchError struct {
	Index, First string
	What         string // "model", "variant" or "dimension"
	Has, Want    string
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("index %s has %s %s, but %s has %s: shards of one dataset must share model, variant and dimension",
		e.Index, e.What, e.Has, e.First, e.Want)
}

// DuplicateError: an item is live in two inputs, so its id would not be
// unique. Shards of one `embed --shard` run never overlap; merge
// overlapping indexes first (`index merge` keeps the last one's vector).
type DuplicateError struct {
	Key     string // "image:path" or "text:text"
	Indexes [2]string
}

func (e *DuplicateError) Error() string {
	return fmt.Sprintf("%s is in both %s and %s: exported ids must be unique", e.Key, e.Indexes[0], e.Indexes[1])
}

// OptionError: an option has a value the export does not know (the CLI
// turns it into a usage error).
type OptionError struct {
	Option, Value string
	Allowed       []string
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("unknown %s %q (want %s)", e.Option, e.Value, strings.Join(e.Allowed, ", "))
}

// ErrOutputExists is returned when Out holds an earlier export and Force
// is not set.
var ErrOutputExists = errors.New("output holds an earlier export")

// record is one exported row.
type record struct {
	ID, Path, Kind, Text, SHA256 string
	IsText                       bool
	Size                         int64
	// MTimeMicros: microseconds, the precision every engine keeps
	// (DuckDB, PostgreSQL, Spark); the index's nanoseconds are floored.
	MTimeMicros int64
	HasMTime    bool
}

func recordOf(it index.Item) record {
	r := record{ID: index.ItemID(it), Path: it.Path, Text: it.Text, IsText: it.IsText, SHA256: it.SHA256, Kind: "image"}
	if it.IsText {
		r.Kind = "text"
		return r
	}
	r.Size = it.Size
	if !it.MTime.IsZero() {
		r.MTimeMicros, r.HasMTime = it.MTime.UnixMicro(), true
	}
	return r
}

func (r *record) mtime() time.Time { return time.UnixMicro(r.MTimeMicros).UTC() }

// source is the opened inputs.
type source struct {
	names []string
	ixs   []*index.Index
	man   index.Manifest // the first input's
	dim   int
	total int
}

func (s *source) close() {
	for _, ix := range s.ixs {
		ix.Close()
	}
}

// Variant returns the model variant recorded with an index's model ("" when
// the index does not record one).
func Variant(m index.ModelInfo) string {
	// Read through JSON so that a Variant field added to ModelInfo is seen
	// without a second definition of where it lives.
	b, _ := json.Marshal(m)
	var v struct {
		Variant string `json:"variant"`
	}
	json.Unmarshal(b, &v)
	return v.Variant
}

// openInputs opens the indexes and checks that they share one space.
func openInputs(inputs []string) (*source, error) {
	if len(inputs) == 0 {
		return nil, errors.New("no index to export")
	}
	s := &source{names: inputs}
	for i, in := range inputs {
		ix, err := index.Open(in)
		if err != nil {
			s.close()
			return nil, err
		}
		s.ixs = append(s.ixs, ix)
		m := ix.Manifest()
		if i == 0 {
			s.man = m
		}
		first := s.man
		switch {
		case !m.Model.Same(first.Model):
			err = &MismatchError{Index: in, First: inputs[0], What: "model", Has: m.Model.String(), Want: first.Model.String()}
		case Variant(m.Model) != Variant(first.Model):
			err = &MismatchError{Index: in, First: inputs[0], What: "variant", Has: Variant(m.Model), Want: Variant(first.Model)}
		case m.Dim != 0 && s.dim != 0 && m.Dim != s.dim:
			err = &MismatchError{Index: in, First: inputs[0], What: "dimension", Has: fmt.Sprint(m.Dim), Want: fmt.Sprint(s.dim)}
		}
		if err != nil {
			s.close()
			return nil, err
		}
		if s.dim == 0 {
			s.dim = m.Dim
		}
		s.total += ix.Len()
	}
	return s, nil
}

func keyName(it index.Item) string {
	if it.IsText {
		return "text:" + it.Text
	}
	return "image:" + it.Path
}

// checkUnique refuses inputs that share an item. It keeps 8 bytes per
// item (a hash of the key), then looks again at the keys whose hashes
// collide to tell a real duplicate from a hash collision.
func (s *source) checkUnique(ctx context.Context) error {
	if len(s.ixs) < 2 {
		return nil // an index holds each key once
	}
	seed := maphash.MakeSeed()
	hashes := make([]uint64, 0, s.total)
	each := func(fn func(input int, it index.Item) error) error {
		for i, ix := range s.ixs {
			err := ix.EachBatch(index.BatchOptions{MaxItems: 8192, SkipVectors: true}, func(b *index.Batch) error {
				if err := ctx.Err(); err != nil {
					return err
				}
				for _, it := range b.Items {
					if err := fn(i, it); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	}
	if err := each(func(_ int, it index.Item) error {
		hashes = append(hashes, maphash.String(seed, keyName(it)))
		return nil
	}); err != nil {
		return err
	}
	slices.Sort(hashes)
	suspects := map[uint64]bool{}
	for i := 1; i < len(hashes); i++ {
		if hashes[i] == hashes[i-1] {
			suspects[hashes[i]] = true
		}
	}
	if len(suspects) == 0 {
		return nil
	}
	seen := map[string]int{}
	return each(func(input int, it index.Item) error {
		k := keyName(it)
		if !suspects[maphash.String(seed, k)] {
			return nil
		}
		if prev, ok := seen[k]; ok {
			return &DuplicateError{Key: k, Indexes: [2]string{s.names[prev], s.names[input]}}
		}
		seen[k] = input
		return nil
	})
}

// eachBatch streams the inputs' items, with vectors in their own dtype
// unless skip.
func (s *source) eachBatch(ctx context.Context, skip bool, fn func(input int, b *index.Batch) error) error {
	for i, ix := range s.ixs {
		err := ix.EachBatch(index.BatchOptions{MaxItems: 4096, SkipVectors: skip}, func(b *index.Batch) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			return fn(i, b)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Export writes the live items of the inputs as one dataset.
func Export(ctx context.Context, inputs []string, o Options) (Stats, error) {
	var st Stats
	if o.DType == "" {
		o.DType = index.DTypeFloat32
	}
	if o.DType != index.DTypeFloat32 && o.DType != index.DTypeFloat16 {
		return st, &OptionError{"dtype", o.DType, []string{index.DTypeFloat32, index.DTypeFloat16}}
	}
	if o.PartRows <= 0 {
		o.PartRows = 1 << 20
	}
	switch o.Format {
	case FormatParquet, FormatNpy:
		if o.Out == "" || o.Out == "-" {
			return st, fmt.Errorf("%s export needs an output folder", o.Format)
		}
	case FormatJSONL, FormatPgvector:
		if (o.Out == "" || o.Out == "-") && o.W == nil {
			return st, errors.New("no output")
		}
	default:
		return st, &OptionError{"format", o.Format, Formats}
	}
	if o.Format == FormatPgvector {
		if o.PGType == "" {
			o.PGType = PGVector
		}
		if o.PGType != PGVector && o.PGType != PGHalfvec && o.PGType != PGReal {
			return st, &OptionError{"PostgreSQL type", o.PGType, []string{PGVector, PGHalfvec, PGReal}}
		}
		if o.PGTable == "" {
			o.PGTable = "items"
		}
	}
	if _, _, err := codecOf(o.Compression); err != nil {
		return st, err
	}
	src, err := openInputs(inputs)
	if err != nil {
		return st, err
	}
	defer src.close()
	if err := src.checkUnique(ctx); err != nil {
		return st, err
	}
	if o.Progress != nil {
		o.Progress.Start(src.total)
	}
	switch o.Format {
	case FormatParquet:
		return exportParquet(ctx, src, o)
	case FormatNpy:
		return exportNpy(ctx, src, o)
	default:
		return exportStream(ctx, src, o)
	}
}

// metadata is what every file records about the dataset.
func (s *source) metadata(o Options) [][2]string {
	model, _ := json.Marshal(s.man.Model)
	kv := [][2]string{
		{"fashionclip.model", string(model)},
		{"fashionclip.model_name", s.man.Model.String()},
		{"fashionclip.dim", fmt.Sprint(s.dim)},
		{"fashionclip.dtype", o.DType},
		{"fashionclip.id", "uuid5(" + index.ItemIDNamespace + ", 'image:'+path or 'text:'+text)"},
		{"fashionclip.similarity", "cosine: vectors are L2-normalised, so inner product = cosine"},
	}
	if v := Variant(s.man.Model); v != "" {
		kv = append(kv, [2]string{"fashionclip.variant", v})
	}
	if len(s.man.Preprocess) > 0 {
		kv = append(kv, [2]string{"fashionclip.preprocess", string(s.man.Preprocess)})
	}
	if o.ToolVersion != "" {
		kv = append(kv, [2]string{"fashionclip.tool_version", o.ToolVersion})
	}
	return kv
}

// outputFiles manages the files of a folder output: refuses or removes
// an earlier export, writes under temporary names, renames at the end and
// removes everything on failure.
type outputFiles struct {
	dir     string
	done    []string // renamed into place
	pending string   // being written
}

func (f *outputFiles) create(name string) (*os.File, error) {
	path := f.dir + string(os.PathSeparator) + name
	fh, err := os.OpenFile(path+".tmp", os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	f.pending = path
	return fh, nil
}

// finish closes fh and moves it into place.
func (f *outputFiles) finish(fh *os.File) error {
	err := fh.Close()
	if err == nil {
		err = os.Rename(f.pending+".tmp", f.pending)
	}
	if err != nil {
		return err
	}
	f.done = append(f.done, f.pending)
	f.pending = ""
	return nil
}

func (f *outputFiles) discard() {
	if f.pending != "" {
		os.Remove(f.pending + ".tmp")
	}
	for _, p := range f.done {
		os.Remove(p)
	}
}
