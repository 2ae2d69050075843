// Package cli holds fashionclip's commands. Each command file builds an
// Options struct in NewCmdX, validates flags in RunE and hands over to xRun,
// which talks to the world only through the Factory's IOStreams.
package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/fashionclip/fashionclip/internal/buildinfo"
	"github.com/fashionclip/fashionclip/internal/iostreams"
)

// Main runs the command line and returns the process's exit status.
func Main() int {
	f := NewFactory(iostreams.System(), os.Getenv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Run(ctx, f, os.Args[1:])
}

// hubFetcher pulls Hub repos for --model (set by the hub command file).
var hubFetcher func(ctx context.Context, f *Factory, repo string) (string, error)

// NewFactory wires the real dependencies around the given streams and environment.
func NewFactory(io *iostreams.IOStreams, getenv func(string) string) *Factory {
	return &Factory{IO: io, Getenv: getenv, FetchModel: hubFetcher}
}

// Run executes args against f and returns the exit status; errors are printed
// on f.IO.ErrOut as one line.
func Run(ctx context.Context, f *Factory, args []string) int {
	root := NewCmdRoot(f)
	root.SetArgs(args)
	root.SetIn(f.IO.In)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	if ctx.Err() != nil && !errors.Is(err, errSilentInterrupted) {
		fmt.Fprintln(f.IO.ErrOut, "fashionclip: interrupted")
		return ExitInterrupted
	}
	code := ExitCode(err)
	if strings.HasPrefix(err.Error(), "unknown command") || strings.HasPrefix(err.Error(), "accepts ") ||
		strings.HasPrefix(err.Error(), "requires ") {
		code = ExitUsage
	}
	var ee *ExitError
	if !(errors.As(err, &ee) && ee.Err == nil) {
		msg := strings.TrimSpace(err.Error())
		fmt.Fprintf(f.IO.ErrOut, "fashionclip: %s\n", msg)
		if code == ExitUsage {
			fmt.Fprintln(f.IO.ErrOut, "Run 'fashionclip --help' or 'fashionclip COMMAND --help' for usage.")
		}
	}
	return code
}

// NewCmdRoot builds the command tree.
func NewCmdRoot(f *Factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "fashionclip",
		Short: "Zero-shot fashion tagging, embedding and search with FashionCLIP",
		Long: `fashionclip runs FashionCLIP (CLIP ViT-B/32 fine-tuned on fashion products) through
ONNX Runtime, with preprocessing and tokenisation identical to Hugging Face's.`,
		Version:       buildinfo.Version,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRun: func(cmd *cobra.Command, args []string) {
			if f.Getenv("HF_HUB_OFFLINE") == "1" {
				f.Offline = true
			}
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &ExitError{Code: ExitUsage, Err: err}
	})
	pf := root.PersistentFlags()
	pf.StringVarP(&f.ModelRef, "model", "m", "", "model folder or Hub repo id owner/name[@rev] (default $"+EnvModel+" or "+DefaultModel+")")
	pf.StringVar(&f.Variant, "variant", "", "graph variant: fp32, fp16 or quantized (when the model ships them)")
	pf.StringVar(&f.Device, "device", "cpu", "execution provider: cpu, cuda or coreml (falls back to cpu with a warning)")
	pf.IntVar(&f.Threads, "threads", 0, "threads for inference and decoding together (default: all cores)")
	pf.StringVar(&f.ORTLib, "ort-lib", "", "path to libonnxruntime (default: $FASHIONCLIP_ORT_LIB, beside the executable, the user cache, the system)")
	pf.BoolVar(&f.Offline, "offline", false, "never touch the network (also HF_HUB_OFFLINE=1)")
	pf.BoolVarP(&f.IO.Quiet, "quiet", "q", false, "no progress bars or notes on stderr")

	for _, c := range []*cobra.Command{
		NewCmdClassify(f, nil),
		NewCmdEmbed(f, nil),
		NewCmdTokenize(f, nil),
		NewCmdPreprocess(f, nil),
		NewCmdVersion(f, nil),
		NewCmdSynth(f, nil),
	} {
		addExitStatus(c)
		root.AddCommand(c)
	}
	for _, add := range extraCommands {
		c := add(f)
		addExitStatus(c)
		root.AddCommand(c)
	}
	registerCompletions(root, f)
	return root
}

// extraCommands lets command files register themselves without editing the list above.
var extraCommands []func(*Factory) *cobra.Command

// addExitStatus appends the EXIT STATUS section to a command's help and to its subcommands'.
func addExitStatus(c *cobra.Command) {
	if !strings.Contains(c.Long, "EXIT STATUS") {
		long := c.Long
		if long == "" {
			long = c.Short
		}
		c.Long = strings.TrimRight(long, "\n") + "\n\n" + exitStatusHelp
	}
	for _, sub := range c.Commands() {
		addExitStatus(sub)
	}
}
