// Package cli is fashionclip's command tree, GitHub CLI style: Main, Run
// (errors to one line with their fix, exit statuses) and the root command,
// which registers every command package explicitly, binds the global flags
// and applies the rules all commands share (usage errors, help, completion).
// Each command lives in its own package under internal/cmd; what they share
// (the Factory, exit codes, input flags, the image run) is internal/cmdutil.
package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/fashionclip/fashionclip/internal/buildinfo"
	"github.com/fashionclip/fashionclip/internal/cmd/benchcmd"
	"github.com/fashionclip/fashionclip/internal/cmd/cachecmd"
	"github.com/fashionclip/fashionclip/internal/cmd/classifycmd"
	"github.com/fashionclip/fashionclip/internal/cmd/datacmd"
	"github.com/fashionclip/fashionclip/internal/cmd/doctorcmd"
	"github.com/fashionclip/fashionclip/internal/cmd/embedcmd"
	"github.com/fashionclip/fashionclip/internal/cmd/indexcmd"
	"github.com/fashionclip/fashionclip/internal/cmd/modelcmd"
	"github.com/fashionclip/fashionclip/internal/cmd/preprocesscmd"
	"github.com/fashionclip/fashionclip/internal/cmd/runtimecmd"
	"github.com/fashionclip/fashionclip/internal/cmd/searchcmd"
	"github.com/fashionclip/fashionclip/internal/cmd/servecmd"
	"github.com/fashionclip/fashionclip/internal/cmd/synthcmd"
	"github.com/fashionclip/fashionclip/internal/cmd/tokenizecmd"
	"github.com/fashionclip/fashionclip/internal/cmd/versioncmd"
	"github.com/fashionclip/fashionclip/internal/cmdutil"
	"github.com/fashionclip/fashionclip/internal/iostreams"
	"github.com/fashionclip/fashionclip/pkg/fashionclip"
)

// Main runs the command line and returns the process's exit status.
func Main() int {
	f := cmdutil.NewFactory(iostreams.System(), os.Getenv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Run(ctx, f, os.Args[1:])
}

// Run executes args against f and returns the exit status; errors are printed
// on f.IO.ErrOut as one line, with the fix when one is known.
func Run(ctx context.Context, f *cmdutil.Factory, args []string) int {
	root := NewCmdRoot(f)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return cmdutil.ExitOK
	}
	if ctx.Err() != nil && !errors.Is(err, cmdutil.ErrSilentInterrupted) {
		fmt.Fprintln(f.IO.ErrOut, "fashionclip: interrupted")
		return cmdutil.ExitInterrupted
	}
	code := cmdutil.ExitCode(err)
	if _, usage := cmdutil.HubRemedy(err); usage || strings.HasPrefix(err.Error(), "unknown command") {
		code = cmdutil.ExitUsage // a mistyped repo id; cobra's own unknown command
	}
	var ee *cmdutil.ExitError
	if !(errors.As(err, &ee) && ee.Err == nil) {
		fmt.Fprintf(f.IO.ErrOut, "fashionclip: %s\n", strings.TrimSpace(cmdutil.WithRemedy(err)))
		if code == cmdutil.ExitUsage {
			fmt.Fprintln(f.IO.ErrOut, "Run 'fashionclip --help' or 'fashionclip COMMAND --help' for usage.")
		}
	}
	return code
}

// NewCmdRoot builds the command tree.
func NewCmdRoot(f *cmdutil.Factory) *cobra.Command {
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
				return cmdutil.UsageError("--variant: %v", err)
			}
			if _, err := fashionclip.ParseDevice(f.Flags.Device); err != nil {
				return cmdutil.UsageError("--device: %v", err)
			}
			return nil
		},
	}
	root.SetFlagErrorFunc(flagError)
	root.SetIn(f.IO.In)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	g, pf := f.Flags, root.PersistentFlags()
	pf.StringVarP(&g.Model, "model", "m", "", "model folder or Hub repo id owner/name[@rev] (default $"+cmdutil.EnvModel+" or "+cmdutil.DefaultModel+")")
	pf.StringVar(&g.Variant, "variant", "", "graph variant: "+strings.Join(fashionclip.Variants(), ", ")+" (as the model ships them; int8 is derived from fp32 into the cache when not shipped)")
	pf.StringVar(&g.Device, "device", "cpu", "execution provider: cpu, cuda or coreml (falls back to cpu with a warning)")
	pf.IntVar(&g.Threads, "threads", 0, "threads for inference and decoding together (default: all cores)")
	pf.StringVar(&g.ORTLib, "ort-lib", "", "path to libonnxruntime (default: $FASHIONCLIP_ORT_LIB, beside the executable, the user cache, the system)")
	pf.BoolVar(&g.Offline, "offline", false, "never touch the network (also HF_HUB_OFFLINE=1)")
	pf.BoolVarP(&g.Quiet, "quiet", "q", false, "no progress bars or notes on stderr")

	root.AddCommand(
		classifycmd.NewCmdClassify(f, nil),
		embedcmd.NewCmdEmbed(f, nil),
		searchcmd.NewCmdSearch(f, nil),
		indexcmd.NewCmdIndex(f),
		tokenizecmd.NewCmdTokenize(f, nil),
		preprocesscmd.NewCmdPreprocess(f, nil),
		modelcmd.NewCmdModel(f),
		cachecmd.NewCmdCache(f),
		runtimecmd.NewCmdRuntime(f),
		servecmd.NewCmdServe(f, nil),
		benchcmd.NewCmdBench(f),
		datacmd.NewCmdData(f),
		doctorcmd.NewCmdDoctor(f, nil),
		versioncmd.NewCmdVersion(f, nil),
		synthcmd.NewCmdSynth(f, nil),
	)
	addHelpTopics(root)
	// cobra adds its completion command only when it executes, after
	// finishTree would have run: add it now so it follows the same rules.
	root.InitDefaultCompletionCmd()
	finishTree(root)
	registerCompletions(root, f)
	cobra.AddTemplateFunc("globalFlags", globalFlagUsages)
	root.SetUsageTemplate(usageTemplate)
	return root
}

