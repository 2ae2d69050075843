// Package bench measures fashionclip: zero-shot accuracy on labelled
// datasets (loaders for Fashion-MNIST, Kaggle Fashion Product Images,
// DeepFashion, folder trees and CSV lists; scikit-learn-compatible metrics;
// reports and confusion-matrix plots) and speed (percentiles, peak RSS,
// synthetic inputs). It knows nothing of the model: the CLI runs the images
// through the engine and hands the predictions back here.
package bench

import (
	"fmt"
	"image"
	"slices"
	"sort"
	"strings"
)

// Item is one labelled example.
type Item struct {
	// ID is the dataset's own name for the item: the Fashion-MNIST index, the
	// Kaggle id, or the image path relative to the dataset.
	ID string
	// Label is the ground truth (renamed once a labels map is applied).
	Label string
	// Path is the image file; empty when Image holds the picture.
	Path string
	// Image is an in-memory picture (Fashion-MNIST's 28×28 grey images).
	Image image.Image

	readNanos int64 // time to read Path, set by a run
}

// Skip is an example left out while loading (a missing image, a malformed
// row), with the reason. Skipped examples count in a report's "skipped".
type Skip struct {
	ID     string
	Reason string
}

// Dataset is a list of labelled examples in the dataset's own order.
type Dataset struct {
	// Kind is the loader's name (see Kinds).
	Kind string
	// Items are the examples to evaluate, in dataset order.
	Items []Item
	// Classes are the candidate labels: every class of the dataset (or of
	// the chosen split), whether or not a sample still holds it.
	Classes []string
	// Skipped are examples that could not be used.
	Skipped []Skip
}

// Kinds are the dataset formats Load understands.
var Kinds = []string{"fmnist", "kagl", "deepfashion", "folder", "csv"}

// LoadOptions tune Load.
type LoadOptions struct {
	// Split is "train" or "test" for fmnist, "train", "val" or "test" for
	// deepfashion; empty means test. Other kinds have no splits.
	Split string
	// LabelColumn is the styles.csv column holding the class (kagl; default
	// articleType).
	LabelColumn string
}

// Load reads a dataset of the given kind from path (a folder, or the CSV
// file for kind "csv").
func Load(kind, path string, o LoadOptions) (*Dataset, error) {
	if o.Split != "" && kind != "fmnist" && kind != "deepfashion" {
		return nil, fmt.Errorf("dataset %s has no splits", kind)
	}
	var d *Dataset
	var err error
	switch kind {
	case "fmnist":
		d, err = LoadFMNIST(path, o.Split)
	case "kagl":
		d, err = LoadKaggle(path, o.LabelColumn)
	case "deepfashion":
		d, err = LoadDeepFashion(path, o.Split)
	case "folder":
		d, err = LoadFolder(path)
	case "csv":
		d, err = LoadCSV(path)
	default:
		return nil, fmt.Errorf("unknown dataset %q (want %s)", kind, strings.Join(Kinds, ", "))
	}
	if err != nil {
		return nil, err
	}
	if len(d.Items) == 0 {
		return nil, fmt.Errorf("%s dataset at %s holds no usable example", kind, path)
	}
	return d, nil
}

// MapLabels renames every truth and class through m (labels absent from m
// keep their name); classes that map to the same name merge. It returns the
// keys of m that name no class, which usually means a typo.
func (d *Dataset) MapLabels(m LabelsMap) (unused []string) {
	if len(m) == 0 {
		return nil
	}
	rename := func(l string) string {
		if to, ok := m[l]; ok {
			return to
		}
		return l
	}
	known := map[string]bool{}
	for _, c := range d.Classes {
		known[c] = true
	}
	for from := range m {
		if !known[from] {
			unused = append(unused, from)
		}
	}
	sort.Strings(unused)
	for i := range d.Items {
		d.Items[i].Label = rename(d.Items[i].Label)
	}
	d.Classes = dedupe(mapSlice(d.Classes, rename))
	return unused
}

// DropRare removes classes with fewer than min examples (after any labels
// map) from the items and the candidates. It returns how many classes and
// items went.
func (d *Dataset) DropRare(min int) (classes, items int) {
	if min <= 1 {
		return 0, 0
	}
	count := map[string]int{}
	for _, it := range d.Items {
		count[it.Label]++
	}
	keep := d.Items[:0]
	for _, it := range d.Items {
		if count[it.Label] >= min {
			keep = append(keep, it)
		} else {
			items++
		}
	}
	d.Items = keep
	d.Classes = slices.DeleteFunc(d.Classes, func(c string) bool {
		if count[c] < min {
			classes++
			return true
		}
		return false
	})
	return classes, items
}

func mapSlice(ss []string, f func(string) string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = f(s)
	}
	return out
}

// dedupe keeps the first occurrence of each string, in order.
func dedupe(ss []string) []string {
	seen := map[string]bool{}
	out := ss[:0]
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// classesOf lists the distinct labels of items, sorted.
func classesOf(items []Item) []string {
	seen := map[string]bool{}
	var out []string
	for _, it := range items {
		if !seen[it.Label] {
			seen[it.Label] = true
			out = append(out, it.Label)
		}
	}
	sort.Strings(out)
	return out
}
