package ort

import (
	"context"
	"errors"
	"fmt"
	"github.com/fashionclip/fashionclip/internal/onnxgraph"
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
	// Optimized names ONNX Runtime's own optimized copy of the graph (ORT
	// format), made by an earlier session with SaveOptimized on this
	// machine and runtime version. The session is made from it memory-mapped,
	// initializers used in place: no parse, no graph optimization, no copy of
	// the weights. The graph file is still read for its inputs and outputs.
	Optimized string
	// SaveOptimized, when set, is where a session made from the graph file
	// writes that copy (once; about the size of the graph).
	SaveOptimized string
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
	// Fallback is set when the requested device was unavailable and the
	// session runs on the CPU instead.
	Fallback *ProviderError
	outNames []string
	// mapped is the Optimized file, mapped for the session's lifetime (ONNX
	// Runtime uses its bytes in place).
	mapped []byte
}

// Describe reads a graph file's inputs and outputs from their declarations
// (a few small reads), without ONNX Runtime: asking ONNX Runtime would
// build a whole session over the file just to name them.
func Describe(path string) (inputs, outputs []IOInfo, err error) {
	in, out, err := onnxgraph.ReadFileSignature(path)
	if err != nil {
		return nil, nil, err
	}
	return convertInfo(in), convertInfo(out), nil
}

func convertInfo(infos []onnxgraph.ValueInfo) []IOInfo {
	out := make([]IOInfo, len(infos))
	for i, info := range infos {
		shape := make([]int64, len(info.Dims))
		for j, d := range info.Dims {
			shape[j] = d.Value
		}
		out[i] = IOInfo{Name: info.Name, Shape: shape, Type: elemTypeName(info.ElemType)}
	}
	return out
}

