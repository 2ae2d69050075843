package synth

import (
	"os"
	"sync"
	"testing"

	ort "github.com/yalue/onnxruntime_go"
)

// The ONNX Runtime environment is process-wide: initialise it once.
var (
	ortOnce sync.Once
	ortErr  error
)

func needORT(t testing.TB) {
	t.Helper()
	lib := os.Getenv("FASHIONCLIP_ORT_LIB")
	if lib == "" {
		t.Skip("FASHIONCLIP_ORT_LIB is not set: ONNX Runtime tests skipped (make test sets it)")
	}
	ortOnce.Do(func() {
		ort.SetSharedLibraryPath(lib)
		ortErr = ort.InitializeEnvironment()
	})
	if ortErr != nil {
		t.Fatalf("load ONNX Runtime from %s: %v", lib, ortErr)
	}
}

type input struct {
	name  string
	shape []int64
	f32   []float32
	i64   []int64
}

type output struct {
	shape []int64
	data  []float32
}

// run executes a serialized model once and returns the named float outputs.
func run(t testing.TB, model []byte, ins []input, names ...string) map[string]output {
	t.Helper()
	needORT(t)
	inNames := make([]string, len(ins))
	values := make([]ort.Value, len(ins))
	for i, in := range ins {
		inNames[i] = in.name
		var v ort.Value
		var err error
		if in.i64 != nil {
			v, err = ort.NewTensor(ort.NewShape(in.shape...), in.i64)
		} else {
			v, err = ort.NewTensor(ort.NewShape(in.shape...), in.f32)
		}
		if err != nil {
			t.Fatalf("input %s: %v", in.name, err)
		}
		defer v.Destroy()
		values[i] = v
	}
	sess, err := ort.NewDynamicAdvancedSessionWithONNXData(model, inNames, names, nil)
	if err != nil {
		t.Fatalf("create session: %v", err)
	}
	defer sess.Destroy()
	outs := make([]ort.Value, len(names))
	if err := sess.Run(values, outs); err != nil {
		t.Fatalf("run: %v", err)
	}
	res := map[string]output{}
	for i, o := range outs {
		ft, ok := o.(*ort.Tensor[float32])
		if !ok {
			t.Fatalf("output %s is %T, want float32 tensor", names[i], o)
		}
		res[names[i]] = output{shape: ft.GetShape(), data: append([]float32(nil), ft.GetData()...)}
		o.Destroy()
	}
	return res
}
