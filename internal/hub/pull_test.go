package hub

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fashionclip/fashionclip/internal/hub/hubtest"
)

func TestPullFreshLayoutMatchesHuggingfaceHub(t *testing.T) {
	repo := combinedRepo("acme/clip")
	srv := hubtest.NewServer(t, repo)
	cache := t.TempDir()
	c := newTestClient(t, srv, cache, map[string]string{"HF_TOKEN": srv.Token})

	snap, err := c.Pull(context.Background(), mustRef(t, "acme/clip"), PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	commit := hubtest.CommitFor(repo)
	repoDir := filepath.Join(cache, "models--acme--clip")
	if snap.Commit != commit || snap.Dir != filepath.Join(repoDir, "snapshots", commit) || !snap.Network {
		t.Fatalf("snapshot = %+v, want commit %s in %s", snap, commit, repoDir)
	}
	wantFiles := []string{"config.json", "merges.txt", "onnx/model.onnx", "preprocessor_config.json",
		"special_tokens_map.json", "tokenizer.json", "tokenizer_config.json", "vocab.json"}
	if !slices.Equal(snap.Files, wantFiles) || !slices.Equal(snap.Fetched, wantFiles) {
		t.Fatalf("files = %v, fetched = %v, want %v", snap.Files, snap.Fetched, wantFiles)
	}
	if snap.Layout != "combined" || !slices.Equal(snap.Graphs, []string{"onnx/model.onnx"}) {
		t.Errorf("layout %s %v", snap.Layout, snap.Graphs)
	}
	// refs/main holds the bare hash, as huggingface_hub writes and reads it.
	if b, err := os.ReadFile(filepath.Join(repoDir, "refs", "main")); err != nil || string(b) != commit {
		t.Errorf("refs/main = %q, %v; want %q", b, err, commit)
	}
	for _, f := range wantFiles {
		pointer := filepath.Join(snap.Dir, filepath.FromSlash(f))
		target, err := os.Readlink(pointer)
		if err != nil {
			t.Fatalf("%s is not a symlink: %v", f, err)
		}
		wantTarget := strings.Repeat("../", 2+strings.Count(f, "/")) + "blobs/" + repo.ETag(f)
		if target != wantTarget {
			t.Errorf("%s -> %s, want %s", f, target, wantTarget)
		}
		got, err := os.ReadFile(pointer)
		if err != nil || !bytes.Equal(got, repo.Files[f]) {
			t.Errorf("%s content differs (%v)", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(cache, ".locks", "models--acme--clip", repo.ETag("onnx/model.onnx")+".lock")); err != nil {
		t.Errorf("lock file missing: %v", err)
	}
	if l := leftovers(t, cache); len(l) > 0 {
		t.Errorf("leftovers: %v", l)
	}
	var sawHubAuth bool
	for _, r := range srv.Requests() {
		if strings.Contains(r.Path, "pytorch_model") || strings.Contains(r.Path, "_fp16") || strings.Contains(r.Path, "_quantized") {
			t.Errorf("requested a file the model does not need: %s", r.Path)
		}
		if r.Server == "cdn" && r.Auth != "" {
			t.Errorf("token sent to the CDN: %+v", r)
		}
		if r.Server == "hub" && r.Auth == "Bearer "+srv.Token {
			sawHubAuth = true
		}
	}
	if !sawHubAuth {
		t.Error("the token never reached the Hub")
	}
}

func TestPullRerunMakesNoRequests(t *testing.T) {
	srv := hubtest.NewServer(t, combinedRepo("acme/clip"))
	cache := t.TempDir()
	ctx := context.Background()
	ref := mustRef(t, "acme/clip")
	if _, err := newTestClient(t, srv, cache, nil).Pull(ctx, ref, PullOptions{}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		opts         PullOptions
		wantRequests int
	}{
		{"cached ref is trusted", PullOptions{}, 0},
		{"refresh asks the API only", PullOptions{Refresh: true}, 1},
		{"new variant goes online", PullOptions{Variant: "fp16"}, 3}, // API + HEAD + CDN GET
		{"that variant is cached now", PullOptions{Variant: "fp16"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.Reset()
			snap, err := newTestClient(t, srv, cache, nil).Pull(ctx, ref, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if n := srv.Count(); n != tt.wantRequests {
				t.Errorf("%d requests, want %d: %+v", n, tt.wantRequests, srv.Requests())
			}
			if snap.Network != (tt.wantRequests > 0) {
				t.Errorf("Network = %v", snap.Network)
			}
		})
	}
}

func TestPullResumesInterruptedDownload(t *testing.T) {
	const file, cut = "onnx/model.onnx", 100_000
	tests := []struct {
		name     string
		retries  int  // 0: the first pull fails, a second run resumes
		noRanges bool // the server ignores Range: restart from zero
	}{
		{"retried in the same pull", 4, false},
		{"resumed by the next run", 0, false},
		{"server without ranges", 4, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := combinedRepo("acme/clip")
			srv := hubtest.NewServer(t, repo)
			if tt.noRanges {
				srv.DisableRanges()
			}
			cache := t.TempDir()
			srv.TruncateNext(file, cut)
			c := newTestClient(t, srv, cache, nil)
			c.Retries = tt.retries
			ctx := context.Background()
			_, err := c.Pull(ctx, mustRef(t, "acme/clip"), PullOptions{})
			if tt.retries == 0 {
				if err == nil {
					t.Fatal("the interrupted pull succeeded")
				}
				inc := filepath.Join(cache, "models--acme--clip", "blobs", repo.ETag(file)+".incomplete")
				if st, err := os.Stat(inc); err != nil || st.Size() != cut {
					t.Fatalf("partial file: %v, %v", st, err)
				}
				_, err = newTestClient(t, srv, cache, nil).Pull(ctx, mustRef(t, "acme/clip"), PullOptions{})
			}
			if err != nil {
				t.Fatal(err)
			}
			var gets []hubtest.Request
			for _, r := range srv.Requests() {
				if r.Server == "cdn" && r.Method == "GET" && strings.Contains(r.Path, repo.ETag(file)) {
					gets = append(gets, r)
				}
			}
			if len(gets) != 2 || gets[0].Range != "" || gets[1].Range != "bytes=100000-" {
				t.Fatalf("GETs of %s = %+v, want a plain one then Range: bytes=100000-", file, gets)
			}
			want := int64(len(repo.Files[file])) // resumed: each byte once
			if tt.noRanges {
				want += cut // restarted: the cut part twice
			}
			if got := srv.FileBytesServed(file); got != want {
				t.Errorf("served %d bytes of %s, want %d", got, file, want)
			}
			got, _ := os.ReadFile(filepath.Join(cache, "models--acme--clip", "snapshots", hubtest.CommitFor(repo), "onnx", "model.onnx"))
			if !bytes.Equal(got, repo.Files[file]) {
				t.Error("resumed file differs from the original")
			}
		})
	}
}

func TestPullRefusesCorruptBlob(t *testing.T) {
	for _, file := range []string{"onnx/model.onnx", "tokenizer.json"} { // sha256 (LFS) and git sha1
		t.Run(file, func(t *testing.T) {
			repo := combinedRepo("acme/clip")
			srv := hubtest.NewServer(t, repo)
			srv.Corrupt(file)
			cache := t.TempDir()
			_, err := newTestClient(t, srv, cache, nil).Pull(context.Background(), mustRef(t, "acme/clip"), PullOptions{})
			if !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), file) || !strings.Contains(err.Error(), "mismatch") {
				t.Fatalf("err = %v, want a checksum error naming %s", err, file)
			}
			repoDir := filepath.Join(cache, "models--acme--clip")
			blobPath := filepath.Join(repoDir, "blobs", repo.ETag(file))
			for _, p := range []string{blobPath, blobPath + ".incomplete",
				filepath.Join(repoDir, "snapshots", hubtest.CommitFor(repo), filepath.FromSlash(file)),
				filepath.Join(repoDir, "refs", "main")} {
				if _, err := os.Lstat(p); err == nil {
					t.Errorf("%s exists after a checksum failure", p)
				}
			}
		})
	}
}

func TestOffline(t *testing.T) {
	srv := hubtest.NewServer(t, combinedRepo("acme/clip"))
	cache := t.TempDir()
	online := newTestClient(t, srv, cache, nil)
	snap, err := online.Pull(context.Background(), mustRef(t, "acme/clip"), PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		ref     string
		variant string
		cache   string
		wantErr []string // substrings; nil = success
	}{
		{"cached", "acme/clip", "", cache, nil},
		{"by commit hash", "acme/clip@" + snap.Commit, "", cache, nil},
		{"empty cache", "acme/clip", "", t.TempDir(), []string{"acme/clip is not in the Hugging Face cache"}},
		{"unknown revision", "acme/clip@v9", "", cache, []string{"no refs/v9", "cached revisions: main"}},
		{"variant not pulled", "acme/clip", "quantized", cache, []string{"onnx/model_quantized.onnx", "missing the model graphs"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.Reset()
			c := newTestClient(t, srv, tt.cache, map[string]string{"HF_HUB_OFFLINE": "1"})
			got, err := c.Pull(context.Background(), mustRef(t, tt.ref), PullOptions{Variant: tt.variant, Refresh: true})
			if n := srv.Count(); n != 0 {
				t.Errorf("offline pull made %d requests", n)
			}
			if tt.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				if got.Dir != snap.Dir || got.Network {
					t.Errorf("got %+v, want %s", got, snap.Dir)
				}
				return
			}
			if !errors.Is(err, ErrNotCached) {
				t.Fatalf("err = %v, want ErrNotCached", err)
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
			noAdvice(t, err)
			// What a remedy ("pull REF --variant V while online") needs.
			var he *Error
			if !errors.As(err, &he) || he.Ref != mustRef(t, tt.ref) || he.Variant != tt.variant {
				t.Errorf("error fields %+v, want ref %s and variant %q", he, tt.ref, tt.variant)
			}
		})
	}
}

// TestPythonMadeCache builds a cache the way huggingface_hub lays it out and
// checks that it is used with no network at all (nothing listens at the
// endpoint).
func TestPythonMadeCache(t *testing.T) {
	cache := t.TempDir()
	commit := strings.Repeat("ab", 20)
	repoDir := filepath.Join(cache, "models--patrickjohncyh--fashion-clip")
	files := splitRepo("x/y").Files
	for name, content := range files {
		etag := hubtest.GitBlobSHA1(content)
		if strings.HasSuffix(name, ".onnx") {
			etag = hubtest.SHA256(content)
		}
		if err := os.MkdirAll(filepath.Join(repoDir, "blobs"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(repoDir, "blobs", etag), content, 0o644); err != nil {
			t.Fatal(err)
		}
		pointer := filepath.Join(repoDir, "snapshots", commit, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(pointer), 0o755)
		rel := strings.Repeat("../", 2+strings.Count(name, "/")) + "blobs/" + etag
		if err := os.Symlink(rel, pointer); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(filepath.Join(repoDir, "refs"), 0o755)
	os.WriteFile(filepath.Join(repoDir, "refs", "main"), []byte(commit), 0o644)

	for _, variant := range []string{"", "quantized", "fp16"} {
		t.Run("variant "+variant, func(t *testing.T) {
			c := newTestClient(t, nil, cache, nil)
			snap, err := c.Pull(context.Background(), mustRef(t, "patrickjohncyh/fashion-clip"), PullOptions{Variant: variant})
			if err != nil {
				t.Fatal(err)
			}
			if snap.Commit != commit || snap.Layout != "split" || snap.Network {
				t.Errorf("snapshot %+v", snap)
			}
			for _, g := range snap.Graphs {
				got, err := os.ReadFile(filepath.Join(snap.Dir, g))
				if err != nil || !bytes.Equal(got, files[g]) {
					t.Errorf("%s unreadable through the snapshot: %v", g, err)
				}
			}
		})
	}
}

func TestPullSplitLayoutTakesOnlyTheVariant(t *testing.T) {
	tests := []struct {
		variant string
		graphs  []string
	}{
		{"quantized", []string{"onnx/text_model_quantized.onnx", "onnx/vision_model_quantized.onnx"}},
		{"fp16", []string{"onnx/text_model_fp16.onnx", "onnx/vision_model_fp16.onnx"}},
		{"", []string{"onnx/text_model.onnx", "onnx/vision_model.onnx"}},
	}
	for _, tt := range tests {
		t.Run(tt.variant, func(t *testing.T) {
			srv := hubtest.NewServer(t, splitRepo("acme/split"))
			snap, err := newTestClient(t, srv, t.TempDir(), nil).Pull(context.Background(), mustRef(t, "acme/split"), PullOptions{Variant: tt.variant})
			if err != nil {
				t.Fatal(err)
			}
			if snap.Layout != "split" || !slices.Equal(snap.Graphs, tt.graphs) {
				t.Errorf("layout %s %v, want split %v", snap.Layout, snap.Graphs, tt.graphs)
			}
			var onnx []string
			for _, f := range snap.Fetched {
				if strings.HasSuffix(f, ".onnx") {
					onnx = append(onnx, f)
				}
			}
			if !slices.Equal(onnx, tt.graphs) {
				t.Errorf("fetched graphs %v, want %v", onnx, tt.graphs)
			}
			for _, r := range srv.Requests() {
				if strings.HasSuffix(r.Path, ".onnx") && !slices.ContainsFunc(tt.graphs, func(g string) bool { return strings.HasSuffix(r.Path, g) }) {
					t.Errorf("asked for another variant's graph: %s", r.Path)
				}
			}
		})
	}
}

func TestPullErrors(t *testing.T) {
	gated := combinedRepo("acme/gated")
	gated.Gated = true
	srv := hubtest.NewServer(t, gated, splitRepo("acme/split"))
	tests := []struct {
		name      string
		ref       string
		opts      PullOptions
		env       map[string]string
		kinds     []error // the error is each of them
		msg       string
		tokenSent bool
		setup     func(c *Client)
	}{
		{name: "gated without token", ref: "acme/gated", kinds: []error{ErrGated},
			msg: "repo acme/gated is gated or private and no token was sent"},
		{name: "gated with a wrong token", ref: "acme/gated", env: map[string]string{"HF_TOKEN": "hf_other"}, kinds: []error{ErrGated},
			msg: "the token in use has no access", tokenSent: true},
		{name: "missing repo", ref: "acme/nope", kinds: []error{ErrNotFound, ErrRepoNotFound}, msg: "repo acme/nope not found"},
		{name: "missing revision", ref: "acme/split@v2", kinds: []error{ErrNotFound, ErrRevisionNotFound}, msg: `revision "v2" not found in repo acme/split`},
		{name: "variant the repo lacks", ref: "acme/split", opts: PullOptions{Variant: "q4"}, kinds: []error{ErrNoGraph},
			msg: "the repo offers: fp32, fp16, quantized"},
		{name: "no disk space", ref: "acme/split", kinds: []error{ErrDiskSpace}, msg: "not enough free disk space",
			setup: func(c *Client) { c.FreeSpace = func(string) (uint64, error) { return 1000, nil } }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.Reset()
			c := newTestClient(t, srv, t.TempDir(), tt.env)
			if tt.setup != nil {
				tt.setup(c)
			}
			_, err := c.Pull(context.Background(), mustRef(t, tt.ref), tt.opts)
			for _, kind := range tt.kinds {
				if !errors.Is(err, kind) {
					t.Errorf("err = %v, want %v", err, kind)
				}
			}
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err = %v, want a message containing %q", err, tt.msg)
			}
			noAdvice(t, err)
			var he *Error
			if !errors.As(err, &he) || he.Ref != mustRef(t, tt.ref) || he.Variant != tt.opts.Variant || he.TokenSent != tt.tokenSent {
				t.Errorf("error fields %+v, want ref %s, variant %q, token sent %v", he, tt.ref, tt.opts.Variant, tt.tokenSent)
			}
			for _, r := range srv.Requests() {
				if r.Server == "cdn" {
					t.Errorf("downloaded despite the error: %+v", r)
				}
			}
		})
	}
	t.Run("gated with the right token", func(t *testing.T) {
		srv.Reset()
		c := newTestClient(t, srv, t.TempDir(), map[string]string{"HUGGING_FACE_HUB_TOKEN": srv.Token})
		if _, err := c.Pull(context.Background(), mustRef(t, "acme/gated"), PullOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, r := range srv.Requests() {
			if r.Server == "cdn" && r.Auth != "" {
				t.Errorf("token sent to the CDN: %+v", r)
			}
		}
	})
}

func TestPullRefusesEscapingNames(t *testing.T) {
	for _, evil := range []string{"../evil", "onnx/../../evil.onnx", "/etc/evil", `onnx\..\evil.json`} {
		t.Run(evil, func(t *testing.T) {
			repo := combinedRepo("acme/evil")
			repo.Files[evil] = []byte("pwned")
			srv := hubtest.NewServer(t, repo)
			root := t.TempDir()
			cache := filepath.Join(root, "hub")
			_, err := newTestClient(t, srv, cache, nil).Pull(context.Background(), mustRef(t, "acme/evil"), PullOptions{})
			if !errors.Is(err, ErrUnsafePath) {
				t.Fatalf("err = %v, want ErrUnsafePath", err)
			}
			for _, r := range srv.Requests() {
				if r.Method == "GET" && r.Server == "cdn" || strings.Contains(r.Path, "/resolve/") {
					t.Errorf("downloaded from a repo with an unsafe name: %+v", r)
				}
			}
			filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
				if err == nil && strings.Contains(filepath.Base(p), "evil") {
					t.Errorf("%s was written", p)
				}
				return nil
			})
		})
	}
}

