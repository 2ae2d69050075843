// Command ortstart measures how an ONNX Runtime session starts, one way per
// run, so the ways can be compared side by side in fresh processes (the
// research behind issue 12's warm-start goal). For each GRAPH it creates a
// session, runs one input twice and prints a JSON line: session and first
// run in wall and CPU milliseconds, the second run, RSS.
//
//	ortstart -mode plain   GRAPH.onnx                 # the .onnx by path
//	ortstart -mode save    GRAPH.onnx=GRAPH.ort       # also write ORT's optimized graph in ORT format
//	ortstart -mode ortmmap GRAPH.onnx=GRAPH.ort       # load that file memory-mapped, initializers in place
//	ortstart -mode ortfile GRAPH.onnx=GRAPH.ort       # the ORT file by path (copied)
//	ortstart -mode extsave GRAPH.onnx=OPT.onnx [-savepacked]  # optimized ONNX + external initializers
//	ortstart -mode extload GRAPH.onnx=OPT.onnx
//	ortstart -mode default GRAPH.onnx                 # default options but the thread count
//
// -opt sets the optimization level, -noprepack sets session.disable_prepacking,
// -profile writes ORT's profile. Several GRAPH arguments open several
// sessions in one process (a classify start opens two). Inputs are named
// from the graph's declarations (onnxgraph.ReadFileSignature), never by
// ONNX Runtime's GetInputOutputInfo, which builds a whole session itself.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	onnx "github.com/yalue/onnxruntime_go"

	"github.com/fashionclip/fashionclip/internal/onnxgraph"
)

type result struct {
	Mode                  string
	Graph                 string
	SessionMs, SessionCPU float64
	RunMs, RunCPU         float64
	Run2Ms                float64
	RSSAfterSessionMB     float64
	MaxRSSMB              float64
}

var (
	mode       = flag.String("mode", "plain", "plain | default | save | ortfile | ortmmap | extsave | extload")
	noprepack  = flag.Bool("noprepack", false, "")
	optLevel   = flag.String("opt", "all", "all | basic | extended | disable")
	threads    = flag.Int("threads", 2, "")
	spin       = flag.Bool("spin", false, "")
	savePacked = flag.Bool("savepacked", false, "extsave: also save prepacked weights")
	profile    = flag.String("profile", "", "ORT profile file prefix")
)

func cpu() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func rssMB() float64 {
	b, _ := os.ReadFile("/proc/self/statm")
	var size, res int64
	fmt.Sscan(string(b), &size, &res)
	return float64(res*4096) / (1 << 20)
}

func main() {
	flag.Parse()
	start := time.Now()
	onnx.SetSharedLibraryPath(os.Getenv("FASHIONCLIP_ORT_LIB"))
	must(onnx.InitializeEnvironment())
	var sessions []*onnx.DynamicAdvancedSession
	for _, pr := range flag.Args() {
		g, o, _ := strings.Cut(pr, "=")
		sessions = append(sessions, runOne(g, o))
	}
	fmt.Fprintf(os.Stderr, "process: %.1f ms wall, %.1f ms cpu\n", ms(time.Since(start)), ms(cpu()))
	for _, s := range sessions {
		s.Destroy()
	}
}

