package testutil

import (
	"sync"
	"testing"

	onnx "github.com/yalue/onnxruntime_go"
)

// ONNX Runtime's environment is process-wide: tests initialise it once.
var (
	ortOnce sync.Once
	ortErr  error
)

// InitORT loads ONNX Runtime for tests that drive it directly (skipping when
// no library is available, see ORTLibrary).
func InitORT(t testing.TB) {
	t.Helper()
	lib := ORTLibrary(t)
	ortOnce.Do(func() {
		if onnx.IsInitialized() {
			return
		}
		onnx.SetSharedLibraryPath(lib)
		ortErr = onnx.InitializeEnvironment()
	})
	if ortErr != nil {
		t.Fatalf("load ONNX Runtime from %s: %v", lib, ortErr)
	}
}

// ORTInput is one named input tensor; set exactly one of the data fields.
type ORTInput struct {
	Name  string
	Shape []int64
	F32   []float32
	I64   []int64
	Bool  []bool
}

// ORTOutput is one float32 output tensor.
type ORTOutput struct {
	Shape []int64
	Data  []float32
}

// RunONNX runs a serialised graph once and returns the named float outputs.
func RunONNX(t testing.TB, model []byte, ins []ORTInput, names ...string) map[string]ORTOutput {
	t.Helper()
	InitORT(t)
	inNames := make([]string, len(ins))
	values := make([]onnx.Value, len(ins))
	for i, in := range ins {
		inNames[i] = in.Name
		var v onnx.Value
		var err error
		switch {
		case in.I64 != nil:
			v, err = onnx.NewTensor(onnx.NewShape(in.Shape...), in.I64)
		case in.Bool != nil:
			v, err = onnx.NewTensor(onnx.NewShape(in.Shape...), in.Bool)
		default:
			v, err = onnx.NewTensor(onnx.NewShape(in.Shape...), in.F32)
		}
		if err != nil {
			t.Fatalf("input %s: %v", in.Name, err)
		}
		defer v.Destroy()
		values[i] = v
	}
	sess, err := onnx.NewDynamicAdvancedSessionWithONNXData(model, inNames, names, nil)
	if err != nil {
		t.Fatalf("create session: %v", err)
	}
	defer sess.Destroy()
	outs := make([]onnx.Value, len(names))
	if err := sess.Run(values, outs); err != nil {
		t.Fatalf("run: %v", err)
	}
	res := map[string]ORTOutput{}
	for i, o := range outs {
		ft, ok := o.(*onnx.Tensor[float32])
		if !ok {
			t.Fatalf("output %s is %T, want a float32 tensor", names[i], o)
		}
		res[names[i]] = ORTOutput{Shape: ft.GetShape(), Data: append([]float32(nil), ft.GetData()...)}
		o.Destroy()
	}
	return res
}
