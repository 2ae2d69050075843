// Command fashionclip runs the FashionCLIP model through ONNX Runtime.
package main

import (
	"os"

	"github.com/fashionclip/fashionclip/internal/cli"
)

func main() { os.Exit(cli.Main()) }
