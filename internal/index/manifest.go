package index

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/fashionclip/fashionclip/internal/modelfiles"
)

// Format identifies the manifest; FormatVersion changes when a reader of
// the previous version could misread the folder. Version 2 stores image
// paths relative to a recorded root (version 1 stored them as given) and
// records the model's variant; version 1 indexes are still read and
// written as they are.
const (
	Format        = "fashionclip-index"
	FormatVersion = 2

	DTypeFloat32 = "float32"
	DTypeFloat16 = "float16"

	manifestName = "manifest.json"
	manifestTemp = "manifest.json.tmp"
	lockName     = ".lock"

	// Bounds that no real index reaches and that keep hostile numbers
	// from overflowing sizes or sizing allocations.
	maxManifestBytes = 128 << 20
	maxDim           = 1 << 20
	maxChunkRows     = 1 << 40
	maxFileNumber    = 1 << 40
)

// ModelInfo says which model made the vectors. Two descriptions agree when
// their graph identities, variants and recipes are equal (CheckModel); the
// names are for people reading the manifest and error messages.
type ModelInfo struct {
	Repo     string `json:"repo,omitempty"`
	Revision string `json:"revision,omitempty"`
	Folder   string `json:"folder,omitempty"`
	// Graph identifies the ONNX graph file(s), e.g. a digest of their bytes.
	Graph string `json:"graph"`
	// Variant is the weights' variant; absent (every index written before
	// variants were recorded) means fp32.
	Variant modelfiles.Variant `json:"variant,omitempty"`
	// Recipe versions a variant fashionclip derived itself (e.g. int8 from
	// the fp32 graph); empty for graphs used as shipped.
	Recipe string `json:"recipe,omitempty"`
}

// Same reports whether two descriptions name the same model and variant:
// vectors of the one can be compared with vectors of the other.
func (m ModelInfo) Same(o ModelInfo) bool {
	return m.Graph == o.Graph && m.sameVariant(o)
}

func (m ModelInfo) sameVariant(o ModelInfo) bool {
	return m.Variant.String() == o.Variant.String() && m.Recipe == o.Recipe
}

// sameName reports whether both name the same repo revision or folder.
func (m ModelInfo) sameName(o ModelInfo) bool {
	if m.Repo != "" || o.Repo != "" {
		return m.Repo == o.Repo && m.Revision == o.Revision
	}
	return m.Folder != "" && m.Folder == o.Folder
}

// String names the model for messages: repo@revision or the folder, with
// the variant and the graph identity.
func (m ModelInfo) String() string {
	name := m.Folder
	if m.Repo != "" {
		name = m.Repo
		if m.Revision != "" {
			name += "@" + m.Revision
		}
	}
	if name == "" {
		name = "unnamed model"
	}
	v := m.Variant.String()
	if m.Recipe != "" {
		v += " recipe " + m.Recipe
	}
	return fmt.Sprintf("%s (%s, graph %s)", name, v, m.Graph)
}

// CheckModel tells whether vectors made by requested may be compared with
// (or added to) those of the index dir, made by has: nil when they are the
// same model and variant, a *VariantMismatchError when only the variant or
// its recipe differs (the same graph, or the same repo revision or folder),
// a *MismatchError otherwise.
func CheckModel(dir string, has, requested ModelInfo) error {
	if has.Same(requested) {
		return nil
	}
	if !has.sameVariant(requested) && (has.Graph == requested.Graph || has.sameName(requested)) {
		return &VariantMismatchError{MismatchError{Index: dir, IndexHas: has, Requested: requested}}
	}
	return &MismatchError{Index: dir, IndexHas: has, Requested: requested}
}

// MismatchError is returned when an index and a model (or two indexes) were
// made by different models.
type MismatchError struct {
	Index     string
	IndexHas  ModelInfo
	Requested ModelInfo
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("index %s was built with %s, not with %s: vectors of different models cannot be mixed or compared",
		e.Index, e.IndexHas, e.Requested)
}

// VariantMismatchError is returned when an index was made by the same model
// in another variant (fp32 and int8, or int8 of another recipe). Its
// vectors are close but not equal to the requested variant's: writers
// always refuse; a search may go on when its user says so.
type VariantMismatchError struct{ MismatchError }