// elemTypeName names an ONNX TensorProto data type as typeName does.
func elemTypeName(t int32) string {
	names := map[int32]onnx.TensorElementDataType{1: onnx.TensorElementDataTypeFloat, 10: onnx.TensorElementDataTypeFloat16,
		7: onnx.TensorElementDataTypeInt64, 6: onnx.TensorElementDataTypeInt32, 2: onnx.TensorElementDataTypeUint8,
		3: onnx.TensorElementDataTypeInt8, 9: onnx.TensorElementDataTypeBool, 11: onnx.TensorElementDataTypeDouble}
	if n, ok := names[t]; ok {
		return typeName(n)
	}
	return fmt.Sprintf("type %d", t)
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

// NewSession builds a session over a graph file that computes the named
// outputs from all of the graph's inputs. ONNX Runtime reads the file
// itself, so a 605 MB graph is never also held in Go memory.
func NewSession(path string, outputs []string, opts SessionOptions) (*Session, error) {
	return newSession(path, outputs, opts)
}

func newSession(path string, outputs []string, opts SessionOptions) (*Session, error) {
	inputs, allOutputs, err := Describe(path)
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
	if err := so.SetLogSeverityLevel(onnx.LoggingLevelFatal); err != nil {
		return nil, err
	}
	s.Fallback = appendProvider(so, opts.Device)
	inNames := names(s.Inputs)
	s.outNames = outputs
	var sess *onnx.DynamicAdvancedSession
	if opts.Optimized != "" {
		if s.mapped, err = mapFile(opts.Optimized); err != nil {
			return nil, fmt.Errorf("map the optimized graph: %w", err)
		}
		for _, kv := range [][2]string{{"session.load_model_format", "ORT"},
			{"session.use_ort_model_bytes_directly", "1"}, {"session.use_ort_model_bytes_for_initializers", "1"}} {
			if err = so.AddSessionConfigEntry(kv[0], kv[1]); err != nil {
				break
			}
		}
		if err == nil {
			sess, err = onnx.NewDynamicAdvancedSessionWithONNXData(s.mapped, inNames, outputs, so)
		}
		if err != nil {
			unmap(s.mapped)
			return nil, &OptimizedError{Path: opts.Optimized, Err: err}
		}
	} else {
		if opts.SaveOptimized != "" {
			if err := so.AddSessionConfigEntry("session.save_model_format", "ORT"); err != nil {
				return nil, err
			}
			if err := so.SetOptimizedModelFilePath(opts.SaveOptimized); err != nil {
				return nil, err
			}
		}
		if sess, err = onnx.NewDynamicAdvancedSession(path, inNames, outputs, so); err != nil {
			return nil, fmt.Errorf("create ONNX Runtime session: %w", err)
		}
	}
	s.sess = sess
	return s, nil
}

// OptimizedError is an optimized copy ONNX Runtime would not load (a copy
// made by another runtime build, or damaged): callers drop it and load the
// graph itself.
type OptimizedError struct {
	Path string
	Err  error
}

func (e *OptimizedError) Error() string {
	return fmt.Sprintf("optimized graph %s: %v", e.Path, e.Err)
}

func (e *OptimizedError) Unwrap() error { return e.Err }

// ProviderError is an execution provider this ONNX Runtime cannot use.
type ProviderError struct {
	Device string
	Err    error
}

func (e *ProviderError) Error() string {
	return fmt.Sprintf("%s is not available in this ONNX Runtime (%v); running on the CPU", e.Device, e.Err)
}

func (e *ProviderError) Unwrap() error { return e.Err }

// appendProvider asks for an accelerator; when it is unavailable the
// session runs on the CPU, which always works, and the error says why.
func appendProvider(so *onnx.SessionOptions, device string) *ProviderError {
	switch strings.ToLower(device) {
	case "", "cpu":
		return nil
	case "cuda":
		cuda, err := onnx.NewCUDAProviderOptions()
		if err == nil {
			defer cuda.Destroy()
			err = so.AppendExecutionProviderCUDA(cuda)
		}
		if err != nil {
			return &ProviderError{Device: "CUDA", Err: err}
		}
	case "coreml":
		if runtime.GOOS != "darwin" {
			// The call succeeds on other systems and then does nothing.
			return &ProviderError{Device: "CoreML", Err: fmt.Errorf("CoreML exists on macOS only, not on %s", runtime.GOOS)}
		}
		if err := so.AppendExecutionProviderCoreMLV2(map[string]string{}); err != nil {
			return &ProviderError{Device: "CoreML", Err: err}
		}
	default:
		return &ProviderError{Device: device, Err: errors.New("unknown device")}
	}
	return nil
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

// TerminatedError is a run stopped part-way because its context ended.
type TerminatedError struct{ Cause error }

func (e *TerminatedError) Error() string { return fmt.Sprintf("ONNX Runtime run stopped: %v", e.Cause) }

func (e *TerminatedError) Unwrap() error { return e.Cause }

// Run feeds the named inputs (every graph input must be given) and returns the
// session's outputs in the order they were requested. When ctx ends during
// the run, ONNX Runtime is told to stop and Run returns a *TerminatedError
// wrapping ctx's error.
func (s *Session) Run(ctx context.Context, inputs map[string]Tensor) ([]Tensor, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
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
	if err := s.run(ctx, vals, outs); err != nil {
		return nil, err
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

// run executes the session; a context that can end gets RunOptions whose
// terminate flag a watcher sets when it does.
func (s *Session) run(ctx context.Context, in, out []onnx.Value) error {
	if ctx.Done() == nil {
		if err := s.sess.Run(in, out); err != nil {
			return fmt.Errorf("ONNX Runtime run: %w", err)
		}
		return nil
	}
	ro, err := onnx.NewRunOptions()
	if err != nil {
		return err
	}
	defer ro.Destroy()
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case <-ctx.Done():
			_ = ro.Terminate()
		case <-stop:
		}
	}()
	err = s.sess.RunWithOptions(in, out, ro)
	close(stop)
	<-watched // ro must outlive the watcher
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return &TerminatedError{Cause: cerr}
		}
		return fmt.Errorf("ONNX Runtime run: %w", err)
	}
	return nil
}

// Close releases the session.
func (s *Session) Close() error {
	if s.sess == nil {
		return nil
	}
	err := s.sess.Destroy()
	s.sess = nil
	if s.mapped != nil {
		unmap(s.mapped) // only once ONNX Runtime is done with its bytes
		s.mapped = nil
	}
	return err
}
