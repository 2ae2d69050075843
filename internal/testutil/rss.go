package testutil

import (
	"math/rand/v2"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/fashionclip/fashionclip/internal/vecmath"
)

// ResetPeakRSS returns freed memory to the kernel and forgets the
// process's peak resident set (Linux: clear_refs 5), so that a benchmark
// can report the peak of one phase with PeakRSSMB.
func ResetPeakRSS() {
	debug.FreeOSMemory()
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// PeakRSSMB is VmHWM, the peak resident set (file-backed pages mapped by
// the process included) since ResetPeakRSS, in MB; -1 where unknown.
func PeakRSSMB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return -1
}

// RandomUnitVector draws a direction uniformly at random.
func RandomUnitVector(rng *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return vecmath.Normalize(v)
}
