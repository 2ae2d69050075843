// Package cli holds fashionclip's commands, GitHub CLI style: each command
// file has NewCmdX(f, runF), an XOptions struct filled from flags, and xRun,
// which talks to the world only through the Factory. Commands are flags,
// wiring and rendering; the domain logic lives in library packages.
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
	"github.com/spf13/pflag"

	"github.com/fashionclip/fashionclip/internal/buildinfo"
	"github.com/fashionclip/fashionclip/internal/iostreams"
	"github.com/fashionclip/fashionclip/pkg/fashionclip"
)

// Main runs the command line and returns the process's exit status.
func Main() int {
	f := NewFactory(iostreams.System(), os.Getenv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Run(ctx, f, os.Args[1:])
}

// Run executes args against f and returns the exit status; errors are printed
// on f.IO.ErrOut as one line, with the fix when one is known.
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
	if strings.HasPrefix(err.Error(), "unknown command") {
		code = ExitUsage // cobra's own, for the root command
	}
	var ee *ExitError
	if !(errors.As(err, &ee) && ee.Err == nil) {
		fmt.Fprintf(f.IO.ErrOut, "fashionclip: %s\n", strings.TrimSpace(withRemedy(err)))
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
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			f.IO.Quiet = f.Flags.Quiet
			if _, err := fashionclip.ParseVariant(f.Flags.Variant); err != nil {
				return UsageError("--variant: %v", err)
			}
			if _, err := fashionclip.ParseDevice(f.Flags.Device); err != nil {
				return UsageError("--device: %v", err)
			}
			return nil
		},
	}
	root.SetFlagErrorFunc(flagError)
	g, pf := f.Flags, root.PersistentFlags()
	pf.StringVarP(&g.Model, "model", "m", "", "model folder or Hub repo id owner/name[@rev] (default $"+EnvModel+" or "+DefaultModel+")")
	pf.StringVar(&g.Variant, "variant", "", "graph variant: "+strings.Join(fashionclip.Variants(), ", ")+" (when the model ships them)")
	pf.StringVar(&g.Device, "device", "cpu", "execution provider: cpu, cuda or coreml (falls back to cpu with a warning)")
	pf.IntVar(&g.Threads, "threads", 0, "threads for inference and decoding together (default: all cores)")
	pf.StringVar(&g.ORTLib, "ort-lib", "", "path to libonnxruntime (default: $FASHIONCLIP_ORT_LIB, beside the executable, the user cache, the system)")
	pf.BoolVar(&g.Offline, "offline", false, "never touch the network (also HF_HUB_OFFLINE=1)")
	pf.BoolVarP(&g.Quiet, "quiet", "q", false, "no progress bars or notes on stderr")

	root.AddCommand(
		NewCmdClassify(f, nil),
		NewCmdEmbed(f, nil),
		NewCmdSearch(f, nil),
		NewCmdIndex(f),
		NewCmdTokenize(f, nil),
		NewCmdPreprocess(f, nil),
		NewCmdModel(f),
		NewCmdRuntime(f),
		NewCmdServe(f, nil),
		NewCmdBench(f),
		NewCmdData(f),
		NewCmdDoctor(f, nil),
		NewCmdVersion(f, nil),
		NewCmdSynth(f, nil),
	)
	finishTree(root)
	registerCompletions(root, f)
	return root
}

// finishTree applies the rules every command shares: argument errors are
// usage errors (exit 2), a parent given an unknown subcommand says so (with
// a suggestion) instead of printing help and succeeding, and help ends
// with the exit statuses.
func finishTree(c *cobra.Command) {
	if c.HasSubCommands() && c.HasParent() {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
			}
			return UsageError("%s", msg)
		}
		if c.RunE == nil {
			c.RunE = func(cmd *cobra.Command, args []string) error { return cmd.Help() }
		}
	} else if c.Args != nil {
		check := c.Args
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				return &ExitError{Code: ExitUsage, Err: err}
			}
			return nil
		}
	}
	if !strings.Contains(c.Long, "EXIT STATUS") && c.Runnable() {
		long := c.Long
		if long == "" {
			long = c.Short
		}
		c.Long = strings.TrimRight(long, "\n") + "\n\n" + exitStatusHelp
	}
	for _, sub := range c.Commands() {
		finishTree(sub)
	}
}

// flagError makes a bad flag a usage error and suggests the nearest name.
func flagError(cmd *cobra.Command, err error) error {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "unknown flag: --"); ok {
		best, bestD := "", 3
		visit := func(fl *pflag.Flag) {
			if d := editDistance(name, fl.Name); d < bestD {
				best, bestD = fl.Name, d
			}
		}
		cmd.Flags().VisitAll(visit)
		cmd.InheritedFlags().VisitAll(visit)
		if best != "" {
			msg += fmt.Sprintf("\n\nDid you mean this?\n\t--%s", best)
		}
	}
	return &ExitError{Code: ExitUsage, Err: errors.New(msg)}
}

// editDistance is the Levenshtein distance of two short names.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
