// Command fashionclip runs the FashionCLIP model through ONNX Runtime.
package main

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/fashionclip/fashionclip/internal/cli"
)

func main() {
	signal.Ignore(syscall.SIGPIPE) // a closed stdout becomes EPIPE, handled as a quiet end
	os.Exit(cli.Main())
}
