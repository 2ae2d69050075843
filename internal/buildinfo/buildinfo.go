// Package buildinfo carries values stamped in at link time by the Makefile.
package buildinfo

// Set with -ldflags "-X github.com/fashionclip/fashionclip/internal/buildinfo.Version=...".
var (
	Version    = "dev"
	Commit     = "none"
	ORTVersion = "1.24.3" // the ONNX Runtime release the build was made and tested with
)
