package cli

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fashionclip/fashionclip/internal/cmdutil"
	"github.com/fashionclip/fashionclip/internal/hub"
	"github.com/fashionclip/fashionclip/internal/hub/hubtest"
	"github.com/fashionclip/fashionclip/internal/synth"
	"github.com/fashionclip/fashionclip/internal/testutil"
	"github.com/fashionclip/fashionclip/pkg/fashionclip"
)

// fakeModelRepo has the files a pull takes, with made-up graph bytes.
func fakeModelRepo(id string) hubtest.Repo {
	return hubtest.Repo{ID: id, Files: map[string][]byte{
		"config.json":               []byte(`{"model_type":"clip"}`),
		"tokenizer.json":            []byte(`{"model":{"type":"BPE"}}`),
		"onnx/model.onnx":           []byte("not really a graph, but 64 bytes long......................."),
		"onnx/model_quantized.onnx": []byte("quantized"),
		"README.md":                 []byte("# fake\n"),
	}}
}

// synthRepo serves the project's synthetic split model as a Hub repo.
func synthRepo(t *testing.T, id string) hubtest.Repo {
	t.Helper()
	dir := t.TempDir()
	if err := synth.WriteSplit(dir, synth.Tiny()); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			files[filepath.ToSlash(rel)], _ = os.ReadFile(p)
		}
		return nil
	})
	return hubtest.Repo{ID: id, Files: files}
}

func TestModelCommands(t *testing.T) {
	repo := fakeModelRepo("acme/clip")
	srv := hubtest.NewServer(t, repo)
	cache := t.TempDir()
	env := srv.Env(cache)
	snapDir := filepath.Join(cache, "models--acme--clip", "snapshots", hubtest.CommitFor(repo))
	steps := []struct {
		name   string
		args   []string
		code   int
		stdout string   // exact, when set
		stderr []string // substrings
		check  func(t *testing.T, stdout string)
	}{
		{name: "path before pull", args: []string{"model", "path", "acme/clip"}, code: 1,
			stderr: []string{"not in the Hugging Face cache", "fashionclip model pull acme/clip"}},
		{name: "pull", args: []string{"model", "pull", "acme/clip"}, stdout: snapDir + "\n",
			stderr: []string{"pulled acme/clip", "3 files"}},
		{name: "pull again is up to date", args: []string{"model", "pull", "acme/clip"}, stdout: snapDir + "\n",
			stderr: []string{"up to date"}},
		{name: "path", args: []string{"model", "path", "acme/clip"}, stdout: snapDir + "\n"},
		{name: "path of a variant not pulled", args: []string{"model", "path", "acme/clip", "--variant", "quantized"}, code: 1,
			stderr: []string{"onnx/model_quantized.onnx", "--variant quantized"}},
		{name: "list json", args: []string{"model", "list", "--format", "json"}, check: func(t *testing.T, out string) {
			var repos []hub.CachedRepo
			if err := json.Unmarshal([]byte(out), &repos); err != nil {
				t.Fatalf("%v in %q", err, out)
			}
			if len(repos) != 1 || repos[0].Repo != "acme/clip" || repos[0].Refs["main"] != hubtest.CommitFor(repo) ||
				len(repos[0].Snapshots) != 1 || repos[0].Size != int64(len(repo.Files["config.json"])+len(repo.Files["tokenizer.json"])+len(repo.Files["onnx/model.onnx"])) {
				t.Errorf("list = %+v", repos)
			}
		}},
		{name: "list table", args: []string{"model", "list", "--format", "table"}, check: func(t *testing.T, out string) {
			if !strings.Contains(out, "acme/clip") || !strings.Contains(out, "main="+hubtest.CommitFor(repo)[:12]) {
				t.Errorf("table = %q", out)
			}
		}},
		{name: "info json from the Hub", args: []string{"model", "info", "acme/clip", "--format", "json"}, check: func(t *testing.T, out string) {
			info := decodeInfo(t, out)
			if info.Source != "hub" || info.Snapshot != snapDir || info.Layout == nil || info.Layout.Combined != "onnx/model.onnx" {
				t.Errorf("info = %+v", info)
			}
			want := map[string][2]bool{ // needed, cached
				"config.json": {true, true}, "tokenizer.json": {true, true}, "onnx/model.onnx": {true, true},
				"onnx/model_quantized.onnx": {false, false}, "README.md": {false, false},
			}
			if len(info.Files) != len(want) {
				t.Errorf("files = %+v", info.Files)
			}
			for _, f := range info.Files {
				if w := want[f.Path]; f.Needed != w[0] || f.Cached != w[1] || f.Size != int64(len(repo.Files[f.Path])) {
					t.Errorf("%+v, want needed/cached %v", f, w)
				}
			}
		}},
		{name: "info offline from the cache", args: []string{"--offline", "model", "info", "acme/clip", "--format", "json"}, check: func(t *testing.T, out string) {
			if info := decodeInfo(t, out); info.Source != "cache" || len(info.Files) != 3 || info.Commit != hubtest.CommitFor(repo) {
				t.Errorf("info = %+v", info)
			}
		}},
		{name: "info of a folder", args: []string{"model", "info", snapDir, "--format", "json"}, check: func(t *testing.T, out string) {
			if info := decodeInfo(t, out); info.Source != "folder" || info.Layout == nil || info.Layout.Kind != "combined" {
				t.Errorf("info = %+v", info)
			}
		}},
		{name: "rm", args: []string{"model", "rm", "acme/clip"}, stderr: []string{"removed acme/clip"}},
		{name: "path after rm", args: []string{"model", "path", "acme/clip"}, code: 1},
		{name: "rm again", args: []string{"model", "rm", "acme/clip"}, code: 1, stderr: []string{"not in the Hugging Face cache"}},
		{name: "list empty", args: []string{"model", "list", "--format", "json"}, stdout: "[\n]\n"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			res := runCLI(t, false, "", env, st.args...)
			if res.code != st.code {
				t.Fatalf("exit %d, want %d; stderr: %s", res.code, st.code, res.stderr)
			}
			if st.stdout != "" && res.stdout != st.stdout {
				t.Errorf("stdout %q, want %q", res.stdout, st.stdout)
			}
			for _, s := range st.stderr {
				if !strings.Contains(res.stderr, s) {
					t.Errorf("stderr %q lacks %q", res.stderr, s)
				}
			}
			if st.check != nil {
				st.check(t, res.stdout)
			}
		})
	}
}

