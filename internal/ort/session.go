package ort

import (
	"fmt"
	"runtime"
	"strings"

	onnx "github.com/yalue/onnxruntime_go"
)

// SessionOptions tune one session.
type SessionOptions struct {
	// Threads is the intra-op thread count; 0 means one per core.
	Threads int
	// Device is "cpu" (default), "cuda" or "coreml".
	Device string
	// NoSpin stops idle ONNX Runtime threads from busy-waiting, so decode
	// workers sharing the cores are not starved between batches.
	NoSpin bool
}

// IOInfo describes one graph input or output.
type IOInfo struct {
	Name  string
	Shape []int64 // -1 for dynamic dimensions
	Type  string  // "float32", "int64", ...
}

// Session is a loaded graph. Run is safe for concurrent callers.
type Session struct {
	sess    *onnx.DynamicAdvancedSession
	Inputs  []IOInfo
	Outputs []IOInfo
	// Warnings holds notes for the user, such as a device fallback.
	Warnings []string
	outNames []string
}

// Describe reads a graph's inputs and outputs without keeping a session.
func Describe(model []byte) (inputs, outputs []IOInfo, err error) {
	if !onnx.IsInitialized() {
		return nil, nil, ErrNotInitialized
	}
	in, out, err := onnx.GetInputOutputInfoWithONNXData(model)
	if err != nil {
		return nil, nil, err
	}
	return convertInfo(in), convertInfo(out), nil
}

func convertInfo(infos []onnx.InputOutputInfo) []IOInfo {
	out := make([]IOInfo, len(infos))
	for i, info := range infos {
		out[i] = IOInfo{Name: info.Name, Shape: append([]int64(nil), info.Dimensions...), Type: typeName(info.DataType)}
	}
	return out
}

func typeName(t onnx.TensorElementDataType) string {
	switch t {
	case onnx.TensorElementDataTypeFloat:
		return "float32"
	case onnx.TensorElementDataTypeFloat16:
		return "float16"
	case onnx.TensorElementDataTypeInt64:
		return "int64"
	case onnx.TensorElementDataTypeInt32:
		return "int32"
	}
	return strings.ToLower(t.String())
}

// graphSource is a graph in memory or in a file; ONNX Runtime reads either.
type graphSource struct {
	data []byte
	path string
}

func (g graphSource) describe() ([]IOInfo, []IOInfo, error) {
	if g.data != nil {
		return Describe(g.data)
	}
	if !onnx.IsInitialized() {
		return nil, nil, ErrNotInitialized
	}
	in, out, err := onnx.GetInputOutputInfo(g.path)
	if err != nil {
		return nil, nil, err
	}
	return convertInfo(in), convertInfo(out), nil
}

func (g graphSource) create(in, out []string, so *onnx.SessionOptions) (*onnx.DynamicAdvancedSession, error) {
	if g.data != nil {
		return onnx.NewDynamicAdvancedSessionWithONNXData(g.data, in, out, so)
	}
	return onnx.NewDynamicAdvancedSession(g.path, in, out, so)
}

// NewSession builds a session over an in-memory graph that computes the named
// outputs from all of the graph's inputs.
func NewSession(model []byte, outputs []string, opts SessionOptions) (*Session, error) {
	return newSession(graphSource{data: model}, outputs, opts)
}

// NewSessionFromFile is NewSession over a graph file: ONNX Runtime reads it
// itself, so a 605 MB graph is never also held in Go memory.
func NewSessionFromFile(path string, outputs []string, opts SessionOptions) (*Session, error) {
	return newSession(graphSource{path: path}, outputs, opts)
}

