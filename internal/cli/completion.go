package cli

import (
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fashionclip/fashionclip/internal/bench"
	"github.com/fashionclip/fashionclip/internal/cmdutil"
	"github.com/fashionclip/fashionclip/internal/export"
	"github.com/fashionclip/fashionclip/internal/hub"
	"github.com/fashionclip/fashionclip/internal/output"
	"github.com/fashionclip/fashionclip/pkg/fashionclip"
)

// cachedModelID describes one model in the Hugging Face cache for completion.
type cachedModelID struct {
	Repo string
	Refs []string // revisions with a refs/ file (main, tags, ...)
}

// cachedModelIDs lists the models in the Hugging Face cache, sorted by repo
// id: names only, so completion stays fast on a large cache.
func cachedModelIDs(f *cmdutil.Factory) []cachedModelID {
	cache := f.Hub().CacheDir
	ids, err := hub.CachedRepoIDs(cache)
	if err != nil {
		return nil
	}
	out := make([]cachedModelID, 0, len(ids))
	for _, id := range ids {
		out = append(out, cachedModelID{Repo: id, Refs: hub.CachedRevisions(cache, id)})
	}
	return out
}

// registerCompletions adds dynamic completion of flag values to the whole
// tree. NewCmdRoot calls it once every command is attached.
func registerCompletions(root *cobra.Command, f *cmdutil.Factory) {
	// Errors only mean a flag is missing or already has a completion of its
	// own (a command file may register a better one): both are fine.
	_ = root.RegisterFlagCompletionFunc("model", func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return completeModel(f, toComplete)
	})
	_ = root.RegisterFlagCompletionFunc("device", cobra.FixedCompletions(
		[]cobra.Completion{"cpu\tONNX Runtime's CPU kernels", "cuda\tNVIDIA GPU (needs the CUDA build of ONNX Runtime)", "coreml\tApple Core ML"},
		cobra.ShellCompDirectiveNoFileComp))
	_ = root.RegisterFlagCompletionFunc("variant", cobra.FixedCompletions(fashionclip.Variants(), cobra.ShellCompDirectiveNoFileComp))
	fixed := map[string][]cobra.Completion{
		"dataset":     bench.Kinds,
		"dtype":       {"float32", "float16"},
		"pg-type":     {export.PGVector, export.PGHalfvec, export.PGReal},
		"compression": {"snappy", "zstd", "none"},
	}
	modelArg := func(_ *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return completeModel(f, toComplete)
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if fl := c.LocalNonPersistentFlags().Lookup("format"); fl != nil {
			_ = c.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(formatChoices(fl.Usage), cobra.ShellCompDirectiveNoFileComp))
		}
		for name, values := range fixed {
			if c.LocalNonPersistentFlags().Lookup(name) != nil {
				_ = c.RegisterFlagCompletionFunc(name, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp))
			}
		}
		switch c.CommandPath() {
		case "fashionclip model pull", "fashionclip model info", "fashionclip model rm", "fashionclip model path":
			c.ValidArgsFunction = modelArg
		case "fashionclip data pull":
			c.ValidArgs = []cobra.Completion{"fmnist", "kagl", "deepfashion"}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// completeModel offers cached repo ids (owner/name, or owner/name@rev once
// an @ is typed); what looks like a path, or matches no cached id, falls
// back to folders, since --model also takes a local folder.
func completeModel(f *cmdutil.Factory, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if strings.HasPrefix(toComplete, ".") || strings.HasPrefix(toComplete, "/") || strings.HasPrefix(toComplete, "~") {
		return nil, cobra.ShellCompDirectiveFilterDirs
	}
	var out []cobra.Completion
	for _, m := range cachedModelIDs(f) {
		if strings.Contains(toComplete, "@") {
			for _, rev := range m.Refs {
				if id := m.Repo + "@" + rev; strings.HasPrefix(id, toComplete) {
					out = append(out, id)
				}
			}
			continue
		}
		if strings.HasPrefix(m.Repo, toComplete) {
			out = append(out, cobra.CompletionWithDesc(m.Repo, "cached"))
		}
	}
	if len(out) == 0 {
		return nil, cobra.ShellCompDirectiveFilterDirs
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

var formatWord = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// formatChoices reads the values from a --format flag's help ("table, jsonl,
// json, tsv or csv (default: ...)"), so each command's completion follows
// its own list without a second copy here; help of another shape gets every
// output format.
func formatChoices(usage string) []cobra.Completion {
	list, _, _ := strings.Cut(usage, "(")
	var out []cobra.Completion
	for _, part := range strings.Split(strings.ReplaceAll(list, " or ", ","), ",") {
		if w := strings.TrimSpace(part); formatWord.MatchString(w) {
			out = append(out, w)
		}
	}
	if len(out) < 2 {
		out = out[:0]
		for _, fm := range output.Formats {
			out = append(out, string(fm))
		}
	}
	return out
}
