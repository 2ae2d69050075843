package benchcmd

import (
	"strings"
	"testing"

	"github.com/fashionclip/fashionclip/internal/bench"
	"github.com/fashionclip/fashionclip/internal/cmdutil"
	"github.com/fashionclip/fashionclip/internal/iostreams"
	"github.com/fashionclip/fashionclip/internal/output"
)

// When a report file cannot be written after all, the report is still printed.
func TestFinishReportPrintsBeforeFailing(t *testing.T) {
	io, _, out, _ := iostreams.Test()
	f := cmdutil.NewFactory(io, func(string) string { return "" })
	rep := &bench.Report{Dataset: "folder", Templates: []string{"{}"}}
	err := finishReport(f, output.JSON, t.TempDir()+"/gone/report.json", rep, rep.WriteTable, 0, nil)
	if err == nil || !strings.Contains(err.Error(), "--out") || !strings.Contains(out.String(), `"dataset": "folder"`) {
		t.Fatalf("err %v, stdout %q", err, out)
	}
}
