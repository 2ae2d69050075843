package export

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fashionclip/fashionclip/internal/index"
)

// exportStream writes jsonl or pgvector to o.Out (through a temporary file
// renamed at the end) or to o.W.
func exportStream(ctx context.Context, src *source, o Options) (Stats, error) {
	var st Stats
	w := o.W
	var fh *os.File
	if o.Out != "" && o.Out != "-" {
		if _, err := os.Stat(o.Out); err == nil && !o.Force {
			return st, fmt.Errorf("%s: %w", o.Out, ErrOutputExists)
		}
		if dir := filepath.Dir(o.Out); dir != "" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return st, err
			}
		}
		var err error
		fh, err = os.Create(o.Out + ".tmp")
		if err != nil {
			return st, err
		}
		w = fh
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	var err error
	if o.Format == FormatJSONL {
		err = writeJSONL(ctx, src, o, bw, &st)
	} else {
		err = writePgvector(ctx, src, o, bw, &st)
	}
	if err == nil {
		err = bw.Flush()
	}
	if fh != nil {
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(o.Out+".tmp", o.Out)
		}
		if err != nil {
			os.Remove(o.Out + ".tmp")
		} else {
			st.Files = []string{o.Out}
		}
	}
	if err != nil {
		return Stats{}, err
	}
	return st, nil
}

// lineJob is a run of items whose lines are formatted together.
type lineJob struct {
	recs []record
	f32  []float32 // the vectors as stored: float32 …
	f16  []uint16  // … or float16 bits
	out  []byte    // their lines
	done chan struct{}
}

// linesPerJob bounds a job: 256 lines of 512 floats are about 1.5 MB.
const linesPerJob = 256

// writeLines writes a line per item, made by format from the item and its
// vector (float32 values rounded to o.DType). Formatting the floats is
// nearly all the work, so jobs of items are formatted on every core and
// written in order; at most 2 jobs per core are in flight.
func (s *source) writeLines(ctx context.Context, o Options, w io.Writer, st *Stats, format func(line []byte, r *record, vec []float32) []byte) error {
	workers := runtime.GOMAXPROCS(0)
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	todo := make(chan *lineJob)
	inOrder := make(chan *lineJob, 2*workers)
	free := make(chan *lineJob, 2*workers+1)
	for range 2*workers + 1 {
		free <- &lineJob{done: make(chan struct{}, 1)}
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			vec := make([]float32, s.dim)
			for j := range todo {
				j.out = j.out[:0]
				for i := range j.recs {
					if j.f32 != nil {
						copy(vec, j.f32[i*s.dim:(i+1)*s.dim])
						if o.DType == index.DTypeFloat16 {
							for k, v := range vec {
								vec[k] = index.HalfToFloat32(index.Float32ToHalf(v))
							}
						}
					} else {
						for k, h := range j.f16[i*s.dim : (i+1)*s.dim] {
							vec[k] = index.HalfToFloat32(h)
						}
					}
					j.out = format(j.out, &j.recs[i], vec)
				}
				j.done <- struct{}{}
			}
		}()
	}
	written := make(chan error, 1)
	go func() {
		var err error
		for j := range inOrder {
			<-j.done
			if err == nil {
				if _, err = w.Write(j.out); err != nil {
					cancel()
				} else if o.Progress != nil {
					o.Progress.Add(len(j.recs))
				}
			}
			free <- j
		}
		written <- err
	}()

	var job *lineJob
	send := func() {
		todo <- job
		inOrder <- job
		job = nil
	}
	err := s.eachBatch(pctx, false, func(_ int, b *index.Batch) error {
		for i, it := range b.Items {
			if job == nil {
				select {
				case job = <-free:
				case <-pctx.Done():
					return pctx.Err()
				}
				job.recs, job.f32, job.f16 = job.recs[:0], nil, nil
			}
			job.recs = append(job.recs, recordOf(it))
			if b.F32 != nil {
				job.f32 = append(job.f32, b.F32[i*s.dim:(i+1)*s.dim]...)
			} else {
				job.f16 = append(job.f16, b.F16[i*s.dim:(i+1)*s.dim]...)
			}
			st.count(it)
			if len(job.recs) == linesPerJob {
				send()
			}
		}
		return nil
	})
	if err == nil && job != nil {
		send()
	}
	close(todo)
	close(inOrder)
	wg.Wait()
	if werr := <-written; werr != nil {
		return werr // the cause of a cancel
	}
	return err
}

// appendFloats appends the shortest decimal forms that read back as the
// same float32 values, separated by commas.
func appendFloats(b []byte, vec []float32) []byte {
	for k, v := range vec {
		if k > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendFloat(b, float64(v), 'g', -1, 32)
	}
	return b
}

// jsonString appends s as a JSON string.
func jsonString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // cannot fail for a string
	return append(b, q...)
}

