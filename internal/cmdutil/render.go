package cmdutil

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/fashionclip/fashionclip/internal/labels"
	"github.com/fashionclip/fashionclip/internal/output"
	"github.com/fashionclip/fashionclip/pkg/tokenizer"
)

// ListTable is the table of a listing command (output.Listing): drawn on a
// terminal, gh's plain rows in a pipe.
func ListTable(w io.Writer, format output.Format, header ...string) *output.TableWriter {
	return output.NewTable(w, output.TableOptions{Plain: format == output.Plain}, header...)
}

// WarnTruncated says once (even with --quiet: it is about the results)
// that texts were cut to CLIP's token limit; what names them ("prompt",
// "text", "query term").
func WarnTruncated(f *Factory, tok *tokenizer.Tokenizer, what string, texts []string) {
	cut := labels.Truncated(texts, tok)
	if len(cut) == 0 {
		return
	}
	more := ""
	if len(cut) > 1 {
		more = fmt.Sprintf(" (and %d more)", len(cut)-1)
	}
	f.Errorf("WARNING: %s over CLIP's %d tokens cut short: the model sees only the start of %q%s",
		output.Plural(len(cut), what), tok.MaxLength, cut[0], more)
}

// YesNo renders a boolean cell of a listing.
func YesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// AddListingFormatFlag adds a listing command's -f/--format (output.Listing).
func AddListingFormatFlag(cmd *cobra.Command, format *string) {
	cmd.Flags().StringVarP(format, "format", "f", "", "table or json (default: table on a terminal, plain text in a pipe)")
}

// ListingFormat resolves a listing command's --format; a bad value is a
// usage error.
func ListingFormat(f *Factory, flag string) (output.Format, error) {
	format, err := output.Listing.Resolve(flag, f.IO.IsStdoutTTY(), output.Table, output.JSON)
	if err != nil {
		return "", UsageError("%v", err)
	}
	return format, nil
}
