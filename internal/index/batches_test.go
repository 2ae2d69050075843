package index

import (
	"encoding/binary"
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"testing"
)

// TestEachBatchMatchesEach checks the streaming iterator against Each on
// indexes with garbage (rewritten tables, gathered rows) in both dtypes.
func TestEachBatchMatchesEach(t *testing.T) {
	const dim = 16
	for _, dtype := range []string{DTypeFloat32, DTypeFloat16} {
		for _, max := range []int{1, 7, 10000} {
			t.Run(fmt.Sprintf("%s/%d", dtype, max), func(t *testing.T) {
				dir := filepath.Join(t.TempDir(), "idx")
				buildRandom(t, dir, dtype, 200, dim, 4)
				ix, err := Open(dir)
				if err != nil {
					t.Fatal(err)
				}
				defer ix.Close()
				var wantItems []Item
				var wantVecs [][]float32
				if err := ix.Each(func(it Item, vec []float32) error {
					wantItems = append(wantItems, it)
					wantVecs = append(wantVecs, append([]float32(nil), vec...))
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				var n int
				gathered := false
				err = ix.EachBatch(BatchOptions{MaxItems: max}, func(b *Batch) error {
					if len(b.Items) > max || len(b.Items) != len(b.Rows) || len(b.Refs) != len(b.Items) {
						t.Fatalf("batch of %d items, %d rows, %d refs (max %d)", len(b.Items), len(b.Rows), len(b.Refs), max)
					}
					for i, it := range b.Items {
						if !reflect.DeepEqual(it, wantItems[n]) {
							t.Fatalf("item %d = %+v, want %+v", n, it, wantItems[n])
						}
						var vec []float32
						if b.F32 != nil {
							vec = b.F32[i*dim : (i+1)*dim]
						} else {
							for _, h := range b.F16[i*dim : (i+1)*dim] {
								vec = append(vec, HalfToFloat32(h))
							}
						}
						if !reflect.DeepEqual(vec, wantVecs[n]) {
							t.Fatalf("vector %d differs", n)
						}
						got, err := ix.Vector(b.Refs[i], nil)
						if err != nil || !reflect.DeepEqual(got, wantVecs[n]) {
							t.Fatalf("Vector(%v) = %v, %v", b.Refs[i], got, err)
						}
						for _, dt := range []string{DTypeFloat32, DTypeFloat16} {
							raw, _, err := ix.VectorBytes(b.Refs[i:i+1], dt, nil)
							if err != nil {
								t.Fatal(err)
							}
							for k, want := range wantVecs[n] {
								var v float32
								if dt == DTypeFloat32 {
									v = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*k:]))
								} else {
									v, want = HalfToFloat32(binary.LittleEndian.Uint16(raw[2*k:])), HalfToFloat32(Float32ToHalf(want))
								}
								if v != want {
									t.Fatalf("VectorBytes(%v, %s)[%d] = %v, want %v", b.Refs[i], dt, k, v, want)
								}
							}
						}
						if i > 0 && b.Rows[i] != b.Rows[i-1]+1 {
							gathered = true
						}
						n++
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				if n != len(wantItems) {
					t.Errorf("%d items, want %d", n, len(wantItems))
				}
				// A run of refs in the index's dtype is a view of the chunk.
				var all []Ref
				var want []byte
				ix.EachBatch(BatchOptions{MaxItems: 100000, SkipVectors: true}, func(b *Batch) error {
					if all == nil {
						all = append(all, b.Refs[0])
						for _, r := range b.Refs[1:] {
							if r.Row != all[len(all)-1].Row+1 {
								break
							}
							all = append(all, r)
						}
					}
					return nil
				})
				for _, r := range all {
					one, _, _ := ix.VectorBytes([]Ref{r}, ix.man.DType, nil)
					want = append(want, one...)
				}
				got, view, err := ix.VectorBytes(all, ix.man.DType, nil)
				if err != nil || !view || !reflect.DeepEqual(got, want) {
					t.Errorf("VectorBytes of a run of %d rows differs from row by row (view %v, %v)", len(all), view, err)
				}
				if max > 1 && !gathered {
					t.Error("no batch had rows to gather: the test does not cover that path")
				}
			})
		}
	}
}
