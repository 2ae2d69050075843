package index

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Problem is one thing wrong with an index.
type Problem struct {
	// File is the file at fault (its path: the index folder joined with
	// manifest.json, emb-NNNNN.npy or items-NNNNN.parquet).
	File    string `json:"file"`
	Problem string `json:"problem"`
	missing bool   // the file is not there (a writer may just have replaced it)
}

func (p Problem) String() string { return p.File + ": " + p.Problem }

// Report is what Verify found.
type Report struct {
	Index      string `json:"index"`
	Generation int64  `json:"generation"`
	Version    int    `json:"format_version"`
	Chunks     int    `json:"chunks"`
	Items      int    `json:"items"`
	Deep       bool   `json:"deep"`
	// Hashed counts the files deep verification compared with the SHA-256
	// the manifest records; Scanned the chunks without one (written before
	// hashes were recorded) whose live vectors it checked instead.
	Hashed   int       `json:"hashed"`
	Scanned  int       `json:"scanned"`
	Problems []Problem `json:"problems"`
}

// Healthy reports whether no problem was found.
func (r *Report) Healthy() bool { return len(r.Problems) == 0 }

// Verify checks an index: the manifest parses and is consistent, every
// chunk is there with the shape the manifest gives, every table parses,
// has the manifest's row count, points at distinct rows of its chunk, and
// no item is live twice. deep also reads every byte: files with a
// recorded SHA-256 must match it; chunks without one must hold finite unit
// vectors in their live rows. The error is for an index that cannot be
// checked at all (not an index, an unreadable folder) or ctx's when it is
// cancelled (reading stops within a block); everything wrong with its
// files is a Problem. Like Open, Verify takes no lock and starts over when
// a writer replaces files under it.
func Verify(ctx context.Context, dir string, deep bool) (Report, error) {
	var lastGen int64 = -1
	for attempt := 0; ; attempt++ {
		r := Report{Index: dir, Deep: deep, Problems: []Problem{}}
		m, err := ReadManifest(dir)
		var ce *CorruptError
		if errors.As(err, &ce) {
			r.Problems = append(r.Problems, Problem{File: ce.File, Problem: ce.Err.Error()})
			return r, nil
		}
		if err != nil {
			return r, err
		}
		r.Generation, r.Version, r.Chunks, r.Items = m.Generation, m.Version, len(m.Chunks), m.Items()
		in := inspect(dir, m, inspectOptions{ctx: ctx, keys: true, deep: deep})
		if err := ctx.Err(); err != nil {
			return r, err
		}
		r.Problems, r.Hashed, r.Scanned = in.problems, in.hashed, in.scanned
		if !in.missing || m.Generation == lastGen || attempt >= 50 {
			return r, nil
		}
		lastGen = m.Generation
	}
}

type inspectOptions struct {
	ctx  context.Context // stops the checks (nil: never)
	keys bool            // check that no item is live twice (holds every key in memory)
	deep bool            // read every byte
}

type inspection struct {
	ctx             context.Context
	problems        []Problem
	missing         bool
	texts           int
	bytes           int64 // size of the committed files
	hashed, scanned int
}

func (in *inspection) add(file string, err error) {
	p := Problem{File: file, Problem: err.Error()}
	var ce *CorruptError
	if errors.As(err, &ce) {
		p.File, p.Problem = ce.File, ce.Err.Error()
	}
	if errors.Is(err, os.ErrNotExist) {
		p.Problem, p.missing, in.missing = "missing", true, true
	}
	in.problems = append(in.problems, p)
}

