package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fashionclip/fashionclip/internal/cmd/modelcmd"
	"github.com/fashionclip/fashionclip/internal/cmdutil"
	"github.com/fashionclip/fashionclip/internal/hub/hubtest"
	"github.com/fashionclip/fashionclip/internal/modelfiles"
	"github.com/fashionclip/fashionclip/internal/testutil"
	"github.com/fashionclip/fashionclip/pkg/fashionclip"
)

func TestBinaryModelQuantize(t *testing.T) {
	model := tinyModel(t)
	before := testutil.ListFiles(t, model)
	work := t.TempDir()
	images := sampleImages(t)
	out := filepath.Join(work, "tiny-int8")

	r := runBinary(t, work, "", nil, "model", "quantize", "--model", model, "-o", out, "-f", "json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var rep modelcmd.QuantizeReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v: %q", err, r.stdout)
	}
	t.Logf("%+v", rep)
	if rep.Texts.N == 0 || rep.Images.N != 6 || !rep.Samples || rep.Top1Of != 6 {
		t.Fatalf("report %+v", rep)
	}
	if rep.Texts.Min < 0.999 || rep.Images.Min < 0.999 || rep.Texts.Mean < rep.Texts.Min {
		t.Fatalf("int8 vs fp32 cosines %+v %+v", rep.Texts, rep.Images)
	}
	for _, p := range []string{"onnx/text_model_int8.onnx", "onnx/vision_model_int8.onnx", "config.json", "preprocessor_config.json"} {
		if _, err := os.Stat(filepath.Join(out, p)); err != nil {
			t.Errorf("the folder lacks %s: %v", p, err)
		}
	}
	if !strings.Contains(r.stderr, "--variant int8") {
		t.Errorf("stderr does not tell how to load the folder:\n%s", r.stderr)
	}

	r = runBinary(t, work, "", nil, "model", "quantize", "--model", model, "-o", out)
	if r.code != cmdutil.ExitUsage || !strings.Contains(r.stderr, "--force") {
		t.Fatalf("a second write without --force: exit %d: %s", r.code, r.stderr)
	}
	r = runBinary(t, work, "", nil, "model", "quantize", "--model", model, "-o", out, "--force", "--variant", "int8")
	if r.code != cmdutil.ExitUsage {
		t.Fatalf("quantize of --variant int8: exit %d: %s", r.code, r.stderr)
	}
	r = runBinary(t, work, "", nil, "model", "quantize", "--model", model, "-o", out, "--force",
		"--check", filepath.Join(images, "red-dress.jpg")+","+filepath.Join(work, "missing.jpg"), "--labels", "dress,boot", "-f", "json")
	if r.code != cmdutil.ExitPartial || !strings.Contains(r.stderr, "missing.jpg") {
		t.Fatalf("--check with a missing file: exit %d: %s", r.code, r.stderr)
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || rep.Images.N != 1 || rep.Samples || rep.Top1Of != 1 {
		t.Fatalf("--check report %+v, %v", rep, err)
	}

	// The written folder loads as shipped int8: nothing is derived.
	cache := "FASHIONCLIP_CACHE=" + t.TempDir()
	r = runBinary(t, work, "", []string{cache}, "classify", "--model", out, "--variant", "int8", "--labels", "dress,boot", "-f", "tsv", images)
	if r.code != 0 || strings.Contains(r.stderr, "prepared the int8") || strings.Count(r.stdout, "\n") != 1+2*6 {
		t.Fatalf("classify with the written folder: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	// The fp32 folder with --variant int8 derives once into the cache.
	for i, want := range []int{1, 0} {
		r = runBinary(t, work, "", []string{cache}, "classify", "--model", model, "--variant", "int8", "--labels", "dress,boot", images)
		if r.code != 0 {
			t.Fatalf("run %d: exit %d: %s", i, r.code, r.stderr)
		}
		for _, tower := range []string{"text", "vision"} {
			if got := strings.Count(r.stderr, "prepared the int8 "+tower+" graph once"); got != want {
				t.Fatalf("run %d: %d notes of the %s derivation, want %d:\n%s", i, got, tower, want, r.stderr)
			}
		}
	}
	r = runBinary(t, work, "", []string{cache}, "cache", "info", "-f", "json")
	if r.code != 0 || strings.Count(r.stdout, `"recipe":"`+fashionclip.Int8Recipe()+`"`) != 2 {
		t.Fatalf("cache info does not list the two int8 towers: %s %s", r.stdout, r.stderr)
	}
	if after := testutil.ListFiles(t, model); !slices.Equal(before, after) {
		t.Fatalf("the model folder was written: %v", after)
	}
}

// The official repo ships only an fp32 onnx/model.onnx: --variant int8
// pulls it, derives both towers once, and model rm removes them with it.
func TestBinaryInt8FromAnFP32HubRepo(t *testing.T) {
	dir := sampleImages(t)
	repo := fashionCLIPLikeRepo(t, "acme/fashion-clip")
	srv := hubtest.NewServer(t, repo)
	graphs := t.TempDir()
	env := []string{"FASHIONCLIP_CACHE=" + graphs}
	for k, v := range srv.Env(t.TempDir()) {
		env = append(env, k+"="+v)
	}
	r := runBinary(t, dir, "", env, "classify", ".", "--model", repo.ID, "--variant", "int8", "--labels", "dress,boot")
	if r.code != 0 || strings.Count(r.stdout, "\n") != 6 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, tower := range []string{"text", "vision"} {
		if !strings.Contains(r.stderr, "prepared the int8 "+tower+" graph once") {
			t.Fatalf("no note of the %s derivation:\n%s", tower, r.stderr)
		}
	}
	entries, err := os.ReadDir(filepath.Join(graphs, "graphs"))
	optimized := 0
	for _, e := range entries {
		if strings.Contains(e.Name(), ".ort-v1-") {
			optimized++
		}
	}
	// The cut, one int8 entry per tower, and ONNX Runtime's optimized form
	// of each int8 tower (fast starts).
	if err != nil || len(entries) != 5 || optimized != 2 {
		t.Fatalf("graph cache %v, %v", entries, err)
	}
	r = runBinary(t, dir, "", env, "model", "rm", repo.ID, "--yes")
	if r.code != 0 {
		t.Fatalf("model rm: exit %d: %s", r.code, r.stderr)
	}
	if entries, _ := os.ReadDir(filepath.Join(graphs, "graphs")); len(entries) != 0 {
		t.Fatalf("model rm left derived graphs: %v", entries)
	}
}

func TestVariantRemedy(t *testing.T) {
	cases := []struct {
		err  error
		want string
	}{
		{&modelfiles.NoGraphError{Variant: modelfiles.FP16, Available: []modelfiles.Variant{modelfiles.FP32}}, "try without --variant"},
		// int8 is derived from fp32, so its error means there is no fp32 graph either.
		{&modelfiles.NoGraphError{Variant: modelfiles.Int8, Available: []modelfiles.Variant{modelfiles.FP16, modelfiles.Quantized}}, "try --variant fp16"},
		{&modelfiles.NoGraphError{Variant: modelfiles.Int8}, ""},
		{&modelfiles.NoGraphError{Variant: modelfiles.FP32}, ""},
	}
	for _, c := range cases {
		if got := cmdutil.Remedy(fmt.Errorf("load: %w", c.err)); got != c.want {
			t.Errorf("%v: remedy %q, want %q", c.err, got, c.want)
		}
	}
}
