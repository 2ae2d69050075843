package hub

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fashionclip/fashionclip/internal/hub/hubtest"
)

// inspector records the graphs it is asked about; fail makes it fail.
type inspector struct {
	asked []string
	fail  error
}

func (in *inspector) inspect(path string) ([]IOName, []IOName, error) {
	in.asked = append(in.asked, path)
	if _, err := os.Stat(path); err != nil {
		return nil, nil, fmt.Errorf("asked about a graph that is not on disk: %v", err)
	}
	if in.fail != nil {
		return nil, nil, in.fail
	}
	return []IOName{{Name: "in-" + filepath.Base(path), Type: "int64", Shape: []int64{-1, 77}}},
		[]IOName{{Name: "out", Type: "float32", Shape: []int64{-1, 512}}}, nil
}

func TestDescribe(t *testing.T) {
	clip, split := combinedRepo("acme/clip"), splitRepo("acme/split")
	srv := hubtest.NewServer(t, clip, split)
	moved := combinedRepo("acme/clip")
	moved.Files["onnx/model.onnx"] = blob(77, 1000)
	movedSrv := hubtest.NewServer(t, moved)
	cache := t.TempDir()
	if _, err := newTestClient(t, srv, cache, nil).Pull(context.Background(), mustRef(t, "acme/clip"), PullOptions{}); err != nil {
		t.Fatal(err)
	}
	folder := t.TempDir()
	for name, content := range map[string]string{"model.onnx": "graph", "tokenizer.json": "{}", "notes.txt": "x"} {
		os.WriteFile(filepath.Join(folder, name), []byte(content), 0o644)
	}
	splitFolder := t.TempDir()
	os.MkdirAll(filepath.Join(splitFolder, "onnx"), 0o755)
	for _, name := range []string{"onnx/text_model.onnx", "onnx/vision_model.onnx", "tokenizer.json"} {
		os.WriteFile(filepath.Join(splitFolder, filepath.FromSlash(name)), []byte("x"), 0o644)
	}
	clipCommit, splitCommit := hubtest.CommitFor(clip), hubtest.CommitFor(split)
	clipSnap := filepath.Join(cache, "models--acme--clip", "snapshots", clipCommit)

	type fileWant struct{ needed, cached, lfs bool }
	tests := []struct {
		name    string
		target  string
		variant string
		server  *hubtest.Server // nil: nothing listens
		env     map[string]string
		fail    error // of the inspector
		// wants
		err      []error // the error is each of these
		source   Source
		commit   string
		snapshot string
		layout   *DescribedLayout
		files    map[string]fileWant // a subset of the files
		graphs   []string
		notes    []string // substrings, one per note, in order
		requests int      // -1: any
	}{
		{name: "on the Hub and cached", target: "acme/clip", server: srv, source: SourceHub, commit: clipCommit, snapshot: clipSnap,
			layout: &DescribedLayout{Kind: "combined", Combined: "onnx/model.onnx"},
			files: map[string]fileWant{"onnx/model.onnx": {true, true, true}, "tokenizer.json": {true, true, false},
				"onnx/model_fp16.onnx": {false, false, true}, "pytorch_model.bin": {false, false, true}, "README.md": {false, false, false}},
			graphs: []string{"onnx/model.onnx"}, requests: 1},
		{name: "a variant not pulled", target: "acme/clip", variant: "quantized", server: srv, source: SourceHub, commit: clipCommit, snapshot: clipSnap,
			files: map[string]fileWant{"onnx/model_quantized.onnx": {true, false, true}, "onnx/model.onnx": {false, true, true}},
			notes: []string{"no ONNX graph for variant quantized"}, requests: 1},
		{name: "on the Hub, not cached", target: "acme/split", server: srv, source: SourceHub, commit: splitCommit,
			files:    map[string]fileWant{"onnx/text_model.onnx": {true, false, true}, "onnx/vision_model.onnx": {true, false, true}, "onnx/text_model_fp16.onnx": {false, false, true}},
			requests: 1},
		{name: "the Hub moved on", target: "acme/clip", server: movedSrv, source: SourceHub, commit: hubtest.CommitFor(moved),
			files: map[string]fileWant{"onnx/model.onnx": {true, false, true}},
			notes: []string{"the cache holds commit " + clipCommit[:12] + " of acme/clip; the Hub's is " + hubtest.CommitFor(moved)[:12]}, requests: 1},
		{name: "Hub unreachable: the cache", target: "acme/clip", source: SourceCache, commit: clipCommit, snapshot: clipSnap,
			layout: &DescribedLayout{Kind: "combined", Combined: "onnx/model.onnx"},
			files:  map[string]fileWant{"onnx/model.onnx": {true, true, true}, "vocab.json": {true, true, false}},
			graphs: []string{"onnx/model.onnx"}, notes: []string{"cannot reach the Hub at http://127.0.0.1:1"}, requests: -1},
		{name: "offline: the cache, no request", target: "acme/clip@" + clipCommit, server: srv, env: map[string]string{"HF_HUB_OFFLINE": "1"},
			source: SourceCache, commit: clipCommit, snapshot: clipSnap, layout: &DescribedLayout{Kind: "combined", Combined: "onnx/model.onnx"},
			graphs: []string{"onnx/model.onnx"}},
		{name: "Hub unreachable, not cached", target: "acme/split", err: []error{ErrNotCached, ErrUnreachable}, requests: -1},
		{name: "offline, not cached", target: "acme/split", server: srv, env: map[string]string{"HF_HUB_OFFLINE": "1"}, err: []error{ErrNotCached}},
		{name: "no such repo", target: "acme/nope", server: srv, err: []error{ErrNotFound, ErrRepoNotFound}, requests: 1},
		{name: "neither folder nor repo", target: "no-such-folder", server: srv, err: []error{ErrInvalidRef}},
		{name: "a local folder", target: folder, server: srv, source: SourceFolder, snapshot: folder,
			layout: &DescribedLayout{Kind: "combined", Combined: "model.onnx"},
			files:  map[string]fileWant{"model.onnx": {true, true, false}, "tokenizer.json": {true, true, false}, "notes.txt": {false, true, false}},
			graphs: []string{"model.onnx"}},
		{name: "no runtime: noted once", target: splitFolder, server: srv, fail: fmt.Errorf("%w: ONNX Runtime not found", ErrInspectUnavailable),
			source: SourceFolder, snapshot: splitFolder, layout: &DescribedLayout{Kind: "split", Text: "onnx/text_model.onnx", Vision: "onnx/vision_model.onnx"},
			notes: []string{"graph inputs/outputs not shown: ONNX Runtime not found"}},
		{name: "a folder without graphs: one note", target: splitFolder, variant: "fp16", server: srv, source: SourceFolder, snapshot: splitFolder,
			files: map[string]fileWant{"onnx/text_model.onnx": {false, true, false}},
			notes: []string{`no ONNX graph for variant "fp16"`}},
		{name: "a split folder", target: splitFolder, server: srv,
			source: SourceFolder, snapshot: splitFolder, layout: &DescribedLayout{Kind: "split", Text: "onnx/text_model.onnx", Vision: "onnx/vision_model.onnx"},
			graphs: []string{"onnx/text_model.onnx", "onnx/vision_model.onnx"}},
		{name: "a graph that cannot be read", target: folder, server: srv, fail: errors.New("protobuf: bad wire type"),
			source: SourceFolder, snapshot: folder, layout: &DescribedLayout{Kind: "combined", Combined: "model.onnx"},
			notes: []string{"model.onnx: cannot read the graph's inputs/outputs: protobuf: bad wire type"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, s := range []*hubtest.Server{srv, movedSrv} {
				s.Reset()
			}
			c := newTestClient(t, tt.server, cache, tt.env)
			in := &inspector{fail: tt.fail}
			d, err := c.Describe(context.Background(), tt.target, DescribeOptions{Variant: tt.variant, Inspect: in.inspect})
			if tt.server != nil && tt.requests >= 0 && tt.server.Count() != tt.requests {
				t.Errorf("%d requests, want %d", tt.server.Count(), tt.requests)
			}
			if tt.err != nil {
				for _, kind := range tt.err {
					if !errors.Is(err, kind) {
						t.Errorf("err = %v, want %v", err, kind)
					}
				}
				noAdvice(t, err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.Source != tt.source || d.Commit != tt.commit || d.Snapshot != tt.snapshot {
				t.Errorf("source %s, commit %s, snapshot %s; want %s, %s, %s", d.Source, d.Commit, d.Snapshot, tt.source, tt.commit, tt.snapshot)
			}
			if want := cmpLayout(tt.layout); cmpLayout(d.Layout) != want {
				t.Errorf("layout %s, want %s", cmpLayout(d.Layout), want)
			}
			if want := "fp32"; tt.variant == "" && d.Variant != want {
				t.Errorf("variant %q, want %q", d.Variant, want)
			}
			byPath := map[string]DescribedFile{}
			for _, f := range d.Files {
				byPath[f.Path] = f
				if f.LFS != (f.SHA256 != "") || (f.Cached && f.Size < 0) {
					t.Errorf("file %+v", f)
				}
			}
			for p, w := range tt.files {
				f, ok := byPath[p]
				if !ok || f.Needed != w.needed || f.Cached != w.cached || f.LFS != w.lfs {
					t.Errorf("%s: %+v (listed %v), want needed %v cached %v lfs %v", p, f, ok, w.needed, w.cached, w.lfs)
				}
			}
			if f, ok := byPath["onnx/model.onnx"]; ok && tt.source != SourceFolder && f.LFS && f.SHA256 != hubtest.SHA256(clip.Files["onnx/model.onnx"]) && tt.server != movedSrv {
				t.Errorf("onnx/model.onnx sha256 %s", f.SHA256)
			}
			var graphs []string
			for _, g := range d.Graphs {
				graphs = append(graphs, g.Path)
				if len(g.Inputs) != 1 || g.Inputs[0].Name != "in-"+filepath.Base(g.Path) || len(g.Outputs) != 1 {
					t.Errorf("graph %+v", g)
				}
			}
			if !slices.Equal(graphs, tt.graphs) {
				t.Errorf("graphs %v, want %v", graphs, tt.graphs)
			}
			if wantAsked := len(tt.graphs); tt.fail != nil && errors.Is(tt.fail, ErrInspectUnavailable) {
				if len(in.asked) != 1 {
					t.Errorf("inspector asked %d times after it said it cannot work, want once", len(in.asked))
				}
			} else if tt.fail == nil && len(in.asked) != wantAsked {
				t.Errorf("inspector asked about %v, want %d graphs", in.asked, wantAsked)
			}
			if len(d.Notes) != len(tt.notes) {
				t.Fatalf("notes %q, want %d like %q", d.Notes, len(tt.notes), tt.notes)
			}
			for i, n := range tt.notes {
				if !strings.Contains(d.Notes[i], n) {
					t.Errorf("note %q lacks %q", d.Notes[i], n)
				}
				noAdvice(t, errors.New(d.Notes[i]))
			}
		})
	}
}

func cmpLayout(l *DescribedLayout) string {
	if l == nil {
		return "none"
	}
	return fmt.Sprintf("%+v", *l)
}