func options(graph, other string) (*onnx.SessionOptions, string, []byte) {
	so, err := onnx.NewSessionOptions()
	must(err)
	must(so.SetIntraOpNumThreads(*threads))
	if *profile != "" {
		must(so.EnableProfiling(*profile))
	}
	if *mode == "default" { // the naive floor: nothing but the thread count
		return so, graph, nil
	}
	must(so.SetInterOpNumThreads(1))
	if !*spin {
		must(so.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"))
	}
	lvl := map[string]onnx.GraphOptimizationLevel{"all": onnx.GraphOptimizationLevelEnableAll, "basic": onnx.GraphOptimizationLevelEnableBasic,
		"extended": onnx.GraphOptimizationLevelEnableExtended, "disable": onnx.GraphOptimizationLevelDisableAll}[*optLevel]
	must(so.SetGraphOptimizationLevel(lvl))
	if *noprepack {
		must(so.AddSessionConfigEntry("session.disable_prepacking", "1"))
	}
	switch *mode {
	case "save":
		must(so.AddSessionConfigEntry("session.save_model_format", "ORT"))
		must(so.SetOptimizedModelFilePath(other))
	case "extsave":
		must(so.SetOptimizedModelFilePath(other))
		must(so.AddSessionConfigEntry("session.optimized_model_external_initializers_file_name", filepath.Base(other)+".data"))
		must(so.AddSessionConfigEntry("session.optimized_model_external_initializers_min_size_in_bytes", "1024"))
		if *savePacked {
			must(so.AddSessionConfigEntry("session.save_external_prepacked_constant_initializers", "1"))
		}
	case "extload":
		return so, other, nil
	case "ortfile":
		must(so.AddSessionConfigEntry("session.load_model_format", "ORT"))
		return so, other, nil
	case "ortmmap":
		f, err := os.Open(other)
		must(err)
		st, _ := f.Stat()
		// The mapping must outlive the session: ORT keeps pointers into it
		// (graph and initializers). Here it lives until the process exits.
		data, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
		must(err)
		f.Close()
		must(so.AddSessionConfigEntry("session.load_model_format", "ORT"))
		must(so.AddSessionConfigEntry("session.use_ort_model_bytes_directly", "1"))
		must(so.AddSessionConfigEntry("session.use_ort_model_bytes_for_initializers", "1"))
		return so, other, data
	}
	return so, graph, nil
}

func runOne(graph, other string) *onnx.DynamicAdvancedSession {
	so, src, data := options(graph, other)
	defer so.Destroy()
	ins, outs, err := onnxgraph.ReadFileSignature(graph)
	must(err)
	var names []string
	var values []onnx.Value
	for _, in := range ins {
		names = append(names, in.Name)
		switch in.Name {
		case "pixel_values":
			v, _ := onnx.NewTensor(onnx.NewShape(1, 3, 224, 224), make([]float32, 3*224*224))
			values = append(values, v)
		case "input_ids":
			v, _ := onnx.NewTensor(onnx.NewShape(1, 4), []int64{49406, 320, 2595, 49407})
			values = append(values, v)
		case "attention_mask":
			v, _ := onnx.NewTensor(onnx.NewShape(1, 4), []int64{1, 1, 1, 1})
			values = append(values, v)
		}
	}
	tag := *mode + "-" + *optLevel
	if *noprepack {
		tag += "-noprepack"
	}
	r := result{Mode: tag, Graph: filepath.Base(src)}
	t, c := time.Now(), cpu()
	var sess *onnx.DynamicAdvancedSession
	if data != nil {
		sess, err = onnx.NewDynamicAdvancedSessionWithONNXData(data, names, []string{outs[0].Name}, so)
	} else {
		sess, err = onnx.NewDynamicAdvancedSession(src, names, []string{outs[0].Name}, so)
	}
	must(err)
	r.SessionMs, r.SessionCPU = ms(time.Since(t)), ms(cpu()-c)
	r.RSSAfterSessionMB = rssMB()
	out := []onnx.Value{nil}
	t, c = time.Now(), cpu()
	must(sess.Run(values, out))
	r.RunMs, r.RunCPU = ms(time.Since(t)), ms(cpu()-c)
	out[0].Destroy()
	out[0] = nil
	t = time.Now()
	must(sess.Run(values, out))
	r.Run2Ms = ms(time.Since(t))
	out[0].Destroy()
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	r.MaxRSSMB = float64(ru.Maxrss) / 1024
	b, _ := json.Marshal(r)
	fmt.Println(string(b))
	return sess
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func must(err error) {
	if err != nil {
		panic(err)
	}
}
