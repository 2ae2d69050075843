package dupes

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/fashionclip/fashionclip/internal/index"
	"github.com/fashionclip/fashionclip/internal/testutil"
	"github.com/fashionclip/fashionclip/internal/vecmath"
)

var testModel = index.ModelInfo{Folder: "/models/test", Graph: "sha256:dupes"}

// near returns a unit vector at cosine c from the unit vector v.
func near(rng *rand.Rand, v []float32, c float64) []float32 {
	u := testutil.RandomUnitVector(rng, len(v))
	var d float64
	for i := range u {
		d += float64(u[i]) * float64(v[i])
	}
	for i := range u { // the part of u orthogonal to v
		u[i] -= float32(d) * v[i]
	}
	u = vecmath.Normalize(u)
	out := make([]float32, len(v))
	for i := range v {
		out[i] = float32(c*float64(v[i]) + math.Sqrt(1-c*c)*float64(u[i]))
	}
	return vecmath.Normalize(out)
}

// TestPlantedNearCopies: random base vectors with copies planted at
// cosines 0.995 and 0.98; every copy is grouped with its base, no group
// holds two bases, and groups are as small as planted.
func TestPlantedNearCopies(t *testing.T) {
	const bases, dim = 1500, 512
	for _, dtype := range []string{index.DTypeFloat32, index.DTypeFloat16} {
		t.Run(dtype, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			dir := filepath.Join(t.TempDir(), "idx")
			w, err := index.OpenWriter(dir, index.Options{Model: testModel, DType: dtype, CommitEvery: 1000})
			if err != nil {
				t.Fatal(err)
			}
			baseOf := map[string]int{} // path → base number
			planted := 0
			for b := range bases {
				v := testutil.RandomUnitVector(rng, dim)
				p := fmt.Sprintf("base/%05d.jpg", b)
				w.Add(index.Item{Path: p, Size: int64(b)}, v)
				baseOf[p] = b
				for k, c := range []float64{0.995, 0.98} {
					if b%(5+k) == 0 {
						cp := fmt.Sprintf("copy/%05d-%d.jpg", b, k)
						w.Add(index.Item{Path: cp, Size: int64(b)}, near(rng, v, c))
						baseOf[cp] = b
						planted++
					}
				}
				if b%50 == 0 { // texts are never grouped
					w.Add(index.Item{Text: fmt.Sprint("text ", b), IsText: true}, v)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			ix, err := index.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer ix.Close()
			var phases []string
			res, err := Find(context.Background(), ix, Options{NoHash: true, Progress: recorder(&phases)})
			if err != nil {
				t.Fatal(err)
			}
			grouped := map[string]int{}
			for _, g := range res.Groups {
				if g.Exact {
					t.Errorf("exact group %v without any hash", g.Paths)
				}
				seenBases := map[int]bool{}
				for _, m := range g.Members {
					grouped[m.Path] = g.Group
					if m.Path[:4] == "base" {
						seenBases[baseOf[m.Path]] = true
					}
				}
				if len(seenBases) != 1 {
					t.Errorf("group %d joins %d bases: %v", g.Group, len(seenBases), g.Paths)
				}
				if g.MaxDistance > 0.03 || g.Members[0].Score < 0.999 || len(g.Paths) != len(g.Members) {
					t.Errorf("group %+v", g)
				}
			}
			found := 0
			for p, b := range baseOf {
				if p[:4] != "copy" {
					continue
				}
				base := fmt.Sprintf("base/%05d.jpg", b)
				if grouped[p] == 0 || grouped[p] != grouped[base] {
					t.Errorf("planted copy %s is not grouped with %s", p, base)
				} else {
					found++
				}
			}
			if found != planted || res.Images != bases+planted {
				t.Errorf("found %d of %d planted copies among %d images", found, planted, res.Images)
			}
			if len(phases) == 0 || phases[0] != "compare" {
				t.Errorf("progress phases %v", phases)
			}
			// Above both planted cosines nothing is grouped; between them
			// only the 0.995 copies are.
			res, err = Find(context.Background(), ix, Options{Threshold: 0.99, NoHash: true})
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range res.Groups {
				for _, p := range g.Paths {
					if p[len(p)-6:] == "-1.jpg" {
						t.Errorf("a 0.98 copy %s grouped at threshold 0.99", p)
					}
				}
			}
		})
	}
}

type phaseRecorder struct{ phases *[]string }

func (r phaseRecorder) Start(phase string, total int64) { *r.phases = append(*r.phases, phase) }
func (r phaseRecorder) Update(done int64)               {}

func recorder(p *[]string) Progress { return phaseRecorder{p} }

// TestExactCopiesOfReferenceImages: byte-identical copies of the kit's
// images are flagged exact, by the recorded SHA-256 or by hashing on
// demand, apart from a near-duplicate group around them.
func TestExactCopiesOfReferenceImages(t *testing.T) {
	ref := testutil.ReferenceDir(t)
	emb := testutil.LoadReferenceEmbeddings(t)
	src := filepath.Join(ref, "images")
	names, err := os.ReadDir(src)
	if err != nil || len(names) < 3 {
		t.Fatalf("reference images: %v", err)
	}
	work := t.TempDir()
	a, b, c := names[0].Name(), names[1].Name(), names[2].Name()
	copyFile := func(name, to string) index.Item {
		data, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(work, to)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(work, to), data, 0o644); err != nil {
			t.Fatal(err)
		}
		return index.Item{Path: to, Size: int64(len(data))}
	}
	sum := func(p string) string {
		s, err := hashFile(filepath.Join(work, p))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	rng := rand.New(rand.NewPCG(3, 3))
	vecA := emb.Images[a]
	for _, recorded := range []bool{false, true} {
		t.Run(fmt.Sprintf("recorded=%v", recorded), func(t *testing.T) {
			// The index sits in work, its root: stored paths are relative to it.
			dir := filepath.Join(work, fmt.Sprintf("idx-%v", recorded))
			w, err := index.OpenWriter(dir, index.Options{Model: testModel})
			if err != nil {
				t.Fatal(err)
			}
			add := func(it index.Item, v []float32) {
				if recorded {
					it.SHA256 = sum(it.Path)
				}
				if err := w.Add(it, v); err != nil {
					t.Fatal(err)
				}
			}
			add(copyFile(a, "shop/a.jpg"), vecA)
			add(copyFile(a, "shop/again/a copy.jpg"), vecA)
			add(copyFile(a, "backup/a.jpg"), vecA)
			add(copyFile(b, "shop/b.jpg"), near(rng, vecA, 0.99)) // a near duplicate of a
			add(copyFile(c, "shop/c.jpg"), testutil.RandomUnitVector(rng, len(vecA)))
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			ix, err := index.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer ix.Close()
			for _, exactOnly := range []bool{false, true} {
				res, err := Find(context.Background(), ix, Options{ExactOnly: exactOnly})
				if err != nil {
					t.Fatal(err)
				}
				if wantHashed := map[bool]int{false: 3, true: 0}[recorded]; res.Hashed != wantHashed || len(res.Warnings) != 0 {
					t.Errorf("hashed %d files (want %d), warnings %v", res.Hashed, wantHashed, res.Warnings)
				}
				wantGroups := 2
				if exactOnly {
					wantGroups = 1
				}
				if len(res.Groups) != wantGroups {
					t.Fatalf("exactOnly=%v: %d groups %+v", exactOnly, len(res.Groups), res.Groups)
				}
				g := res.Groups[0]
				if !g.Exact || len(g.Paths) != 3 || g.Paths[0] != "shop/a.jpg" || g.MaxDistance > 1e-6 || g.Group != 1 {
					t.Errorf("exact group %+v", g)
				}
				if !exactOnly {
					n := res.Groups[1]
					if n.Exact || len(n.Paths) != 4 || math.Abs(n.MaxDistance-0.01) > 1e-4 {
						t.Errorf("near group %+v", n)
					}
				}
			}
		})
	}
	// A file that is gone is a warning, not a failure.
	dir := filepath.Join(t.TempDir(), "idx")
	w, _ := index.OpenWriter(dir, index.Options{Model: testModel})
	w.Add(index.Item{Path: "missing/1.jpg", Size: 5}, vecA)
	w.Add(index.Item{Path: "missing/2.jpg", Size: 5}, vecA)
	w.Close()
	ix, _ := index.Open(dir)
	defer ix.Close()
	res, err := Find(context.Background(), ix, Options{})
	if err != nil || len(res.Warnings) != 2 || len(res.Groups) != 1 || res.Groups[0].Exact {
		t.Errorf("missing files: %v, %+v", err, res)
	}
}