func (e *VariantMismatchError) Error() string {
	return fmt.Sprintf("index %s was built with the %s variant of its model, not %s (%s, requested %s)",
		e.Index, variantLabel(e.IndexHas), variantLabel(e.Requested), e.IndexHas, e.Requested)
}

func variantLabel(m ModelInfo) string {
	if m.Recipe != "" {
		return m.Variant.String() + " (recipe " + m.Recipe + ")"
	}
	return m.Variant.String()
}

// DTypeMismatchError is returned when a writer asks for another dtype than
// the index holds (compaction converts an index).
type DTypeMismatchError struct {
	Index     string
	Has, Want string
}

func (e *DTypeMismatchError) Error() string {
	return fmt.Sprintf("index %s holds %s vectors, not %s (compacting it to %s converts it)", e.Index, e.Has, e.Want, e.Want)
}

// CorruptError is returned when a file of an index is missing, unreadable
// or inconsistent with the manifest. File is its path.
type CorruptError struct {
	File string
	Err  error
}

func (e *CorruptError) Error() string { return e.File + ": " + e.Err.Error() }
func (e *CorruptError) Unwrap() error { return e.Err }

func corrupt(dir, name string, format string, args ...any) error {
	return &CorruptError{File: filepath.Join(dir, name), Err: fmt.Errorf(format, args...)}
}

// Pair is one committed chunk of vectors and the table of its live rows.
type Pair struct {
	Chunk string `json:"chunk"`
	Table string `json:"table"`
	// Rows is the number of vectors in the chunk; Items the number of them
	// that are live (the rows of the table). The difference is garbage.
	Rows  int `json:"rows"`
	Items int `json:"items"`
	// SHA256 and TableSHA256 are the hex SHA-256 of the chunk and table
	// files, computed while they were written; empty for files written
	// before hashes were recorded.
	SHA256      string `json:"sha256,omitempty"`
	TableSHA256 string `json:"table_sha256,omitempty"`
}

// Manifest is manifest.json: everything needed to read the folder. Only the
// files it lists are part of the index.
type Manifest struct {
	Format      string          `json:"format"`
	Version     int             `json:"version"`
	Generation  int64           `json:"generation"`
	Model       ModelInfo       `json:"model"`
	Dim         int             `json:"dim"`
	DType       string          `json:"dtype"`
	Preprocess  json.RawMessage `json:"preprocess,omitempty"`
	ToolVersion string          `json:"tool_version,omitempty"`
	// Root is where relative image paths start, as a path relative to the
	// index folder ("..": the folder holding the index) or an absolute
	// one. Empty in version 1 indexes, whose paths are as they were given.
	Root string `json:"root,omitempty"`
	// NextFile numbers the next chunk or table file. Numbers are never
	// reused, so a reader holding an older manifest never opens a newer
	// file by the same name.
	NextFile int    `json:"next_file"`
	Chunks   []Pair `json:"chunks"`
}

// Items is the number of live items.
func (m *Manifest) Items() int {
	n := 0
	for _, p := range m.Chunks {
		n += p.Items
	}
	return n
}

// Garbage is the number of vectors no table refers to any more.
func (m *Manifest) Garbage() int {
	n := 0
	for _, p := range m.Chunks {
		n += p.Rows - p.Items
	}
	return n
}

// elemSize is the bytes per stored value.
func (m *Manifest) elemSize() int {
	if m.DType == DTypeFloat16 {
		return 2
	}
	return 4
}

