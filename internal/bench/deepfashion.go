package bench

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// LoadDeepFashion reads DeepFashion's Category and Attribute Prediction
// benchmark from root:
//
//	Anno/list_category_cloth.txt  category names (line n+2 is category n)
//	Anno/list_category_img.txt    image name → category number (1-based)
//	Eval/list_eval_partition.txt  image name → train, val or test
//	img/...                       the images, named as in the lists
//
// Each list starts with a count line and a header line. The newer release's
// Anno_coarse/ is accepted for Anno/, and Img/img/ for img/. The label is
// the category name; the candidates are the categories with at least one
// image in the split (four of the fifty were merged into Dress and have none).
func LoadDeepFashion(root, split string) (*Dataset, error) {
	switch split {
	case "":
		split = "test"
	case "train", "val", "test":
	default:
		return nil, fmt.Errorf("deepfashion split %q: want train, val or test", split)
	}
	anno := firstExisting(filepath.Join(root, "Anno"), filepath.Join(root, "Anno_coarse"))
	cloth, err := readDFList(filepath.Join(anno, "list_category_cloth.txt"))
	if err != nil {
		return nil, err
	}
	names := make([]string, len(cloth))
	for i, row := range cloth {
		names[i] = row[0]
	}
	imgs, err := readDFList(filepath.Join(anno, "list_category_img.txt"))
	if err != nil {
		return nil, err
	}
	parts, err := readDFList(filepath.Join(root, "Eval", "list_eval_partition.txt"))
	if err != nil {
		return nil, err
	}
	partition := make(map[string]string, len(parts))
	for _, row := range parts {
		partition[row[0]] = row[1]
	}
	// Image names begin with "img/"; the archive unpacks either at the root
	// or under Img/.
	imgRoot := root
	if _, err := os.Stat(filepath.Join(root, "img")); err != nil {
		if _, err := os.Stat(filepath.Join(root, "Img", "img")); err == nil {
			imgRoot = filepath.Join(root, "Img")
		}
	}
	d := &Dataset{Kind: "deepfashion"}
	present := make([]bool, len(names))
	for _, row := range imgs {
		name := row[0]
		if partition[name] != split {
			continue
		}
		n, err := strconv.Atoi(row[1])
		if err != nil || n < 1 || n > len(names) {
			d.Skipped = append(d.Skipped, Skip{ID: name, Reason: fmt.Sprintf("category %q is not in list_category_cloth.txt", row[1])})
			continue
		}
		path := filepath.Join(imgRoot, filepath.FromSlash(name))
		if _, err := os.Stat(path); err != nil {
			d.Skipped = append(d.Skipped, Skip{ID: name, Reason: "image missing: " + path})
			continue
		}
		present[n-1] = true
		d.Items = append(d.Items, Item{ID: name, Label: names[n-1], Path: path})
	}
	for i, ok := range present {
		if ok {
			d.Classes = append(d.Classes, names[i])
		}
	}
	d.Classes = dedupe(d.Classes)
	return d, nil
}

// readDFList reads a DeepFashion list file: a count line, a header line,
// then rows of "<name> <value>" separated by runs of spaces. The name may in
// principle hold spaces, so the value is the last field and the name is the
// rest.
func readDFList(path string) ([][2]string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	var rows [][2]string
	want := -1
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		switch {
		case line == 1:
			if want, err = strconv.Atoi(text); err != nil || want < 0 {
				return nil, fmt.Errorf("%s: first line should be the row count, got %q", path, text)
			}
			continue
		case line == 2 || text == "":
			continue
		}
		fields := strings.Fields(text)
		if len(fields) < 2 {
			return nil, fmt.Errorf("%s:%d: want \"<name> <value>\", got %q", path, line, text)
		}
		rows = append(rows, [2]string{strings.Join(fields[:len(fields)-1], " "), fields[len(fields)-1]})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if want < 0 {
		return nil, fmt.Errorf("%s is empty", path)
	}
	if len(rows) != want {
		return nil, fmt.Errorf("%s: count line says %d rows, found %d (truncated file?)", path, want, len(rows))
	}
	return rows, nil
}

func firstExisting(paths ...string) string {
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return paths[0]
}