func decodeInfo(t *testing.T, out string) hub.Description {
	t.Helper()
	var info hub.Description
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	return info
}

func TestModelUsageErrors(t *testing.T) {
	env := map[string]string{"HF_HUB_CACHE": t.TempDir(), "HF_ENDPOINT": "http://127.0.0.1:1"}
	tests := [][]string{
		{"model", "pull", "not-a-repo"},
		{"model", "pull", "acme/clip", "--variant", "int3"},
		{"model", "pull", "a/b", "c/d"},
		{"model", "list", "--format", "csv"},
		{"model", "info", "no/such@"},
		{"model", "rm"},
		{"model", "path", "../x"},
		{"runtime", "install", "--sha256", "abc"},
		{"runtime", "info", "--format", "xml"},
	}
	for _, args := range tests {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			if res := runCLI(t, false, "", env, args...); res.code != cmdutil.ExitUsage {
				t.Errorf("exit %d, want %d; stderr: %s", res.code, cmdutil.ExitUsage, res.stderr)
			}
		})
	}
}

// --model owner/name on any command pulls on first use, then runs from the
// cache without network; offline with an empty cache fails clearly.
func TestModelFlagPullsOnFirstUse(t *testing.T) {
	repo := synthRepo(t, "acme/tiny")
	srv := hubtest.NewServer(t, repo)
	cache := t.TempDir()
	env := srv.Env(cache)

	first := runCLI(t, false, "", env, "tokenize", "--model", "acme/tiny", "a red dress")
	if first.code != 0 {
		t.Fatalf("exit %d: %s", first.code, first.stderr)
	}
	if !strings.Contains(first.stderr, "downloaded acme/tiny") {
		t.Errorf("stderr %q does not tell about the download", first.stderr)
	}
	srv.Reset()
	second := runCLI(t, false, "", env, "tokenize", "--model", "acme/tiny", "a red dress")
	if second.code != 0 || second.stdout != first.stdout || srv.Count() != 0 {
		t.Errorf("second run: exit %d, %d requests, stdout %q vs %q", second.code, srv.Count(), second.stdout, first.stdout)
	}
	local := runCLI(t, false, "", env, "tokenize", "--model", filepath.Join(cache, "models--acme--tiny", "snapshots", hubtest.CommitFor(repo)), "a red dress")
	if local.stdout != first.stdout {
		t.Errorf("pulled model tokenizes differently from its folder: %q vs %q", first.stdout, local.stdout)
	}

	offline := srv.Env(t.TempDir())
	offline["HF_HUB_OFFLINE"] = "1"
	res := runCLI(t, false, "", offline, "tokenize", "--model", "acme/tiny", "x")
	if res.code != cmdutil.ExitFatal || !strings.Contains(res.stderr, "fashionclip model pull acme/tiny") {
		t.Errorf("offline, empty cache: exit %d, stderr %q", res.code, res.stderr)
	}

	// The library's own resolution, which every command's --model goes through.
	src, err := fashionclip.Resolve(context.Background(), "acme/tiny", "", fashionclip.HubOptions{Getenv: func(k string) string { return env[k] }}, nil)
	if err != nil || !strings.HasPrefix(src.Dir, cache) || src.Commit != hubtest.CommitFor(repo) {
		t.Errorf("Resolve = %+v, %v", src, err)
	}
}

