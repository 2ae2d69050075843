package doctor

import (
	"runtime"

	"golang.org/x/sys/cpu"
)

// HostCPU lists the SIMD features ONNX Runtime's CPU kernels dispatch on
// for this architecture: the real Checker.CPU.
func HostCPU() (arch string, features map[string]bool) {
	switch runtime.GOARCH {
	case "amd64":
		return "amd64", map[string]bool{"AVX2": cpu.X86.HasAVX2, "AVX512F": cpu.X86.HasAVX512F, "FMA": cpu.X86.HasFMA}
	case "arm64":
		return "arm64", map[string]bool{"NEON": cpu.ARM64.HasASIMD}
	}
	return runtime.GOARCH, nil
}
