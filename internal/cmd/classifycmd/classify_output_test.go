package classifycmd

import (
	"testing"

	"github.com/fashionclip/fashionclip/internal/output"
	"github.com/fashionclip/fashionclip/pkg/fashionclip"
)

func TestClassifyRecordJSON(t *testing.T) {
	cases := []struct {
		rec  classifyRecord
		want string
	}{
		{classifyRecord{Path: "a&b <c>.jpg", Err: "broken"}, `{"path":"a&b <c>.jpg","error":"broken"}`},
		{classifyRecord{Path: "x.jpg", Labels: []fashionclip.LabelScore{{Label: "t-shirt & top", Score: 0.5}}},
			`{"path":"x.jpg","labels":[{"label":"t-shirt & top","score":0.5}]}`},
		{classifyRecord{Path: "x.jpg", Groups: []scoredGroup{{Name: "z", Scores: []fashionclip.LabelScore{}}, {Name: "a", Scores: []fashionclip.LabelScore{{Label: "red", Score: 1}}}}},
			`{"path":"x.jpg","groups":{"z":[],"a":[{"label":"red","score":1}]}}`},
	}
	for _, c := range cases {
		got, err := output.MarshalJSON(c.rec)
		if err != nil || string(got) != c.want {
			t.Errorf("got %s (%v), want %s", got, err, c.want)
		}
	}
}