// inspect checks the files of manifest m (already validated by
// ReadManifest) and counts what Stat reports.
func inspect(dir string, m *Manifest, o inspectOptions) *inspection {
	if o.ctx == nil {
		o.ctx = context.Background()
	}
	in := &inspection{ctx: o.ctx}
	manPath := filepath.Join(dir, manifestName)
	if fi, err := os.Stat(manPath); err == nil {
		in.bytes += fi.Size()
	}
	keys := map[string]string{} // key → the table holding it
	for _, p := range m.Chunks {
		if o.ctx.Err() != nil {
			return in
		}
		for _, f := range []string{p.Chunk, p.Table} {
			if n := fileNumber(f); n >= m.NextFile {
				in.add(manPath, fmt.Errorf("next_file %d is not above %s: a writer would reuse its number", m.NextFile, f))
			}
			if fi, err := os.Stat(filepath.Join(dir, f)); err == nil {
				in.bytes += fi.Size()
			}
		}
		chunkPath, tablePath := filepath.Join(dir, p.Chunk), filepath.Join(dir, p.Table)
		chunkOK := true
		if err := statChunk(dir, m, p); err != nil {
			in.add(chunkPath, err)
			chunkOK = false
		}
		rows, err := readTable(dir, p)
		if err != nil {
			in.add(tablePath, err)
		}
		for i := range rows {
			r := &rows[i]
			if r.Text != nil {
				in.texts++
			}
			if !o.keys {
				continue
			}
			k := r.key()
			if other, dup := keys[k]; dup {
				in.add(tablePath, fmt.Errorf("%s is also live in %s", r.item().name(), other))
				continue
			}
			keys[k] = p.Table
		}
		if !o.deep {
			continue
		}
		if p.TableSHA256 != "" && err == nil {
			in.checkHash(tablePath, p.TableSHA256)
		}
		switch {
		case !chunkOK:
		case p.SHA256 != "":
			in.checkHash(chunkPath, p.SHA256)
		case err == nil:
			in.scanned++
			if err := scanVectors(o.ctx, chunkPath, m, p, rows); err != nil && o.ctx.Err() == nil {
				in.add(chunkPath, err)
			}
		}
	}
	return in
}

// checkHash compares a file's SHA-256 with the recorded one.
func (in *inspection) checkHash(path, want string) {
	in.hashed++
	f, _, err := openRegular(path)
	if err != nil {
		in.add(path, withoutPath(err))
		return
	}
	defer f.Close()
	got, err := hashSHA256(in.ctx, f)
	if err != nil {
		if in.ctx.Err() == nil {
			in.add(path, withoutPath(err))
		}
		return
	}
	if got != want {
		in.add(path, fmt.Errorf("SHA-256 %s, the manifest records %s: the file changed after it was written", got, want))
	}
}

// Unit vectors read back from a chunk are within these of norm 1
// (float16 keeps 11 significant bits).
const (
	normTolFloat32 = 1e-3
	normTolFloat16 = 4e-3
)

// scanVectors checks that the live rows of a chunk (whose header statChunk
// accepted) are finite unit vectors.
func scanVectors(ctx context.Context, path string, m *Manifest, p Pair, rows []tableRow) error {
	data, err := mapFile(path)
	if err != nil {
		return withoutPath(err)
	}
	defer unix.Munmap(data)
	info, err := checkChunk(data, int64(len(data)), m, p)
	if err != nil {
		return err
	}
	c := &chunk{pair: p, mapped: data}
	c.view(info)
	tol := normTolFloat32
	if m.DType == DTypeFloat16 {
		tol = normTolFloat16
	}
	vec := make([]float32, m.Dim)
	bad, first := 0, ""
	for i := range rows {
		if i%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		r := int(rows[i].Row)
		var ss float64
		finite := true
		for _, v := range c.vector(r, m.Dim, vec) {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				finite = false
				break
			}
			ss += float64(v) * float64(v)
		}
		norm := math.Sqrt(ss)
		if finite && math.Abs(norm-1) <= tol {
			continue
		}
		if bad++; bad == 1 {
			if finite {
				first = fmt.Sprintf("row %d has norm %.4g", r, norm)
			} else {
				first = fmt.Sprintf("row %d is not finite", r)
			}
		}
	}
	if bad > 0 {
		return fmt.Errorf("%d live rows are not finite unit vectors (first: %s)", bad, first)
	}
	return nil
}
