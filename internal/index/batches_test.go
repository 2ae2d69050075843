package index

import (
	"fmt"
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
				err = ix.EachBatch(max, func(b *Batch) error {
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
				if max > 1 && !gathered {
					t.Error("no batch had rows to gather: the test does not cover that path")
				}
			})
		}
	}
}