func TestModelInfoShowsGraphIO(t *testing.T) {
	testutil.ORTLibrary(t)
	repo := synthRepo(t, "acme/tiny")
	srv := hubtest.NewServer(t, repo)
	env := srv.Env(t.TempDir())
	env["FASHIONCLIP_ORT_LIB"] = os.Getenv("FASHIONCLIP_ORT_LIB")
	if res := runCLI(t, false, "", env, "model", "pull", "acme/tiny"); res.code != 0 {
		t.Fatalf("pull: %s", res.stderr)
	}
	res := runCLI(t, false, "", env, "model", "info", "acme/tiny", "--format", "json")
	if res.code != 0 {
		t.Fatalf("info: %s", res.stderr)
	}
	info := decodeInfo(t, res.stdout)
	if info.Layout == nil || info.Layout.Kind != "split" || len(info.Graphs) != 2 {
		t.Fatalf("info = %+v", info)
	}
	for _, g := range info.Graphs {
		if len(g.Inputs) == 0 || len(g.Outputs) == 0 || g.Inputs[0].Name == "" {
			t.Errorf("graph %s: inputs %v outputs %v", g.Path, g.Inputs, g.Outputs)
		}
	}
	table := runCLI(t, false, "", env, "model", "info", "acme/tiny", "--format", "table")
	if !strings.Contains(table.stdout, "layout:    split: onnx/text_model.onnx + onnx/vision_model.onnx") || !strings.Contains(table.stdout, "input") {
		t.Errorf("table output:\n%s", table.stdout)
	}
}

func TestModelRuntimeHelp(t *testing.T) {
	for _, args := range [][]string{
		{"model"}, {"model", "pull"}, {"model", "list"}, {"model", "info"}, {"model", "rm"}, {"model", "path"},
		{"runtime"}, {"runtime", "install"}, {"runtime", "info"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := runCLI(t, false, "", nil, append(args, "--help")...)
			if r.code != 0 || !strings.Contains(r.stdout, "EXIT STATUS") || !strings.Contains(r.stdout, "Examples:") {
				t.Errorf("help lacks EXIT STATUS or Examples:\n%s", r.stdout)
			}
		})
	}
}
