package index

import (
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
)

// ResetPeakRSS forgets the process's peak resident set so that a
// benchmark can report the peak of its own phase (Linux: clear_refs 5).
func resetPeakRSS(tb testing.TB) {
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		tb.Logf("cannot reset the peak RSS: %v", err)
	}
}

// peakRSSMB is VmHWM, the peak resident set since resetPeakRSS, in MB.
func peakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return -1
}
