package cmdutil

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/fashionclip/fashionclip/internal/index"
	"github.com/fashionclip/fashionclip/internal/modelfiles"
	"github.com/fashionclip/fashionclip/internal/ortlib"
	"github.com/fashionclip/fashionclip/pkg/fashionclip"
)

// remedy is the one place that says how to fix a failure: lower layers
// return typed errors that name no flag or command, and the CLI prints
// "fashionclip: <error>; fix: <remedy>". "" when there is nothing to add.
func Remedy(err error) string {
	if fix, _ := HubRemedy(err); fix != "" {
		return fix
	}
	var (
		notFound *fashionclip.RuntimeNotFoundError
		missing  *fashionclip.RuntimeMissingError
		load     *fashionclip.RuntimeLoadError
		old      *fashionclip.RuntimeTooOldError
		noGraph  *modelfiles.NoGraphError
		gone     *index.ModelFolderGoneError
		variant  *index.VariantMismatchError
	)
	install := "run `fashionclip runtime install`"
	switch {
	case errors.As(err, &notFound):
		return fmt.Sprintf("%s, or pass --ort-lib PATH or set %s to a libonnxruntime %s or newer",
			install, ortlib.EnvLibrary, ortlib.MinVersion)
	case errors.As(err, &missing):
		if missing.Source == ortlib.FromEnv {
			return fmt.Sprintf("fix $%s or %s", ortlib.EnvLibrary, install)
		}
		return "fix the path given to --ort-lib or " + install
	case errors.As(err, &load):
		return install + " or point --ort-lib at a newer library"
	case errors.As(err, &old):
		return install
	case errors.As(err, &noGraph) && noGraph.Variant != fashionclip.FP32 && slices.Contains(noGraph.Available, fashionclip.FP32):
		return "try without --variant"
	case errors.As(err, &noGraph) && len(noGraph.Available) > 0:
		// No fp32 graph to fall back on (or derive int8 from): name one the model has.
		return "try --variant " + noGraph.Available[0].String()
	case errors.As(err, &variant):
		return "pass --variant " + variant.IndexHas.Variant.String() + " (the index's), or --allow-variant-mismatch to use it anyway"
	case errors.As(err, &gone):
		return "pass --model with that model's new folder"
	}
	return ""
}

// WithRemedy appends the remedy, if any, to an error's message.
func WithRemedy(err error) string {
	msg := err.Error()
	if fix := Remedy(err); fix != "" {
		msg += "; fix: " + fix
	}
	return msg
}

// VariantArg is " --variant V" for a non-default variant, for commands in fixes.
func VariantArg(v string) string {
	if v == "" || strings.EqualFold(v, "fp32") {
		return ""
	}
	return " --variant " + v
}
