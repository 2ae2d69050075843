package hub

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fashionclip/fashionclip/internal/hub/hubtest"
)

const childEnv = "FASHIONCLIP_HUB_TEST_CHILD"

// TestHelperPullProcess is not a test: TestConcurrentPulls runs the test
// binary again with this one selected to get a second process.
func TestHelperPullProcess(t *testing.T) {
	if os.Getenv(childEnv) != "1" {
		t.Skip("helper process for TestConcurrentPulls")
	}
	c := NewClient(NewConfig(os.Getenv, false))
	c.RetryWait = time.Millisecond
	if _, err := c.Pull(context.Background(), mustRef(t, "acme/clip"), PullOptions{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
}

func TestConcurrentPulls(t *testing.T) {
	tests := []struct {
		name      string
		processes bool
		n         int
	}{
		{"goroutines", false, 4},
		{"processes", true, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.processes && testing.Short() {
				t.Skip("re-executes the test binary")
			}
			repo := combinedRepo("acme/clip")
			srv := hubtest.NewServer(t, repo)
			srv.SlowBodies(time.Millisecond) // the pulls overlap
			cache := t.TempDir()
			var wg sync.WaitGroup
			errs := make([]error, tt.n)
			for i := 0; i < tt.n; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if !tt.processes {
						_, errs[i] = newTestClient(t, srv, cache, nil).Pull(context.Background(), mustRef(t, "acme/clip"), PullOptions{})
						return
					}
					cmd := exec.Command(os.Args[0], "-test.run=^TestHelperPullProcess$", "-test.count=1")
					cmd.Env = append(os.Environ(), childEnv+"=1", "HF_ENDPOINT="+srv.URL, "HF_HUB_CACHE="+cache,
						"HF_HOME="+filepath.Join(cache, "home"), "HF_TOKEN=", "HF_HUB_OFFLINE=")
					if out, err := cmd.CombinedOutput(); err != nil {
						errs[i] = fmt.Errorf("%v: %s", err, out)
					}
				}()
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			// Each blob crossed the wire once: the lock made the others wait
			// and find it done.
			gets := map[string]int{}
			for _, r := range srv.Requests() {
				if r.Method == "GET" && (r.Server == "cdn" || strings.Contains(r.Path, "/resolve/")) {
					gets[r.Path]++
				}
			}
			for path, n := range gets {
				if n != 1 {
					t.Errorf("%s fetched %d times", path, n)
				}
			}
			if len(gets) == 0 {
				t.Fatal("nothing was fetched")
			}
			snap := filepath.Join(cache, "models--acme--clip", "snapshots", hubtest.CommitFor(repo))
			for _, f := range []string{"onnx/model.onnx", "tokenizer.json"} {
				got, err := os.ReadFile(filepath.Join(snap, f))
				if err != nil || !bytes.Equal(got, repo.Files[f]) {
					t.Errorf("%s wrong after concurrent pulls: %v", f, err)
				}
			}
			if l := leftovers(t, cache); len(l) > 0 {
				t.Errorf("leftovers: %v", l)
			}
		})
	}
}