func newSession(g graphSource, outputs []string, opts SessionOptions) (*Session, error) {
	inputs, allOutputs, err := g.describe()
	if err != nil {
		return nil, fmt.Errorf("read graph inputs/outputs: %w", err)
	}
	s := &Session{Inputs: inputs}
	for _, name := range outputs {
		found := false
		for _, o := range allOutputs {
			if o.Name == name {
				s.Outputs = append(s.Outputs, o)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("graph has no output %q (it has %s)", name, names(allOutputs))
		}
	}
	so, err := onnx.NewSessionOptions()
	if err != nil {
		return nil, err
	}
	defer so.Destroy()
	threads := opts.Threads
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	if err := so.SetIntraOpNumThreads(threads); err != nil {
		return nil, err
	}
	if err := so.SetInterOpNumThreads(1); err != nil {
		return nil, err
	}
	if opts.NoSpin {
		if err := so.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"); err != nil {
			return nil, err
		}
	}
	if w := appendProvider(so, opts.Device); w != "" {
		s.Warnings = append(s.Warnings, w)
	}
	inNames := names(s.Inputs)
	s.outNames = outputs
	sess, err := g.create(inNames, outputs, so)
	if err != nil {
		return nil, fmt.Errorf("create ONNX Runtime session: %w", err)
	}
	s.sess = sess
	return s, nil
}

// appendProvider asks for an accelerator and returns a warning instead of
// failing when it is unavailable: CPU always works.
func appendProvider(so *onnx.SessionOptions, device string) string {
	switch strings.ToLower(device) {
	case "", "cpu":
		return ""
	case "cuda":
		cuda, err := onnx.NewCUDAProviderOptions()
		if err == nil {
			defer cuda.Destroy()
			err = so.AppendExecutionProviderCUDA(cuda)
		}
		if err != nil {
			return fmt.Sprintf("CUDA is not available in this ONNX Runtime (%v); falling back to CPU", err)
		}
	case "coreml":
		if err := so.AppendExecutionProviderCoreMLV2(map[string]string{}); err != nil {
			return fmt.Sprintf("CoreML is not available in this ONNX Runtime (%v); falling back to CPU", err)
		}
	default:
		return fmt.Sprintf("unknown device %q; using CPU", device)
	}
	return ""
}

func names(infos []IOInfo) []string {
	out := make([]string, len(infos))
	for i, info := range infos {
		out[i] = info.Name
	}
	return out
}

// HasInput reports whether the graph takes the named input.
func (s *Session) HasInput(name string) bool {
	for _, in := range s.Inputs {
		if in.Name == name {
			return true
		}
	}
	return false
}

// Tensor is a dense input or output. Exactly one of Int64 and Float32 is set.
type Tensor struct {
	Shape   []int64
	Int64   []int64
	Float32 []float32
}

// Run feeds the named inputs (every graph input must be given) and returns the
// session's outputs in the order they were requested.
func (s *Session) Run(inputs map[string]Tensor) ([]Tensor, error) {
	vals := make([]onnx.Value, len(s.Inputs))
	defer func() {
		for _, v := range vals {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	for i, info := range s.Inputs {
		t, ok := inputs[info.Name]
		if !ok {
			return nil, fmt.Errorf("input %q not given", info.Name)
		}
		var err error
		switch {
		case t.Int64 != nil:
			vals[i], err = onnx.NewTensor(onnx.NewShape(t.Shape...), t.Int64)
		case t.Float32 != nil:
			vals[i], err = onnx.NewTensor(onnx.NewShape(t.Shape...), t.Float32)
		default:
			err = fmt.Errorf("no data")
		}
		if err != nil {
			return nil, fmt.Errorf("input %q: %w", info.Name, err)
		}
	}
	outs := make([]onnx.Value, len(s.outNames))
	if err := s.sess.Run(vals, outs); err != nil {
		return nil, fmt.Errorf("ONNX Runtime run: %w", err)
	}
	result := make([]Tensor, len(outs))
	for i, o := range outs {
		defer o.Destroy()
		ft, ok := o.(*onnx.Tensor[float32])
		if !ok {
			return nil, fmt.Errorf("output %q is not float32", s.outNames[i])
		}
		result[i] = Tensor{Shape: append([]int64(nil), ft.GetShape()...), Float32: append([]float32(nil), ft.GetData()...)}
	}
	return result, nil
}

// Close releases the session.
func (s *Session) Close() error {
	if s.sess == nil {
		return nil
	}
	err := s.sess.Destroy()
	s.sess = nil
	return err
}
