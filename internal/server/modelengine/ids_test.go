package modelengine

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestModelIDs(t *testing.T) {
	folders := []struct{ dir, want string }{
		{"/models/fashion-clip", "fashion-clip"},
		{"/models/fashion-clip/", "fashion-clip"},
		{"/models/fashion-clip/onnx", "fashion-clip"},
		{"/models/fashion-clip/model.onnx", "fashion-clip"},
		{"/models/fashion-clip/onnx/model_fp16.onnx", "fashion-clip"},
	}
	for _, tc := range folders {
		if got := modelFolderName(tc.dir); got != tc.want {
			t.Errorf("modelFolderName(%s) = %q, want %q", tc.dir, got, tc.want)
		}
	}

	m := tinyEngine(t).m
	dir := m.Dir()
	base := filepath.Base(dir)
	tests := []struct {
		ref  string
		want []string
	}{
		{dir, []string{base}},
		{"patrickjohncyh/fashion-clip", []string{"patrickjohncyh/fashion-clip", base}},
		{"patrickjohncyh/fashion-clip@main", []string{"patrickjohncyh/fashion-clip", base}},
	}
	for _, tc := range tests {
		if got := ModelIDs(tc.ref, m); strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("ModelIDs(%s) = %q, want %q", tc.ref, got, tc.want)
		}
	}
}
