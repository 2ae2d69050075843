package onnxgraph_test

import (
	"bytes"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/fashionclip/fashionclip/internal/onnxgraph"
	"github.com/fashionclip/fashionclip/internal/synth"
	"github.com/fashionclip/fashionclip/internal/testutil"
)

// countingReader counts the bytes a reader was asked for.
type countingReader struct {
	r *bytes.Reader
	n int64
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	c.n += int64(len(p))
	return c.r.ReadAt(p, off)
}

func TestReadSignature(t *testing.T) {
	text, err := synth.TextModel(synth.Tiny(), true)
	if err != nil {
		t.Fatal(err)
	}
	irv3 := &onnxgraph.Model{IRVersion: 3, OpsetImports: []onnxgraph.OpsetID{{Version: 17}}, Graph: &onnxgraph.Graph{
		Nodes:        []*onnxgraph.Node{node("MatMul", []string{"x", "w"}, "y")},
		Initializers: []*onnxgraph.Tensor{w34},
		Inputs:       []*onnxgraph.Value{onnxgraph.TensorValue("x", onnxgraph.TypeFloat, "n", 3), onnxgraph.TensorValue("w", onnxgraph.TypeFloat, 3, 4)},
		Outputs:      []*onnxgraph.Value{onnxgraph.TensorValue("y", onnxgraph.TypeFloat, "n", 4)},
	}}
	models := map[string][]byte{
		"synthetic text":         mustMarshal(t, text),
		"initializers as inputs": mustMarshal(t, irv3),
		"subgraphs":              mustMarshal(t, ifModel()),
	}
	for name, data := range models {
		t.Run(name, func(t *testing.T) {
			m, err := onnxgraph.Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			r := &countingReader{r: bytes.NewReader(data)}
			in, out, err := onnxgraph.ReadSignature(r, int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(in, m.Inputs()) || !reflect.DeepEqual(out, m.Outputs()) {
				t.Errorf("signature %+v → %+v, want %+v → %+v", in, out, m.Inputs(), m.Outputs())
			}
			if len(data) > 1<<20 && r.n > int64(len(data))/100 {
				t.Errorf("read %d of %d bytes: more than the declarations", r.n, len(data))
			}
		})
	}
	t.Run("reference kit", func(t *testing.T) {
		path := filepath.Join(testutil.ReferenceDir(t), "models", "tiny-split", "onnx", "text_model.onnx")
		in, out, err := onnxgraph.ReadFileSignature(path)
		if err != nil {
			t.Fatal(err)
		}
		m := readModel(t, path)
		if !reflect.DeepEqual(in, m.Inputs()) || !reflect.DeepEqual(out, m.Outputs()) || len(in) != 1 || in[0].Name != "input_ids" {
			t.Errorf("signature %+v → %+v", in, out)
		}
	})
	valid := models["subgraphs"]
	for name, data := range map[string][]byte{
		"empty": nil, "no graph": pb(nil).varint(1, 8), "truncated": valid[:len(valid)-3],
		"text": []byte("not a model at all\n"), "length past the end": pb(nil).varint(1, 8).bytes(7, []byte{0x5a, 0x40, 0x01}),
	} {
		if _, _, err := onnxgraph.ReadSignature(bytes.NewReader(data), int64(len(data))); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, _, err := onnxgraph.ReadFileSignature(filepath.Join(t.TempDir(), "missing.onnx")); err == nil {
		t.Error("missing file: no error")
	}
}
