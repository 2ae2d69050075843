package index

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
)

// Format identifies the manifest; FormatVersion changes when a reader of
// the previous version could misread the folder.
const (
	Format        = "fashionclip-index"
	FormatVersion = 1

	DTypeFloat32 = "float32"
	DTypeFloat16 = "float16"

	manifestName = "manifest.json"
	manifestTemp = "manifest.json.tmp"
	lockName     = ".lock"
)

// ModelInfo says which model made the vectors. Two indexes (or an index and
// a model) agree when their Graph identities are equal; the other fields are
// for people reading the manifest and error messages.
type ModelInfo struct {
	Repo     string `json:"repo,omitempty"`
	Revision string `json:"revision,omitempty"`
	Folder   string `json:"folder,omitempty"`
	// Graph identifies the ONNX graph file(s), e.g. a digest of their bytes.
	Graph string `json:"graph"`
}

// Same reports whether two descriptions name the same model.
func (m ModelInfo) Same(o ModelInfo) bool { return m.Graph == o.Graph }

// String names the model for messages: repo@revision or the folder, with
// the graph identity.
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
	return fmt.Sprintf("%s (graph %s)", name, m.Graph)
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

// Pair is one committed chunk of vectors and the table of its live rows.
type Pair struct {
	Chunk string `json:"chunk"`
	Table string `json:"table"`
	// Rows is the number of vectors in the chunk; Items the number of them
	// that are live (the rows of the table). The difference is garbage.
	Rows  int `json:"rows"`
	Items int `json:"items"`
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

func (m *Manifest) validate() error {
	if m.Format != Format {
		return fmt.Errorf("not a %s manifest (format %q)", Format, m.Format)
	}
	if m.Version > FormatVersion {
		return fmt.Errorf("index format version %d is newer than this fashionclip understands (%d): upgrade fashionclip", m.Version, FormatVersion)
	}
	if m.DType != DTypeFloat32 && m.DType != DTypeFloat16 {
		return fmt.Errorf("unknown dtype %q", m.DType)
	}
	for _, p := range m.Chunks {
		if !chunkName.MatchString(p.Chunk) || !tableName.MatchString(p.Table) {
			return fmt.Errorf("bad file names in manifest: %q, %q", p.Chunk, p.Table)
		}
		if p.Items < 0 || p.Items > p.Rows {
			return fmt.Errorf("manifest entry %s: %d items in %d rows", p.Chunk, p.Items, p.Rows)
		}
	}
	return nil
}

var (
	chunkName = regexp.MustCompile(`^emb-[0-9]{5,}\.npy$`)
	tableName = regexp.MustCompile(`^items-[0-9]{5,}\.parquet$`)
)

func chunkFile(n int) string { return fmt.Sprintf("emb-%05d.npy", n) }
func tableFile(n int) string { return fmt.Sprintf("items-%05d.parquet", n) }

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
	b, err := os.ReadFile(filepath.Join(dir, manifestName))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", dir, ErrNotIndex)
	}
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, manifestName), err)
	}
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, manifestName), err)
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