func writeJSONL(ctx context.Context, src *source, o Options, w io.Writer, st *Stats) error {
	return src.writeLines(ctx, o, w, st, func(line []byte, r *record, vec []float32) []byte {
		line = append(line, `{"id":`...)
		line = jsonString(line, r.ID)
		line = append(line, `,"kind":`...)
		line = jsonString(line, r.Kind)
		if r.IsText {
			line = append(line, `,"text":`...)
			line = jsonString(line, r.Text)
		} else {
			line = append(line, `,"path":`...)
			line = jsonString(line, r.Path)
			line = append(line, `,"size":`...)
			line = strconv.AppendInt(line, r.Size, 10)
			if r.HasMTime {
				line = append(line, `,"mtime":"`...)
				line = r.mtime().AppendFormat(line, time.RFC3339Nano)
				line = append(line, '"')
			}
			if r.SHA256 != "" {
				line = append(line, `,"sha256":`...)
				line = jsonString(line, r.SHA256)
			}
		}
		line = append(line, `,"embedding":[`...)
		line = appendFloats(line, vec)
		return append(line, "]}\n"...)
	})
}

// pgIdent quotes a PostgreSQL identifier (a table name, maybe with a
// schema: "shop.items").
func pgIdent(name string) string {
	parts := strings.Split(name, ".")
	for i, p := range parts {
		parts[i] = `"` + strings.ReplaceAll(p, `"`, `""`) + `"`
	}
	return strings.Join(parts, ".")
}

// pgText appends s escaped for COPY's text format.
func pgText(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b = append(b, `\\`...)
		case '\t':
			b = append(b, `\t`...)
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		default:
			b = append(b, c)
		}
	}
	return b
}

func writePgvector(ctx context.Context, src *source, o Options, w io.Writer, st *Stats) error {
	table := pgIdent(o.PGTable)
	colType := fmt.Sprintf("%s(%d)", o.PGType, src.dim)
	open, close := "[", "]"
	if o.PGType == PGReal {
		colType, open, close = "real[]", "{", "}"
	}
	var h strings.Builder
	fmt.Fprintf(&h, "-- fashionclip index export: %d items of %s, %d dimensions, L2-normalised\n", src.total, src.man.Model.String(), src.dim)
	fmt.Fprintf(&h, "-- load with: psql -v ON_ERROR_STOP=1 -f FILE (one transaction: all or nothing)\n")
	fmt.Fprintf(&h, "\\set ON_ERROR_STOP on\nBEGIN;\n")
	if o.PGType != PGReal {
		fmt.Fprintf(&h, "CREATE EXTENSION IF NOT EXISTS vector;\n")
	}
	fmt.Fprintf(&h, "CREATE TABLE %s (\n  id uuid PRIMARY KEY,\n  path text,\n  kind text NOT NULL,\n  text text,\n  size bigint,\n  mtime timestamptz,\n  sha256 text,\n  embedding %s NOT NULL", table, colType)
	if o.PGType == PGReal {
		fmt.Fprintf(&h, " CHECK (cardinality(embedding) = %d)", src.dim)
	}
	fmt.Fprintf(&h, "\n);\nCOPY %s (id, path, kind, text, size, mtime, sha256, embedding) FROM STDIN;\n", table)
	if _, err := io.WriteString(w, h.String()); err != nil {
		return err
	}
	err := src.writeLines(ctx, o, w, st, func(line []byte, r *record, vec []float32) []byte {
		line = append(line, r.ID...)
		line = append(line, '\t')
		if r.IsText {
			line = append(line, `\N`...)
		} else {
			line = pgText(line, r.Path)
		}
		line = append(line, '\t')
		line = append(line, r.Kind...)
		line = append(line, '\t')
		if r.IsText {
			line = pgText(line, r.Text)
			line = append(line, "\t\\N\t\\N\t\\N\t"...)
		} else {
			line = append(line, `\N`...)
			line = append(line, '\t')
			line = strconv.AppendInt(line, r.Size, 10)
			line = append(line, '\t')
			if r.HasMTime {
				// PostgreSQL keeps microseconds.
				line = r.mtime().AppendFormat(line, "2006-01-02 15:04:05.999999Z07:00")
			} else {
				line = append(line, `\N`...)
			}
			line = append(line, '\t')
			if r.SHA256 != "" {
				line = append(line, r.SHA256...)
			} else {
				line = append(line, `\N`...)
			}
			line = append(line, '\t')
		}
		line = append(line, open...)
		line = appendFloats(line, vec)
		line = append(line, close...)
		return append(line, '\n')
	})
	if err != nil {
		return err
	}
	var t strings.Builder
	fmt.Fprintf(&t, "\\.\nCOMMIT;\n")
	switch o.PGType {
	case PGReal:
		fmt.Fprintf(&t, "-- cosine of unit vectors = inner product; with pgvector installed, convert with:\n-- ALTER TABLE %s ALTER COLUMN embedding TYPE vector(%d) USING embedding::vector(%d);\n", table, src.dim, src.dim)
	default:
		fmt.Fprintf(&t, "-- an approximate index for cosine (= inner product on these unit vectors):\n-- CREATE INDEX ON %s USING hnsw (embedding %s_ip_ops);\n", table, o.PGType)
	}
	_, err = io.WriteString(w, t.String())
	return err
}
