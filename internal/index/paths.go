package index

import (
	"path/filepath"
)

// An image item's path is stored relative to the index's root when the file
// is inside it, and absolute otherwise, so that the same file is the same
// item whichever working folder a run starts from. The root is recorded in
// the manifest relative to the index folder (by default "..", the folder
// holding the index), so that a tree holding the catalog and its index can
// be moved or mounted elsewhere as a whole. The stored string is also the
// one every output shows.
//
// Version 1 indexes have no root: their paths are kept as they were given
// (relative to the working folder of the run that embedded them).

// DefaultRoot is the root of a new index, relative to its folder.
const DefaultRoot = ".."

// pathRule turns file paths into item paths and back.
type pathRule struct {
	root string // absolute and clean; "" for a version 1 index
}

func newPathRule(dir string, m *Manifest) (pathRule, error) {
	if m.Root == "" {
		return pathRule{}, nil
	}
	if filepath.IsAbs(m.Root) {
		return pathRule{root: filepath.Clean(m.Root)}, nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return pathRule{}, err
	}
	return pathRule{root: filepath.Join(abs, m.Root)}, nil
}

// rootFor is the Root a new index in dir records for the root folder
// (relative to the working folder or absolute; "" for DefaultRoot).
func rootFor(dir, root string) (string, error) {
	if root == "" {
		return DefaultRoot, nil
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return "", err
	}
	return filepath.Rel(absDir, absRoot)
}

// itemPath is the stored form of a file named relative to the working
// folder (or absolutely).
func (r pathRule) itemPath(file string) string {
	if r.root == "" {
		return file
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return file
	}
	return r.fromAbs(abs)
}

func (r pathRule) fromAbs(abs string) string {
	if rel, err := filepath.Rel(r.root, abs); err == nil && filepath.IsLocal(rel) {
		return rel
	}
	return abs
}

// filePath is where the file of a stored path is: absolute, or for a
// version 1 index the path as stored.
func (r pathRule) filePath(stored string) string {
	if r.root == "" {
		return stored
	}
	if filepath.IsAbs(stored) {
		return filepath.Clean(stored)
	}
	return filepath.Join(r.root, stored)
}

// canonical is the stored form of a path that is already relative to the
// root (or absolute): clean, and relative exactly when inside the root.
func (r pathRule) canonical(p string) string {
	if r.root == "" {
		return p
	}
	return r.fromAbs(r.filePath(p))
}
