package bench

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/fashionclip/fashionclip/internal/source"
)

// LoadFolder reads a folder tree where each sub-folder of root is a class
// and holds that class's images (at any depth). Files directly in root,
// hidden files and folders, and files without an image extension are
// ignored. IDs are slash-separated paths relative to root.
func LoadFolder(root string) (*Dataset, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	d := &Dataset{Kind: "folder"}
	for _, e := range entries { // ReadDir sorts by name: a stable order
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		class := e.Name()
		err := filepath.WalkDir(filepath.Join(root, class), func(path string, de fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if strings.HasPrefix(de.Name(), ".") && path != filepath.Join(root, class) {
				if de.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if de.IsDir() || !source.IsImageName(de.Name()) {
				return nil
			}
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			d.Items = append(d.Items, Item{ID: filepath.ToSlash(rel), Label: class, Path: path})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	d.Classes = classesOf(d.Items)
	return d, nil
}

// LoadCSV reads a CSV of "path,label" rows (RFC 4180 quoting). A first row
// naming the columns "path" and "label" is a header, and then the columns
// may be in any order among others; without it the first two columns are
// path and label. Relative paths are resolved against the CSV's folder.
// IDs are the paths as written. Rows whose image is missing, whose label is
// empty, or that are too short are skipped.
func LoadCSV(path string) (*Dataset, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	base := filepath.Dir(path)
	r := csv.NewReader(fh)
	r.FieldsPerRecord = -1
	d := &Dataset{Kind: "csv"}
	pathCol, labelCol := 0, 1
	first := true
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		line, _ := r.FieldPos(0)
		if first {
			first = false
			rec[0] = strings.TrimPrefix(rec[0], "\ufeff")
			if p, l := column(rec, "path"), column(rec, "label"); p >= 0 && l >= 0 {
				pathCol, labelCol = p, l
				continue
			}
		}
		where := fmt.Sprintf("%s:%d", filepath.Base(path), line)
		if len(rec) <= max(pathCol, labelCol) {
			d.Skipped = append(d.Skipped, Skip{ID: where, Reason: fmt.Sprintf("row has %d fields, want path and label", len(rec))})
			continue
		}
		id, label := strings.TrimSpace(rec[pathCol]), strings.TrimSpace(rec[labelCol])
		if id == "" || label == "" {
			d.Skipped = append(d.Skipped, Skip{ID: where, Reason: "empty path or label"})
			continue
		}
		img := id
		if !filepath.IsAbs(img) {
			img = filepath.Join(base, filepath.FromSlash(img))
		}
		if _, err := os.Stat(img); err != nil {
			d.Skipped = append(d.Skipped, Skip{ID: id, Reason: "image missing: " + img})
			continue
		}
		d.Items = append(d.Items, Item{ID: id, Label: label, Path: img})
	}
	d.Classes = classesOf(d.Items)
	return d, nil
}