func (m *Manifest) validate() error {
	if m.Format != Format {
		return fmt.Errorf("not a %s manifest (format %q)", Format, m.Format)
	}
	if m.Version > FormatVersion {
		return fmt.Errorf("index format version %d is newer than this fashionclip understands (%d): upgrade fashionclip", m.Version, FormatVersion)
	}
	if m.Version < 1 {
		return fmt.Errorf("bad format version %d", m.Version)
	}
	if m.DType != DTypeFloat32 && m.DType != DTypeFloat16 {
		return fmt.Errorf("unknown dtype %q", m.DType)
	}
	if m.Dim < 0 || m.Dim > maxDim {
		return fmt.Errorf("dimension %d is out of range", m.Dim)
	}
	if m.Dim == 0 && len(m.Chunks) > 0 {
		return errors.New("chunks listed but no dimension")
	}
	if m.NextFile < 0 || m.NextFile > maxFileNumber {
		return fmt.Errorf("next_file %d is out of range", m.NextFile)
	}
	if m.Version >= 2 && m.Root == "" {
		return errors.New("no root for the image paths")
	}
	seen := map[string]bool{}
	for _, p := range m.Chunks {
		if !chunkName.MatchString(p.Chunk) || !tableName.MatchString(p.Table) {
			return fmt.Errorf("bad file names in manifest: %q, %q", p.Chunk, p.Table)
		}
		for _, f := range []string{p.Chunk, p.Table} {
			if fileNumber(f) < 0 {
				return fmt.Errorf("file number of %s is out of range", f)
			}
			if seen[f] {
				return fmt.Errorf("%s is listed twice", f)
			}
			seen[f] = true
		}
		if p.Rows < 0 || p.Rows > maxChunkRows {
			return fmt.Errorf("manifest entry %s: %d rows is out of range", p.Chunk, p.Rows)
		}
		if p.Items < 0 || p.Items > p.Rows {
			return fmt.Errorf("manifest entry %s: %d items in %d rows", p.Chunk, p.Items, p.Rows)
		}
		for _, h := range []string{p.SHA256, p.TableSHA256} {
			if h != "" && !sha256Hex.MatchString(h) {
				return fmt.Errorf("manifest entry %s: bad sha256 %q", p.Chunk, h)
			}
		}
	}
	return nil
}

var (
	chunkName = regexp.MustCompile(`^emb-[0-9]{5,}\.npy$`)
	tableName = regexp.MustCompile(`^items-[0-9]{5,}\.parquet$`)
	sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

func chunkFile(n int) string { return fmt.Sprintf("emb-%05d.npy", n) }
func tableFile(n int) string { return fmt.Sprintf("items-%05d.parquet", n) }

// fileNumber is the number in a chunk or table name, -1 when out of range.
func fileNumber(name string) int {
	digits := strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(name, "emb-"), "items-"), ".npy"), ".parquet")
	n, err := strconv.Atoi(digits)
	if err != nil || n > maxFileNumber {
		return -1
	}
	return n
}

// isIndexFile reports whether name is one of the files an index writes,
// committed or not.
func isIndexFile(name string) bool {
	return chunkName.MatchString(name) || tableName.MatchString(name) ||
		name == manifestName || name == manifestTemp || name == lockName
}

// ErrNotIndex is returned when a folder has no manifest.
var ErrNotIndex = errors.New("not a fashionclip index (no manifest.json)")

// ReadManifest reads dir/manifest.json.
func ReadManifest(dir string) (*Manifest, error) {
	path := filepath.Join(dir, manifestName)
	b, err := readSmallFile(path, maxManifestBytes)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", dir, ErrNotIndex)
	}
	if err != nil {
		return nil, &CorruptError{File: path, Err: withoutPath(err)}
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, &CorruptError{File: path, Err: err}
	}
	if err := m.validate(); err != nil {
		return nil, &CorruptError{File: path, Err: err}
	}
	return &m, nil
}

// writeManifest replaces the manifest atomically: the new files it names
// and the temporary manifest are made durable first, then one rename makes
// them the index, then the folder is synced so the rename itself survives a
// power cut. renamed tells whether the new manifest is in place, even when
// an error follows (the files it names must then be kept).
func writeManifest(dir string, m *Manifest) (renamed bool, err error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return false, err
	}
	b = append(b, '\n')
	if err := syncDir(dir); err != nil {
		return false, err
	}
	tmp := filepath.Join(dir, manifestTemp)
	if err := writeFileSync(tmp, func(f *os.File) error { _, err := f.Write(b); return err }); err != nil {
		return false, err
	}
	if err := os.Rename(tmp, filepath.Join(dir, manifestName)); err != nil {
		os.Remove(tmp)
		return false, err
	}
	return true, syncDir(dir)
}

// writeFileSync creates path, lets fill write it, and fsyncs it.
func writeFileSync(path string, fill func(*os.File) error) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	err = fill(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
