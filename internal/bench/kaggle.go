package bench

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// DefaultKaggleLabelColumn is the styles.csv column used as the class.
const DefaultKaggleLabelColumn = "articleType"

// LoadKaggle reads Kaggle's "Fashion Product Images" (small or full): dir
// holds styles.csv and images/<id>.jpg. path may also name styles.csv
// itself. The class is labelColumn (default articleType).
//
// styles.csv is not quoted, and some productDisplayName values hold commas,
// so a row may have more fields than the header: the extra ones belong to
// the last column and are joined back. Rows whose image is missing, whose
// class is empty, or that are too short are skipped and listed in Skipped.
func LoadKaggle(path, labelColumn string) (*Dataset, error) {
	if labelColumn == "" {
		labelColumn = DefaultKaggleLabelColumn
	}
	root, csvPath := path, filepath.Join(path, "styles.csv")
	if st, err := os.Stat(path); err == nil && !st.IsDir() {
		root, csvPath = filepath.Dir(path), path
	}
	fh, err := os.Open(csvPath)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	r := csv.NewReader(fh)
	r.FieldsPerRecord = -1 // rows with extra commas are repaired below
	r.LazyQuotes = true    // bare quotes in names ("5\" heel") are text
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", csvPath, err)
	}
	header[0] = strings.TrimPrefix(header[0], "\ufeff")
	idCol, labelCol := column(header, "id"), column(header, labelColumn)
	if idCol < 0 {
		return nil, fmt.Errorf("%s: no id column in header %v", csvPath, header)
	}
	if labelCol < 0 {
		return nil, fmt.Errorf("%s: no column %q (columns: %s)", csvPath, labelColumn, strings.Join(header, ", "))
	}
	d := &Dataset{Kind: "kagl"}
	last := len(header) - 1
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", csvPath, err)
		}
		line, _ := r.FieldPos(0)
		if len(rec) > len(header) {
			rec = append(rec[:last:last], strings.Join(rec[last:], ","))
		}
		if len(rec) <= max(idCol, labelCol) {
			d.Skipped = append(d.Skipped, Skip{ID: fmt.Sprintf("styles.csv:%d", line), Reason: fmt.Sprintf("row has %d fields, want %d", len(rec), len(header))})
			continue
		}
		id := strings.TrimSpace(rec[idCol])
		label := strings.TrimSpace(rec[labelCol])
		if id == "" {
			d.Skipped = append(d.Skipped, Skip{ID: fmt.Sprintf("styles.csv:%d", line), Reason: "empty id"})
			continue
		}
		if label == "" {
			d.Skipped = append(d.Skipped, Skip{ID: id, Reason: "empty " + header[labelCol]})
			continue
		}
		img := filepath.Join(root, "images", id+".jpg")
		if _, err := os.Stat(img); err != nil {
			d.Skipped = append(d.Skipped, Skip{ID: id, Reason: "image missing: " + img})
			continue
		}
		d.Items = append(d.Items, Item{ID: id, Label: label, Path: img})
	}
	d.Classes = classesOf(d.Items)
	return d, nil
}

// column finds a header name, exactly or else ignoring case.
func column(header []string, name string) int {
	for i, h := range header {
		if strings.TrimSpace(h) == name {
			return i
		}
	}
	for i, h := range header {
		if strings.EqualFold(strings.TrimSpace(h), name) {
			return i
		}
	}
	return -1
}
