// Package cachecmd holds `fashionclip cache` and its subcommands (info,
// prune): flags, wiring and rendering (NewCmdX(f, runF), XOptions, xRun)
// over the library packages.
package cachecmd

import (
	"github.com/spf13/cobra"

	"github.com/fashionclip/fashionclip/internal/cmdutil"
	"github.com/fashionclip/fashionclip/internal/graphcache"
	"github.com/fashionclip/fashionclip/internal/hub"
	"github.com/fashionclip/fashionclip/internal/output"
)

// NewCmdCache builds `fashionclip cache`: fashionclip's own cache of
// derived graphs (models live in the Hugging Face cache: see `model`).
func NewCmdCache(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cache",
		Short: "Show or prune the graphs fashionclip derives from models",
		Long: `fashionclip keeps graphs it derives from model files in its own cache
($FASHIONCLIP_CACHE, else ~/.cache/fashionclip/graphs): the text and vision towers cut out of
a combined model.onnx, and quantized towers. They are made once per model file and reused.
'cache info' lists them; 'cache prune' removes those whose model file is gone or has changed,
and leftovers of interrupted runs. 'model rm' removes the graphs of the models it deletes.`,
		Example: `  fashionclip cache info
  fashionclip cache prune`,
	}
	cmd.AddCommand(newCmdCacheInfo(f), newCmdCachePrune(f))
	return cmd
}

func newCmdCacheInfo(f *cmdutil.Factory) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "info",
		Short: "List the cached graphs, their sizes and sources",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fm, err := cmdutil.ListingFormat(f, format)
			if err != nil {
				return err
			}
			c, err := cmdutil.GraphCache(f)
			if err != nil {
				return err
			}
			entries, err := c.Entries()
			if err != nil {
				return err
			}
			type rec struct {
				Key    string `json:"key"`
				Recipe string `json:"recipe"`
				Source string `json:"source"`
				Bytes  int64  `json:"bytes"`
				Stale  bool   `json:"stale"`
			}
			var total int64
			t := cmdutil.ListTable(f.IO.Out, fm, "ENTRY", "RECIPE", "SIZE", "STALE", "SOURCE")
			w := output.NewRecordWriter(f.IO.Out, true)
			for _, e := range entries {
				total += e.Bytes
				r := rec{Key: e.Key, Recipe: e.Meta.Recipe, Source: e.Meta.Source, Bytes: e.Bytes, Stale: e.Stale()}
				if fm == output.JSON {
					if err := w.Write(r); err != nil {
						return cmdutil.QuietPipe(err)
					}
					continue
				}
				t.Append(r.Key, r.Recipe, hub.FormatBytes(r.Bytes), cmdutil.YesNo(r.Stale), r.Source)
			}
			if fm == output.JSON {
				return cmdutil.QuietPipe(w.Close())
			}
			if err := t.Close(); err != nil {
				return cmdutil.QuietPipe(err)
			}
			f.Warnf("%s, %s in %s", cmdutil.Plural(len(entries), "entry"), hub.FormatBytes(total), c.Root)
			return nil
		},
	}
	cmdutil.AddListingFormatFlag(cmd, &format)
	return cmd
}

func newCmdCachePrune(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "prune",
		Short: "Remove cached graphs whose model file is gone or changed",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cmdutil.GraphCache(f)
			if err != nil {
				return err
			}
			entries, err := c.Entries()
			if err != nil {
				return err
			}
			var stale []graphcache.Entry
			for _, e := range entries {
				if e.Stale() {
					stale = append(stale, e)
				}
			}
			freed, err := c.Remove(stale)
			if err != nil {
				return err
			}
			f.Warnf("removed %s, %s freed", cmdutil.Plural(len(stale), "stale entry"), hub.FormatBytes(freed))
			return nil
		},
	}
}
