package cli

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/fashionclip/fashionclip/internal/cmdutil"
	"github.com/fashionclip/fashionclip/internal/index"
)

func TestSearchUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"dangling operator", []string{"search", "idx", "a", "-"}, "ends with the operator"},
		{"two terms", []string{"search", "idx", "white", "sneaker"}, "quote them as one text"},
		{"bad weight", []string{"search", "idx", "1..2:x"}, "bad weight"},
		{"k 0", []string{"search", "idx", "a", "-k", "0"}, "--top-k"},
		{"bad format", []string{"search", "idx", "a", "-f", "xml"}, "unknown format"},
		{"no index", []string{"search"}, "requires at least 1 arg"},
		{"no query", []string{"search", "idx"}, "no query"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, false, "", nil, tt.args...)
			if r.code != cmdutil.ExitUsage || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d mentioning %q", r.code, r.stderr, cmdutil.ExitUsage, tt.want)
			}
		})
	}
}

// idxSearchFixture embeds the reference images and a few texts into an index.
func idxSearchFixture(t *testing.T) (model, idx string) {
	t.Helper()
	model = idxModelDir(t, "tiny-optimum")
	idxImagesCopy(t)
	r := runCLI(t, false, "", nil, "embed", "-m", model, "imgs", "-o", "idx", "--text", "red dress", "--text", "blue jeans")
	if r.code != 0 {
		t.Fatalf("embed: exit %d: %s", r.code, r.stderr)
	}
	return model, "idx"
}

type idxHit struct {
	Path  *string `json:"path"`
	Text  *string `json:"text"`
	Score float64 `json:"score"`
}

func idxParseHits(t *testing.T, out string) []idxHit {
	t.Helper()
	var hits []idxHit
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		var h idxHit
		if err := json.Unmarshal([]byte(l), &h); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		hits = append(hits, h)
	}
	return hits
}

func TestSearchMatchesBruteForce(t *testing.T) {
	model, idx := idxSearchFixture(t)
	m := loadTestModel(t, model)
	all := idxRead(t, idx)
	embed := func(s string) []float32 {
		v, err := m.EncodeText(context.Background(), s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	imgVec := func(p string) []float32 {
		res, err := m.EncodeImageFiles(context.Background(), []string{p})
		if err != nil || res[0].Err != nil {
			t.Fatal(err, res[0].Err)
		}
		return res[0].Embedding
	}
	combine := func(ws []float64, vs ...[]float32) []float32 {
		sum := make([]float64, len(vs[0]))
		for i, v := range vs {
			for j, x := range v {
				sum[j] += ws[i] * float64(x)
			}
		}
		var n float64
		for _, x := range sum {
			n += x * x
		}
		out := make([]float32, len(sum))
		for j, x := range sum {
			out[j] = float32(x / math.Sqrt(n))
		}
		return out
	}
	tests := []struct {
		name string
		args []string
		q    func() []float32
		k    int
	}{
		{"one text", []string{"red dress"}, func() []float32 { return embed("red dress") }, 10},
		{"weighted expression", []string{"white sneaker", "-", "logo", "+", "2:chunky sole"}, func() []float32 {
			return combine([]float64{1, -1, 2}, embed("white sneaker"), embed("logo"), embed("chunky sole"))
		}, 5},
		{"image and text", []string{"--image", "imgs/c_progressive.jpg", "-", "stripes"}, func() []float32 {
			return combine([]float64{1, -1}, imgVec("imgs/c_progressive.jpg"), embed("stripes"))
		}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"search", "-m", model, idx, "-k", strconv.Itoa(tt.k)}, tt.args...)
			r := runCLI(t, false, "", nil, args...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			got := idxParseHits(t, r.stdout)
			q := tt.q()
			type ref struct {
				key   string
				score float64
			}
			var want []ref
			for k, e := range all {
				var s float64
				for i := range q {
					s += float64(q[i]) * float64(e.vec[i])
				}
				want = append(want, ref{k, s})
			}
			sort.Slice(want, func(a, b int) bool { return want[a].score > want[b].score })
			want = want[:min(tt.k, len(want))]
			if len(got) != len(want) {
				t.Fatalf("%d hits, want %d", len(got), len(want))
			}
			for i, w := range want {
				key := ""
				if got[i].Path != nil {
					key = index.PathKey(*got[i].Path)
				} else if got[i].Text != nil {
					key = index.TextKey(*got[i].Text)
				}
				if key != w.key || math.Abs(got[i].Score-w.score) > 1e-5 {
					t.Errorf("hit %d: %q %.6f, want %q %.6f", i, key, got[i].Score, w.key, w.score)
				}
			}
		})
	}
}