func TestPullRefreshFallsBackToCacheWhenHubIsDown(t *testing.T) {
	srv := hubtest.NewServer(t, combinedRepo("acme/clip"))
	cache := t.TempDir()
	if _, err := newTestClient(t, srv, cache, nil).Pull(context.Background(), mustRef(t, "acme/clip"), PullOptions{}); err != nil {
		t.Fatal(err)
	}
	down := newTestClient(t, nil, cache, nil)
	snap, err := down.Pull(context.Background(), mustRef(t, "acme/clip"), PullOptions{Refresh: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Warnings) != 1 || !strings.HasPrefix(snap.Warnings[0], "cannot reach the Hub at http://127.0.0.1:1 (") ||
		!strings.HasSuffix(snap.Warnings[0], "; using cached snapshot "+snap.Commit[:12]) {
		t.Errorf("warnings = %v", snap.Warnings)
	}
	_, err = down.Pull(context.Background(), mustRef(t, "acme/clip"), PullOptions{Variant: "fp16"})
	var he *Error
	if !errors.Is(err, ErrUnreachable) || errors.Is(err, ErrNotCached) || !errors.As(err, &he) || he.Endpoint != "http://127.0.0.1:1" || he.Ref.Repo != "acme/clip" {
		t.Errorf("uncached variant with the Hub down: err = %v (%+v), want ErrUnreachable naming the endpoint and repo", err, he)
	}
	noAdvice(t, err)
}

func TestPullGivesUpOnStalledTransfer(t *testing.T) {
	srv := hubtest.NewServer(t, combinedRepo("acme/clip"))
	srv.SlowBodies(300 * time.Millisecond) // slower than the stall timeout below
	c := newTestClient(t, srv, t.TempDir(), nil)
	c.StallTimeout, c.Retries = 50*time.Millisecond, 1
	start := time.Now()
	_, err := c.Pull(context.Background(), mustRef(t, "acme/clip"), PullOptions{})
	if err == nil || !strings.Contains(err.Error(), "stalled") {
		t.Fatalf("err = %v, want a stall", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v to give up", d)
	}
	// The file that failed first was tried twice (one retry), none more.
	gets := map[string]int{}
	most := 0
	for _, r := range srv.Requests() {
		if r.Method == "GET" {
			gets[r.Path]++
			most = max(most, gets[r.Path])
		}
	}
	if most != 2 {
		t.Errorf("GETs per file %v, want at most 2 and one file retried", gets)
	}
}
