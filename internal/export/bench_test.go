package export

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fashionclip/fashionclip/internal/index"
	"github.com/fashionclip/fashionclip/internal/testutil"
)

// writeBenchIndex writes n random unit vectors of dim floats.
func writeBenchIndex(b *testing.B, dir string, n, dim int) {
	w, err := index.OpenWriter(dir, index.Options{Model: testModel, CommitEvery: 65536})
	if err != nil {
		b.Fatal(err)
	}
	const batch = 65536
	vecs := make([]float32, batch*dim)
	for start := 0; start < n; start += batch {
		m := min(batch, n-start)
		var wg sync.WaitGroup
		for part := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for r := part; r < m; r += 4 {
					rng := rand.New(rand.NewPCG(uint64(start+r), 1))
					copy(vecs[r*dim:(r+1)*dim], testutil.RandomUnitVector(rng, dim))
				}
			}()
		}
		wg.Wait()
		for r := range m {
			it := index.Item{Path: fmt.Sprintf("catalog/%07d.jpg", start+r), Size: int64(50_000 + r), MTime: time.Unix(1_700_000_000+int64(r), 0)}
			if err := w.Add(it, vecs[r*dim:(r+1)*dim]); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
}

// copyChunks copies every chunk of dir into one file: the floor of any
// export that writes the vectors out.
func copyChunks(b *testing.B, dir, to string) {
	out, err := os.Create(to)
	if err != nil {
		b.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "emb-*.npy"))
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(out, fh); err != nil {
			b.Fatal(err)
		}
		fh.Close()
	}
	out.Close()
	os.Remove(to)
}

// readChunks reads every chunk file of dir once, as a baseline.
func readChunks(b *testing.B, dir string) int64 {
	files, _ := filepath.Glob(filepath.Join(dir, "emb-*.npy"))
	buf := make([]byte, 4<<20)
	var n int64
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			b.Fatal(err)
		}
		for {
			k, err := fh.Read(buf)
			n += int64(k)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		fh.Close()
	}
	return n
}

// cpuSeconds is the process's user + system time so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// BenchmarkExport1M: parquet export of 1M × 512 float32 against reading
// the chunks once, alternated in one run with a warm page cache; the
// ratio is the figure (target ≤ 2).
func BenchmarkExport1M(b *testing.B) {
	if testing.Short() {
		b.Skip("writes 4 GB")
	}
	n := 1_000_000
	if v := os.Getenv("EXPORT_BENCH_ROWS"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	root := b.TempDir()
	dir := filepath.Join(root, "idx")
	writeBenchIndex(b, dir, n, 512)
	format := FormatParquet
	if f := os.Getenv("EXPORT_BENCH_FORMAT"); f != "" {
		format = f
	}
	readChunks(b, dir) // warm
	// Where the export goes: EXPORT_BENCH_OUT (e.g. /dev/shm, to leave the
	// disk out), else beside the index.
	outRoot := root
	if v := os.Getenv("EXPORT_BENCH_OUT"); v != "" {
		outRoot, _ = os.MkdirTemp(v, "fashionclip-export-bench-")
		defer os.RemoveAll(outRoot)
	}
	var ratios, copyRatios, cpuRatios, exportSecs []float64
	var peak float64
	for b.Loop() {
		t0, c0 := time.Now(), cpuSeconds()
		readChunks(b, dir)
		read, readCPU := time.Since(t0).Seconds(), cpuSeconds()-c0
		t0 = time.Now()
		copyChunks(b, dir, filepath.Join(outRoot, "copy"))
		cp := time.Since(t0).Seconds()
		out := filepath.Join(outRoot, "out")
		o := Options{Format: format, Out: out}
		if format == FormatJSONL || format == FormatPgvector {
			o.Out = out + ".txt"
		}
		testutil.ResetPeakRSS()
		t0, c0 = time.Now(), cpuSeconds()
		if _, err := Export(context.Background(), []string{dir}, o); err != nil {
			b.Fatal(err)
		}
		exp, expCPU := time.Since(t0).Seconds(), cpuSeconds()-c0
		cpuRatios = append(cpuRatios, expCPU/readCPU)
		peak = max(peak, testutil.PeakRSSMB())
		os.RemoveAll(out)
		os.Remove(out + ".txt")
		ratios = append(ratios, exp/read)
		copyRatios = append(copyRatios, exp/cp)
		exportSecs = append(exportSecs, exp)
		b.Logf("wall: read %.3f s, copy %.3f s, export %.3f s: export/read %.2f, export/copy %.2f; cpu: read %.3f s, export %.3f s",
			read, cp, exp, exp/read, exp/cp, readCPU, expCPU)
	}
	slices.Sort(ratios)
	slices.Sort(copyRatios)
	slices.Sort(cpuRatios)
	b.ReportMetric(cpuRatios[len(cpuRatios)/2], "cpu-export/read")
	b.ReportMetric(copyRatios[len(copyRatios)/2], "export/copy")
	slices.Sort(exportSecs)
	b.ReportMetric(ratios[len(ratios)/2], "export/read")
	b.ReportMetric(float64(n)/exportSecs[len(exportSecs)/2], "items/s")
	b.ReportMetric(peak, "peak-RSS-MB")
}