func TestSearchOutputAndModel(t *testing.T) {
	split := idxModelDir(t, "tiny-split") // before the fixture leaves the module tree
	model, idx := idxSearchFixture(t)
	t.Run("the index's own model is the default", func(t *testing.T) {
		r := runCLI(t, false, "", nil, "search", idx, "red dress", "-k", "1")
		hits := idxParseHits(t, r.stdout)
		if r.code != 0 || len(hits) != 1 || hits[0].Text == nil || *hits[0].Text != "red dress" || math.Abs(hits[0].Score-1) > 1e-5 {
			t.Errorf("exit %d, %s %s", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("min score", func(t *testing.T) {
		r := runCLI(t, false, "", nil, "search", "-m", model, idx, "red dress", "--min-score", "0.5", "-k", "100")
		for _, h := range idxParseHits(t, r.stdout) {
			if h.Score < 0.5 {
				t.Errorf("score %g below --min-score", h.Score)
			}
		}
		if r.code != 0 || r.stdout == "" {
			t.Errorf("exit %d: %s", r.code, r.stderr)
		}
	})
	t.Run("tsv", func(t *testing.T) {
		r := runCLI(t, false, "", nil, "search", idx, "red dress", "-k", "2", "-f", "tsv")
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if r.code != 0 || len(lines) != 3 || lines[0] != "score\tpath\ttext" || !strings.HasSuffix(lines[1], "\t\tred dress") {
			t.Errorf("exit %d:\n%s", r.code, r.stdout)
		}
	})
	t.Run("table on a terminal", func(t *testing.T) {
		r := runCLI(t, true, "", nil, "search", idx, "red dress", "-k", "3")
		if r.code != 0 || !strings.Contains(r.stdout, "SCORE") || !strings.Contains(r.stdout, `"red dress" (text)`) {
			t.Errorf("exit %d:\n%s", r.code, r.stdout)
		}
	})
	t.Run("another model is refused", func(t *testing.T) {
		r := runCLI(t, false, "", nil, "search", "-m", split, idx, "red dress")
		if r.code != cmdutil.ExitFatal || !strings.Contains(r.stderr, "tiny-split") || !strings.Contains(r.stderr, "tiny-optimum") {
			t.Errorf("exit %d: %s", r.code, r.stderr)
		}
	})
	t.Run("terms that cancel out", func(t *testing.T) {
		r := runCLI(t, false, "", nil, "search", idx, "red", "-", "red")
		if r.code != cmdutil.ExitFatal || !strings.Contains(r.stderr, "cancel out") {
			t.Errorf("exit %d: %s", r.code, r.stderr)
		}
	})
	t.Run("an unreadable query image", func(t *testing.T) {
		os.WriteFile("bad.jpg", []byte("nope"), 0o644)
		r := runCLI(t, false, "", nil, "search", idx, "--image", "bad.jpg")
		if r.code != cmdutil.ExitFatal || !strings.Contains(r.stderr, "bad.jpg") {
			t.Errorf("exit %d: %s", r.code, r.stderr)
		}
	})
	t.Run("not an index", func(t *testing.T) {
		r := runCLI(t, false, "", nil, "search", filepath.Join(t.TempDir()), "red")
		if r.code != cmdutil.ExitFatal || !strings.Contains(r.stderr, "not a fashionclip index") {
			t.Errorf("exit %d: %s", r.code, r.stderr)
		}
	})
}
