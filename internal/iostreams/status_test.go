package iostreams

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/schollz/progressbar/v3"
)

func newBar(w io.Writer) *progressbar.ProgressBar {
	return progressbar.NewOptions(30, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription("images"),
		progressbar.OptionShowCount(), progressbar.OptionSetWidth(20), progressbar.OptionThrottle(0), progressbar.OptionClearOnFinish())
}

// run draws a bar while writing rows (and an error message every tenth
// row), as classify -f tsv does on a terminal.
func run(t *testing.T, barTo, rowsTo, errsTo io.Writer, scr *Screen) (rows []string, midRun []string) {
	t.Helper()
	bar := newBar(barTo)
	for i := 1; i <= 30; i++ {
		bar.Add(1)
		if i%10 == 0 {
			fmt.Fprintf(errsTo, "bad%02d.jpg: image file is truncated\n", i)
			rows = append(rows, fmt.Sprintf("bad%02d.jpg: image file is truncated", i))
			continue
		}
		row := fmt.Sprintf("img%02d.jpg\t\tdress\t0.9", i)
		fmt.Fprintln(rowsTo, row)
		rows = append(rows, ExpandTabs(row))
		if i == 15 {
			midRun = scr.Lines()
		}
	}
	bar.Finish()
	return rows, midRun
}

func TestProgressBarKeepsOffResults(t *testing.T) {
	t.Run("coordinated", func(t *testing.T) {
		s, _, scr := TestTerminal(80)
		rows, midRun := run(t, s.ProgressWriter(), s.Out, s.ErrOut, scr)
		if got := scr.Lines(); !slices.Equal(got, rows) {
			t.Fatalf("screen after the run:\n%s\nwant exactly the rows and messages, one a line, no bar", scr)
		}
		last := midRun[len(midRun)-1]
		if !strings.Contains(last, "images") || !strings.Contains(last, "/30") {
			t.Fatalf("mid-run, the last line is %q: want the bar there", last)
		}
		for _, l := range midRun[:len(midRun)-1] {
			if strings.Contains(l, "images") {
				t.Fatalf("mid-run, a row shares its line with the bar: %q", l)
			}
		}
	})
	// The same writes with nothing between the bar and stdout: the fake
	// terminal shows the defect (rows glued to the bar), so the test above
	// can fail.
	t.Run("uncoordinated shows the defect", func(t *testing.T) {
		scr := &Screen{Width: 80}
		run(t, scr, scr, scr, scr)
		glued := 0
		for _, l := range scr.Lines() {
			if strings.Contains(l, "images") && strings.Contains(l, ".jpg") {
				glued++
			}
		}
		if glued == 0 {
			t.Fatalf("no glued line: the fake terminal does not model the bar:\n%s", scr)
		}
	})
}

func TestPartialLinesWaitForTheirEnd(t *testing.T) {
	s, _, scr := TestTerminal(80)
	bar := newBar(s.ProgressWriter())
	bar.Add(1)
	io.WriteString(s.Out, "img01.jpg\t")
	bar.Add(1) // must not overwrite the half-written row
	io.WriteString(s.Out, "dress\n")
	lines := scr.Lines()
	if len(lines) != 2 || lines[0] != "img01.jpg       dress" || !strings.Contains(lines[1], "images") {
		t.Fatalf("screen:\n%s", scr)
	}
}

func TestPipedStdoutLeavesTheBarAlone(t *testing.T) {
	s, _, out, errOut := Test()
	s.SetTTY(false, false, true)
	bar := newBar(s.ProgressWriter())
	bar.Add(1)
	before := errOut.Len()
	io.WriteString(s.Out, "row\n")
	if errOut.Len() != before || out.String() != "row\n" {
		t.Fatalf("a write to a piped stdout touched the bar: stdout %q, stderr grew by %d", out, errOut.Len()-before)
	}
	io.WriteString(s.ErrOut, "note\n")
	if e := errOut.String()[before:]; !strings.HasPrefix(e, clearLine+"note\n") || !strings.Contains(e, "images") {
		t.Fatalf("a message on stderr must erase the bar and redraw it after: %q", e)
	}
}

func TestFitWidth(t *testing.T) {
	size := func(w int, err error) func() (int, error) { return func() (int, error) { return w, err } }
	cases := []struct {
		name    string
		tty     bool
		columns string
		size    func() (int, error)
		want    int
	}{
		{"pipe", false, "", size(120, nil), 0},
		{"pipe ignores COLUMNS", false, "100", size(120, nil), 0},
		{"terminal", true, "", size(120, nil), 120},
		{"COLUMNS overrides", true, "100", size(120, nil), 100},
		{"bad COLUMNS", true, "wide", size(120, nil), 120},
		{"unknown size", true, "", size(0, io.EOF), 80},
	}
	for _, c := range cases {
		got := fitWidth(c.tty, c.size, func(k string) string {
			if k == "COLUMNS" {
				return c.columns
			}
			return ""
		})
		if got != c.want {
			t.Errorf("%s: width %d, want %d", c.name, got, c.want)
		}
	}
}

func TestScreenModel(t *testing.T) {
	scr := &Screen{Width: 10}
	io.WriteString(scr, "hello\rJ\x1b[Kx\nabcdefghijkl\n\x1b[2")
	io.WriteString(scr, "Kdone")
	want := []string{"Jx", "abcdefghij", "kl", "done"}
	if got := scr.Lines(); !slices.Equal(got, want) {
		t.Fatalf("lines %q, want %q", got, want)
	}
}

// Out tells tables the terminal's width, and 0 in a pipe.
func TestOutReportsTheWidthTablesFit(t *testing.T) {
	width := func(s *IOStreams) int { return s.Out.(interface{ TermWidth() int }).TermWidth() }
	term, _, _ := TestTerminal(72)
	if w := width(term); w != 72 {
		t.Errorf("terminal: %d, want 72", w)
	}
	pipe, _, _, _ := Test()
	pipe.TermWidth = 72
	if w := width(pipe); w != 0 {
		t.Errorf("pipe: %d, want 0", w)
	}
	pipe.SetTTY(false, true, false)
	if w := width(pipe); w != 72 {
		t.Errorf("stdout made a terminal: %d, want 72", w)
	}
}
