package export

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/parquet-go/parquet-go"

	"github.com/fashionclip/fashionclip/internal/index"
	"github.com/fashionclip/fashionclip/pkg/npy"
)

// clip-retrieval's layout, which autofaiss and clip-retrieval's back end
// read:
//
//	OUT/img_emb/img_emb_N.npy          images, float32 [n, d]
//	OUT/text_emb/text_emb_N.npy        texts
//	OUT/metadata/metadata_N.parquet    image_path (and id), row i = row i of img_emb_N
//
// clip-retrieval pairs row i of img_emb_N and text_emb_N with row i of
// metadata_N (an image and its caption). Our texts are not captions of
// our images, so when an export has both, the texts' metadata goes to
// OUT/text_metadata/text_metadata_N.parquet (caption, id); an export of
// texts alone uses metadata/metadata_N.parquet with a caption column.

type imageMeta struct {
	ImagePath string `parquet:"image_path"`
	ID        string `parquet:"id"`
}

type textMeta struct {
	Caption string `parquet:"caption"`
	ID      string `parquet:"id"`
}

// npyPart is the open part of one kind.
type npyPart struct {
	kind      string // "img" or "text"
	embDir    string
	metaDir   string
	metaName  string
	n         int // parts finished
	rows      int // rows in the open part
	fh        *os.File
	reserved  int // header bytes reserved at the start of fh
	meta      *os.File
	imageMeta *parquet.GenericWriter[imageMeta]
	textMeta  *parquet.GenericWriter[textMeta]
}

