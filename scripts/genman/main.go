// Command genman writes fashionclip's man pages (one per command, section 1)
// for release archives. It lives outside the binary so the binary does not
// carry the man page renderer.
//
//	go run ./scripts/genman [-version V] DIR
//
// The date in the pages is $SOURCE_DATE_EPOCH, else the last commit's, so
// the same commit always gives the same pages.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/fashionclip/fashionclip/internal/buildinfo"
	"github.com/fashionclip/fashionclip/internal/cli"
	"github.com/fashionclip/fashionclip/internal/cmdutil"
	"github.com/fashionclip/fashionclip/internal/iostreams"
)

func main() {
	version := flag.String("version", buildinfo.Version, "version named in the pages' footer")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: go run ./scripts/genman [-version V] DIR")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *version); err != nil {
		fmt.Fprintln(os.Stderr, "genman:", err)
		os.Exit(1)
	}
}

func run(dir, version string) error {
	date, err := pageDate()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// Pages of commands renamed or removed since the last run must not linger.
	old, _ := filepath.Glob(filepath.Join(dir, "fashionclip*.1"))
	for _, p := range old {
		if err := os.Remove(p); err != nil {
			return err
		}
	}
	root := cli.NewCmdRoot(cmdutil.NewFactory(iostreams.System(), os.Getenv))
	visit(root, func(c *cobra.Command) {
		c.DisableAutoGenTag = true // the footer carries the version; no build-time date
		if c.Runnable() {
			c.Long = strings.TrimRight(c.Long, "\n") + "\n\nEXIT STATUS\n" + cmdutil.ExitStatusTable()
		}
		c.Long = manText(c.Long)
	})
	header := &doc.GenManHeader{Section: "1", Date: &date,
		Source: "fashionclip " + version, Manual: "fashionclip manual"}
	return doc.GenManTree(root, header, dir)
}

func visit(c *cobra.Command, fn func(*cobra.Command)) {
	fn(c)
	for _, sub := range c.Commands() {
		visit(sub, fn)
	}
}

// manText turns the help text into the Markdown the renderer reads: an
// all-capitals line (EXIT STATUS) becomes a section heading, and indented
// tables stay preformatted, where Markdown would run them together into one
// paragraph.
func manText(long string) string {
	var out []string
	inBlock := false
	for _, l := range strings.Split(long, "\n") {
		switch {
		case allCaps.MatchString(l):
			out = append(out, "# "+l)
			inBlock = false
			continue
		case strings.HasPrefix(l, "  ") && strings.TrimSpace(l) != "":
			if !inBlock && len(out) > 0 && out[len(out)-1] != "" {
				out = append(out, "") // a preformatted block must follow a blank line
			}
			inBlock = true
			out = append(out, "    "+l)
			continue
		}
		inBlock = false
		// <label> would be read as an HTML tag and dropped.
		out = append(out, strings.NewReplacer("<", `\<`, ">", `\>`).Replace(l))
	}
	return strings.Join(out, "\n")
}

var allCaps = regexp.MustCompile(`^[A-Z][A-Z ]+$`)

func pageDate() (time.Time, error) {
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: %v", s, err)
		}
		return time.Unix(n, 0).UTC(), nil
	}
	out, err := exec.Command("git", "log", "-1", "--format=%ct").Output()
	if n, perr := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64); err == nil && perr == nil {
		return time.Unix(n, 0).UTC(), nil
	}
	return time.Now().UTC(), nil
}