// globalsUsed says which global flags a command (and its subcommands) acts
// on; help shows only those. Commands not listed use them all.
var globalsUsed = map[string][]string{
	"tokenize":   {"model", "variant", "offline", "quiet"},
	"preprocess": {"model", "variant", "offline", "quiet"},
	"index":      {"threads", "quiet"},
	"model":      {"model", "variant", "offline", "quiet"},
	"cache":      {"quiet"},
	"runtime":    {"ort-lib", "offline", "quiet"},
	"data":       {"offline", "quiet"},
	"version":    {"ort-lib"},
	"synth":      {},
	"completion": {},
	"help":       {},
}

// globalFlagUsages is the "Global Flags" section of a command's help.
func globalFlagUsages(c *cobra.Command) string {
	top := c
	for top.HasParent() && top.Parent().HasParent() {
		top = top.Parent()
	}
	used, listed := globalsUsed[top.Name()]
	fs := pflag.NewFlagSet(c.Name(), pflag.ContinueOnError)
	c.InheritedFlags().VisitAll(func(fl *pflag.Flag) {
		if !listed || slices.Contains(used, fl.Name) || fl.Name == "help" {
			fs.AddFlag(fl)
		}
	})
	return strings.TrimRight(fs.FlagUsages(), " \n")
}

// usageTemplate is cobra's, with the global flags filtered and the exit
// statuses once, on one line.
var usageTemplate = `Usage:{{if .Runnable}}
  {{.UseLine}}{{end}}{{if .HasAvailableSubCommands}}
  {{.CommandPath}} [command]{{end}}{{if gt (len .Aliases) 0}}

Aliases:
  {{.NameAndAliases}}{{end}}{{if .HasExample}}

Examples:
{{.Example}}{{end}}{{if .HasAvailableSubCommands}}

Available Commands:{{range .Commands}}{{if (or .IsAvailableCommand (eq .Name "help"))}}
  {{rpad .Name .NamePadding }} {{.Short}}{{end}}{{end}}{{end}}{{if .HasAvailableLocalFlags}}

Flags:
{{.LocalFlags.FlagUsages | trimTrailingWhitespaces}}{{end}}{{with globalFlags .}}

Global Flags:
{{.}}{{end}}{{if .HasHelpSubCommands}}

Additional help topics:{{range .Commands}}{{if .IsAdditionalHelpTopicCommand}}
  {{rpad .CommandPath .CommandPathPadding}} {{.Short}}{{end}}{{end}}{{end}}{{if .HasAvailableSubCommands}}

Use "{{.CommandPath}} [command] --help" for more information about a command.{{end}}{{if .Runnable}}

` + cmdutil.ExitStatusHelp + `{{end}}
`

// finishTree applies the rules every command shares: argument errors are
// usage errors (exit 2), a parent given an unknown subcommand says so (with
// a suggestion) instead of printing help and succeeding, and help ends
// with the exit statuses (see usageTemplate).
func finishTree(c *cobra.Command) {
	switch {
	case c.Name() == "help" && c.HasParent() && !c.Parent().HasParent():
		// help's arguments name a command: `help model lst` is as mistyped
		// as `model lst`. Its topics (environment) are subcommands cobra
		// finds before these rules run.
		c.Args = func(cmd *cobra.Command, args []string) error {
			target, rest, err := cmd.Root().Find(args)
			switch {
			case err != nil:
				return unknownCommand(cmd.Root(), args[0])
			case len(rest) > 0:
				return unknownCommand(target, rest[0])
			}
			return nil
		}
	case c.HasSubCommands() && c.HasParent():
		c.Args = func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			return unknownCommand(cmd, args[0])
		}
		if c.RunE == nil {
			c.RunE = func(cmd *cobra.Command, args []string) error { return cmd.Help() }
		}
	case c.Args != nil:
		check := c.Args
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				return &cmdutil.ExitError{Code: cmdutil.ExitUsage, Err: err}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		finishTree(sub)
	}
}

// unknownCommand is the usage error for a mistyped subcommand of cmd, with
// the nearest names.
func unknownCommand(cmd *cobra.Command, name string) error {
	msg := fmt.Sprintf("unknown command %q for %q", name, cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	if s := cmd.SuggestionsFor(name); len(s) > 0 {
		msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
	}
	return cmdutil.UsageError("%s", msg)
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
	return &cmdutil.ExitError{Code: cmdutil.ExitUsage, Err: errors.New(msg)}
}

// editDistance counts the edits between two short names, a swap of
// neighbours being one edit (the commonest typo: --lables).
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
