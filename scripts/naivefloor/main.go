// Command naivefloor is the baseline of fashionclip's warm-start goal: the
// plainest program that opens a model's cut tower graphs in ONNX Runtime and
// runs one image and one text through them. Default session options except
// the intra-op thread count, graphs opened by path, nothing cached.
//
//	go run ./scripts/naivefloor -threads 2 -vision V.onnx -text T.onnx
//	go run ./scripts/naivefloor -threads 2 -text T.onnx        # the text-session floor
//
// Time the whole process (hyperfine, or bench speed) side by side with
// `fashionclip classify one.jpg` and `fashionclip search INDEX "text"`; the
// per-step times it prints on stderr say where the floor's time goes.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	onnx "github.com/yalue/onnxruntime_go"
)

func main() {
	lib := flag.String("lib", os.Getenv("FASHIONCLIP_ORT_LIB"), "ONNX Runtime shared library (default $FASHIONCLIP_ORT_LIB)")
	vision := flag.String("vision", "", "cut vision graph (pixel_values → image_embeds); empty skips the image")
	text := flag.String("text", "", "cut text graph (input_ids[, attention_mask] → text_embeds); empty skips the text")
	threads := flag.Int("threads", runtime.NumCPU(), "intra-op threads, as given to fashionclip")
	textInputs := flag.String("text-inputs", "input_ids,attention_mask", "the text graph's inputs (transformers.js text graphs take input_ids only)")
	flag.Parse()
	if err := run(*lib, *vision, *text, strings.Split(*textInputs, ","), *threads); err != nil {
		fmt.Fprintln(os.Stderr, "naivefloor:", err)
		os.Exit(1)
	}
}

func run(lib, vision, text string, textInputs []string, threads int) error {
	if lib == "" || (vision == "" && text == "") {
		return fmt.Errorf("need -lib (or FASHIONCLIP_ORT_LIB) and at least one of -vision, -text")
	}
	start := time.Now()
	onnx.SetSharedLibraryPath(lib)
	if err := onnx.InitializeEnvironment(); err != nil {
		return err
	}
	defer onnx.DestroyEnvironment()
	step("load ONNX Runtime", start)
	if vision != "" {
		px := make([]float32, 3*224*224)
		in, err := onnx.NewTensor(onnx.NewShape(1, 3, 224, 224), px)
		if err != nil {
			return err
		}
		defer in.Destroy()
		if err := once(vision, threads, []string{"pixel_values"}, "image_embeds", map[string]onnx.Value{"pixel_values": in}); err != nil {
			return fmt.Errorf("%s: %w", vision, err)
		}
	}
	if text != "" {
		ids, err := onnx.NewTensor(onnx.NewShape(1, 4), []int64{49406, 320, 2595, 49407}) // "a dress"
		if err != nil {
			return err
		}
		defer ids.Destroy()
		mask, err := onnx.NewTensor(onnx.NewShape(1, 4), []int64{1, 1, 1, 1})
		if err != nil {
			return err
		}
		defer mask.Destroy()
		if err := once(text, threads, textInputs, "text_embeds", map[string]onnx.Value{"input_ids": ids, "attention_mask": mask}); err != nil {
			return fmt.Errorf("%s: %w", text, err)
		}
	}
	step("total", start)
	return nil
}

// once creates a session over the graph at path and runs it once. The
// input and output names are given, not asked of ONNX Runtime: its
// GetInputOutputInfo builds (and drops) a whole session of its own.
func once(path string, threads int, inputs []string, output string, feeds map[string]onnx.Value) error {
	t := time.Now()
	var values []onnx.Value
	for _, name := range inputs {
		v, ok := feeds[name]
		if !ok {
			return fmt.Errorf("no data for input %q", name)
		}
		values = append(values, v)
	}
	so, err := onnx.NewSessionOptions()
	if err != nil {
		return err
	}
	defer so.Destroy()
	if err := so.SetIntraOpNumThreads(threads); err != nil {
		return err
	}
	sess, err := onnx.NewDynamicAdvancedSession(path, inputs, []string{output}, so)
	if err != nil {
		return err
	}
	defer sess.Destroy()
	step("session "+path, t)
	t = time.Now()
	result := []onnx.Value{nil}
	if err := sess.Run(values, result); err != nil {
		return err
	}
	result[0].Destroy()
	step("first run "+path, t)
	return nil
}

func step(what string, since time.Time) {
	fmt.Fprintf(os.Stderr, "%8.1f ms  %s\n", float64(time.Since(since).Microseconds())/1000, what)
}
