//go:build !amd64

package index

// gemmKernels lists the kernels this machine can run: the portable one.
func gemmKernels() []gemmKernel { return []gemmKernel{gemmGo} }