func exportNpy(ctx context.Context, src *source, o Options) (Stats, error) {
	var st Stats
	// Count the kinds first: the folders depend on them.
	images, texts := 0, 0
	if err := src.eachBatch(ctx, true, func(_ int, b *index.Batch) error {
		for _, it := range b.Items {
			if it.IsText {
				texts++
			} else {
				images++
			}
		}
		return nil
	}); err != nil {
		return st, err
	}
	for _, d := range []string{"img_emb", "text_emb", "metadata", "text_metadata"} {
		if err := prepareDir(filepath.Join(o.Out, d), o.Force, "*_emb_*.npy*", "*metadata_*.parquet*"); err != nil {
			return st, err
		}
	}
	descr := npy.Float32
	if o.DType == index.DTypeFloat16 {
		descr = npy.Float16
	}
	img := &npyPart{kind: "img", embDir: filepath.Join(o.Out, "img_emb"), metaDir: filepath.Join(o.Out, "metadata"), metaName: "metadata"}
	txt := &npyPart{kind: "text", embDir: filepath.Join(o.Out, "text_emb"), metaDir: filepath.Join(o.Out, "metadata"), metaName: "metadata"}
	if images > 0 {
		txt.metaDir, txt.metaName = filepath.Join(o.Out, "text_metadata"), "text_metadata"
	}
	var done []string
	var open []*os.File
	metaQ := newMetaQueue()
	defer metaQ.stop()
	fail := func(err error) (Stats, error) {
		metaQ.stop() // no write runs while the files go
		for _, f := range open {
			f.Close()
			os.Remove(f.Name())
		}
		for _, p := range done {
			os.Remove(p)
		}
		return Stats{}, err
	}
	maxHeader, err := npy.EncodeHeader(descr, 1<<50, src.dim)
	if err != nil {
		return fail(err)
	}
	start := func(p *npyPart) error {
		var err error
		p.fh, err = os.Create(filepath.Join(p.embDir, fmt.Sprintf("%s_emb_%d.npy.tmp", p.kind, p.n)))
		if err != nil {
			return err
		}
		open = append(open, p.fh)
		p.reserved = len(maxHeader)
		if _, err := p.fh.Write(make([]byte, p.reserved)); err != nil {
			return err
		}
		p.meta, err = os.Create(filepath.Join(p.metaDir, fmt.Sprintf("%s_%d.parquet.tmp", p.metaName, p.n)))
		if err != nil {
			return err
		}
		open = append(open, p.meta)
		kv := []parquet.WriterOption{parquet.Compression(&parquet.Zstd)}
		for _, m := range src.metadata(o) {
			kv = append(kv, parquet.KeyValueMetadata(m[0], m[1]))
		}
		if p.kind == "img" {
			p.imageMeta = parquet.NewGenericWriter[imageMeta](p.meta, kv...)
		} else {
			p.textMeta = parquet.NewGenericWriter[textMeta](p.meta, kv...)
		}
		p.rows = 0
		return nil
	}
	finish := func(p *npyPart) error {
		if p.fh == nil {
			return nil
		}
		h, err := npy.EncodeHeader(descr, p.rows, src.dim)
		if err != nil {
			return err
		}
		if len(h) > p.reserved {
			return fmt.Errorf("internal error: .npy header of %d bytes in %d", len(h), p.reserved)
		}
		// Pad the real header to the reserved size: spaces before its
		// final newline, as numpy itself pads.
		padded := append(append([]byte{}, h[:len(h)-1]...), make([]byte, p.reserved-len(h))...)
		for i := len(h) - 1; i < len(padded); i++ {
			padded[i] = ' '
		}
		padded = append(padded, '\n')
		hlen := p.reserved - 10 // magic (6), version (2), length (2)
		padded[8], padded[9] = byte(hlen), byte(hlen>>8)
		if _, err := p.fh.WriteAt(padded, 0); err != nil {
			return err
		}
		imageMeta, textMeta := p.imageMeta, p.textMeta
		if err := metaQ.sync(func() error {
			if imageMeta != nil {
				return imageMeta.Close()
			}
			return textMeta.Close()
		}); err != nil {
			return err
		}
		for _, f := range []*os.File{p.fh, p.meta} {
			if err := f.Close(); err != nil {
				return err
			}
			final := f.Name()[:len(f.Name())-len(".tmp")]
			if err := os.Rename(f.Name(), final); err != nil {
				return err
			}
			done = append(done, final)
		}
		open = slices.DeleteFunc(open, func(f *os.File) bool { return f == p.fh || f == p.meta })
		p.fh, p.meta, p.imageMeta, p.textMeta = nil, nil, nil, nil
		p.n++
		return nil
	}
	var refs []index.Ref
	var buf []byte
	err = src.eachBatch(ctx, true, func(input int, b *index.Batch) error {
		for i := 0; i < len(b.Items); {
			p := img
			if b.Items[i].IsText {
				p = txt
			}
			if p.fh == nil {
				if err := start(p); err != nil {
					return err
				}
			}
			// A run of one kind, within the part.
			j := i
			refs = refs[:0]
			var texts []textMeta
			var images []imageMeta
			for j < len(b.Items) && b.Items[j].IsText == b.Items[i].IsText && p.rows+(j-i) < o.PartRows {
				it := b.Items[j]
				if it.IsText {
					texts = append(texts, textMeta{Caption: it.Text, ID: index.ItemID(it)})
				} else {
					images = append(images, imageMeta{ImagePath: it.Path, ID: index.ItemID(it)})
				}
				refs = append(refs, b.Refs[j])
				st.count(it)
				j++
			}
			// One Write per row, as before: the writer's pages, and so
			// the file's bytes, depend on how rows arrive.
			imageW, textW := p.imageMeta, p.textMeta
			metaQ.do(func() error {
				for k := range texts {
					if _, err := textW.Write(texts[k : k+1]); err != nil {
						return err
					}
				}
				for k := range images {
					if _, err := imageW.Write(images[k : k+1]); err != nil {
						return err
					}
				}
				return nil
			})
			ix := src.ixs[input]
			data, view, err := ix.VectorBytes(refs, o.DType, buf)
			if err != nil {
				return err
			}
			if !view {
				buf = data
			}
			if _, err := p.fh.Write(data); err != nil {
				return err
			}
			if view {
				ix.DropPages(refs) // written: out of our resident set
			}
			p.rows += j - i
			if p.rows == o.PartRows {
				if err := finish(p); err != nil {
					return err
				}
			}
			i = j
		}
		if o.Progress != nil {
			o.Progress.Add(len(b.Items))
		}
		return nil
	})
	if err == nil {
		err = finish(img)
	}
	if err == nil {
		err = finish(txt)
	}
	if err != nil {
		return fail(err)
	}
	st.Files = done
	return st, nil
}

// metaQueue runs the metadata tables' writes in order on a goroutine of
// their own, while the vectors are written on the caller's: parquet-go's
// row writer and its zstd take as long as the rest of the export.
type metaQueue struct {
	ops  chan metaOp
	done chan struct{}
	once sync.Once
	err  error // the first failure; owned by the queue's goroutine
}

type metaOp struct {
	fn    func() error
	reply chan error // set for sync
}

func newMetaQueue() *metaQueue {
	q := &metaQueue{ops: make(chan metaOp, 8), done: make(chan struct{})}
	go func() {
		defer close(q.done)
		for op := range q.ops {
			if q.err == nil {
				q.err = op.fn()
			}
			if op.reply != nil {
				op.reply <- q.err
			}
		}
	}()
	return q
}

// do queues fn; a failure shows at the next sync.
func (q *metaQueue) do(fn func() error) { q.ops <- metaOp{fn: fn} }

// sync runs fn after everything queued and returns the first failure.
func (q *metaQueue) sync(fn func() error) error {
	reply := make(chan error, 1)
	q.ops <- metaOp{fn: fn, reply: reply}
	return <-reply
}

// stop waits for the queued writes to end.
func (q *metaQueue) stop() {
	q.once.Do(func() { close(q.ops) })
	<-q.done
}
