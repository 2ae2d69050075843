// Package output holds the writers every command shares: JSON Lines, JSON
// arrays, TSV, CSV and terminal tables. It formats; it never decides what to
// print.
package output

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
)

// Format is an output format name.
type Format string

const (
	Table Format = "table"
	JSONL Format = "jsonl"
	JSON  Format = "json"
	TSV   Format = "tsv"
	CSV   Format = "csv"
)

// Formats lists every format, for flag help and completion.
var Formats = []Format{Table, JSONL, JSON, TSV, CSV}

// Plain is the table's form in a pipe under the Listing rule (gh's): one
// row a line, cells separated by tabs and escaped as in TSV, no header and
// no borders, so that grep, cut and awk see the values. It is no --format
// value of its own.
const Plain Format = "plain"

// FormatRule is how an empty --format resolves; each command picks its rule
// by name.
type FormatRule struct {
	pipe []Format // preferred in a pipe, in order
}

var (
	// Results is the rule of commands whose output is data (classify,
	// search, embed, bench): a table on a terminal, JSON Lines in a pipe
	// (JSON where JSON Lines is not offered).
	Results = FormatRule{pipe: []Format{JSONL, JSON}}
	// Listing is the rule of commands that describe things (index info,
	// model list, runtime info, cache listings), as gh does it: text on a
	// terminal (a table) and in a pipe (Plain); JSON only when asked for.
	Listing = FormatRule{pipe: []Format{Plain}}
)

// Resolve turns a --format value into a Format. The empty value means a
// table on a terminal and the rule's choice in a pipe; allowed (default:
// Formats) are the values the command takes.
func (r FormatRule) Resolve(flag string, stdoutTTY bool, allowed ...Format) (Format, error) {
	if len(allowed) == 0 {
		allowed = Formats
	}
	if flag == "" {
		if stdoutTTY && contains(allowed, Table) {
			return Table, nil
		}
		for _, f := range r.pipe {
			if contains(allowed, f) || (f == Plain && contains(allowed, Table)) {
				return f, nil
			}
		}
		return allowed[0], nil
	}
	f := Format(strings.ToLower(flag))
	if !contains(allowed, f) {
		names := make([]string, len(allowed))
		for i, a := range allowed {
			names[i] = string(a)
		}
		return "", fmt.Errorf("unknown format %q (want %s)", flag, strings.Join(names, ", "))
	}
	return f, nil
}

// Resolve is Results.Resolve.
func Resolve(flag string, stdoutTTY bool, allowed ...Format) (Format, error) {
	return Results.Resolve(flag, stdoutTTY, allowed...)
}

func contains(fs []Format, f Format) bool {
	for _, x := range fs {
		if x == f {
			return true
		}
	}
	return false
}

// IsClosedPipe reports whether err means the reader of stdout went away
// (`| head`), which ends a run quietly rather than as a failure.
func IsClosedPipe(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, io.ErrClosedPipe)
}

// RecordWriter streams one JSON object per record, as JSON Lines or as one
// JSON array, flushing each record so the first results appear at once.
type RecordWriter struct {
	w     *bufio.Writer
	array bool
	n     int
}

// NewRecordWriter writes JSON Lines, or a JSON array when array is true.
func NewRecordWriter(w io.Writer, array bool) *RecordWriter {
	return &RecordWriter{w: bufio.NewWriter(w), array: array}
}

// MarshalJSON is json.Marshal without HTML escaping: '<', '>' and '&' are
// written as themselves, not as \u003c escapes, so texts and paths read as
// typed (Python's json does the same).
func MarshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Write encodes one record (see MarshalJSON).
func (r *RecordWriter) Write(v any) error {
	b, err := MarshalJSON(v)
	if err != nil {
		return err
	}
	if r.array {
		sep := ",\n"
		if r.n == 0 {
			sep = "[\n"
		}
		r.w.WriteString(sep)
	}
	r.n++
	r.w.Write(b)
	if !r.array {
		r.w.WriteByte('\n')
	}
	return r.w.Flush()
}

// Close ends the array (an empty one when nothing was written).
func (r *RecordWriter) Close() error {
	if r.array {
		if r.n == 0 {
			r.w.WriteString("[")
		}
		r.w.WriteString("\n]\n")
	}
	return r.w.Flush()
}

// RowWriter writes delimited rows: CSV (RFC 4180 quoting) or TSV, where a tab,
// newline, carriage return or backslash inside a field is written as \t, \n,
// \r or \\ so that no file name can break a row.
type RowWriter struct {
	csv *csv.Writer
	tsv *bufio.Writer
}

// NewRowWriter writes CSV when f is CSV and TSV otherwise.
func NewRowWriter(w io.Writer, f Format) *RowWriter {
	if f == CSV {
		return &RowWriter{csv: csv.NewWriter(w)}
	}
	return &RowWriter{tsv: bufio.NewWriter(w)}
}

var tsvEscaper = strings.NewReplacer("\\", `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`)

// EscapeTSV escapes one TSV field.
func EscapeTSV(s string) string { return tsvEscaper.Replace(s) }

// Write writes one row and flushes it.
func (r *RowWriter) Write(fields ...string) error {
	if r.csv != nil {
		if err := r.csv.Write(fields); err != nil {
			return err
		}
		r.csv.Flush()
		return r.csv.Error()
	}
	for i, f := range fields {
		if i > 0 {
			r.tsv.WriteByte('\t')
		}
		r.tsv.WriteString(EscapeTSV(f))
	}
	r.tsv.WriteByte('\n')
	return r.tsv.Flush()
}

// FormatScore prints a score with four decimals for tables.
func FormatScore(s float64) string { return fmt.Sprintf("%.4f", s) }

// FormatBytes prints a byte count for people, in SI units as disks and
// downloads are sized: "512 B", "605.1 MB".
func FormatBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}
