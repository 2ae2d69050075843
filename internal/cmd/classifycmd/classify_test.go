package classifycmd

import (
	"slices"
	"testing"

	"github.com/fashionclip/fashionclip/internal/cmdutil/cmdtest"
)

// TestClassifyFlags checks how classify's flags become options, through
// runF: no model is loaded.
func TestClassifyFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		labels  []string
		groups  []LabelGroup
		wantErr string // substring of a usage error
	}{
		{name: "labels in order", args: []string{"a.jpg", "--labels", `b,"t-shirt, cotton"`, "--label", "x, y", "-l", "c"},
			labels: []string{"b", "t-shirt, cotton", "c", "x, y"}},
		{name: "groups", args: []string{"a.jpg", "--group", "type=dress,shirt", "--group", " colour = red"},
			groups: []LabelGroup{{"type", []string{"dress", "shirt"}}, {"colour", []string{"red"}}}},
		{name: "no input", args: []string{"--labels", "a"}, wantErr: "no input"},
		{name: "no labels", args: []string{"a.jpg"}, wantErr: "no labels"},
		{name: "empty label", args: []string{"a.jpg", "--label", " "}, wantErr: "--label must not be empty"},
		{name: "group without =", args: []string{"a.jpg", "--group", "dress,shirt"}, wantErr: "want NAME=label"},
		{name: "group twice", args: []string{"a.jpg", "--group", "a=x", "--group", "a=y"}, wantErr: "given twice"},
		{name: "empty group", args: []string{"a.jpg", "--group", "a="}, wantErr: "has no labels"},
		{name: "template without {}", args: []string{"a.jpg", "-l", "a", "--template", "a photo"}, wantErr: "{}"},
		{name: "negative top-k", args: []string{"a.jpg", "-l", "a", "-k", "-1"}, wantErr: "--top-k"},
		{name: "assets without report", args: []string{"a.jpg", "-l", "a", "--report-assets", "d"}, wantErr: "--report-assets goes with --report"},
		{name: "bad format", args: []string{"a.jpg", "-l", "a", "-f", "xml"}, wantErr: "xml"},
		{name: "zero batch", args: []string{"a.jpg", "-l", "a", "--batch-size", "0"}, wantErr: "--batch-size"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := cmdtest.Parse(t, NewCmdClassify, nil, tc.args...)
			if tc.wantErr != "" {
				cmdtest.WantUsageError(t, err, tc.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.labels != nil && !slices.Equal(got.Labels, tc.labels) {
				t.Errorf("labels %q, want %q", got.Labels, tc.labels)
			}
			if tc.groups != nil && !slices.EqualFunc(got.Groups, tc.groups, func(a, b LabelGroup) bool {
				return a.Name == b.Name && slices.Equal(a.Labels, b.Labels)
			}) {
				t.Errorf("groups %q, want %q", got.Groups, tc.groups)
			}
		})
	}
}
