// Command variantab measures two weight variants of one model side by side
// (default fp32 and int8), alternating them run by run so both see the same
// machine load: `fashionclip bench speed` (end-to-end and model-only
// images/s, label-encoding time) and a whole `fashionclip classify`
// process (wall time) over the same images. It prints the medians and the
// ratio B/A of each figure.
//
//	go build -o bin/fashionclip ./cmd/fashionclip
//	go run ./scripts/variantab -bin bin/fashionclip -model MODEL -images DIR -rounds 3
//
// Run it once before measuring, or pass -warm, so that the int8 towers are
// derived into the cache and the graphs are in the page cache.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"time"
)

type speed struct {
	ImagesPerSecond          float64 `json:"images_per_second"`
	ModelOnlyImagesPerSecond float64 `json:"model_only_images_per_second"`
	TextMS                   float64 `json:"text_ms"`
}

func main() {
	bin := flag.String("bin", "bin/fashionclip", "the fashionclip binary")
	model := flag.String("model", "", "model folder or repo id")
	images := flag.String("images", "", "folder of images")
	labels := flag.String("labels", "sneaker,boot,dress,t-shirt,jeans,bag,coat,shirt,sandal,skirt", "labels for classify")
	a := flag.String("a", "fp32", "variant A")
	b := flag.String("b", "int8", "variant B")
	rounds := flag.Int("rounds", 3, "runs of each variant")
	threads := flag.Int("threads", 0, "--threads (0: fashionclip's default)")
	warm := flag.Bool("warm", true, "one untimed classify per variant first")
	flag.Parse()
	if *model == "" || *images == "" {
		fmt.Fprintln(os.Stderr, "variantab: need -model and -images")
		os.Exit(2)
	}
	common := []string{"--model", *model, "--quiet", "--threads", strconv.Itoa(*threads)}
	classify := func(v string) (float64, error) {
		t0 := time.Now()
		_, err := run(*bin, append([]string{"classify", *images, "--labels", *labels, "--variant", v, "-f", "jsonl"}, common...)...)
		return time.Since(t0).Seconds(), err
	}
	bench := func(v string) (speed, error) {
		out, err := run(*bin, append([]string{"bench", "speed", "--images", *images, "--variant", v, "-f", "json"}, common...)...)
		var s speed
		if err == nil {
			err = json.Unmarshal(out, &s)
		}
		return s, err
	}
	if *warm {
		for _, v := range []string{*a, *b} {
			if _, err := classify(v); err != nil {
				fail(err)
			}
		}
	}
	figures := map[string]map[string][]float64{*a: {}, *b: {}}
	names := []string{"end-to-end images/s (bench speed)", "model-only images/s (bench speed)", "label texts ms (bench speed)", "classify process s (wall)"}
	for r := range *rounds {
		order := []string{*a, *b}
		if r%2 == 1 {
			order = []string{*b, *a}
		}
		for _, v := range order {
			s, err := bench(v)
			if err != nil {
				fail(err)
			}
			wall, err := classify(v)
			if err != nil {
				fail(err)
			}
			f := figures[v]
			for i, x := range []float64{s.ImagesPerSecond, s.ModelOnlyImagesPerSecond, s.TextMS, wall} {
				f[names[i]] = append(f[names[i]], x)
			}
			fmt.Fprintf(os.Stderr, "round %d %s: %.2f img/s e2e, %.2f img/s model, %.1f ms texts, %.2f s classify\n", r+1, v, s.ImagesPerSecond, s.ModelOnlyImagesPerSecond, s.TextMS, wall)
		}
	}
	fmt.Printf("%-36s %10s %10s %8s\n", "median of "+strconv.Itoa(*rounds), *a, *b, "B/A")
	for _, n := range names {
		ma, mb := median(figures[*a][n]), median(figures[*b][n])
		fmt.Printf("%-36s %10.2f %10.2f %8.2f\n", n, ma, mb, mb/ma)
	}
}

func run(bin string, args ...string) ([]byte, error) {
	var out, errOut bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %v: %v\n%s", bin, args, err, errOut.String())
	}
	return out.Bytes(), nil
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "variantab:", err)
	os.Exit(1)
}
