package index

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The crash test re-runs this test binary as a child that writes an index
// in an endless loop (these variables tell it so) and kills it with SIGKILL.
const (
	crashDirEnv  = "FASHIONCLIP_INDEX_CRASH_DIR"
	crashSeedEnv = "FASHIONCLIP_INDEX_CRASH_SEED"
	crashItems   = 300
	crashDim     = 16
	crashFinal   = 9 // the version the completing run writes
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		seed, _ := strconv.ParseUint(os.Getenv(crashSeedEnv), 10, 64)
		if err := crashChild(dir, seed); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	code := m.Run()
	removeBenchIndexes()
	os.Exit(code)
}

func crashPath(i int) string { return fmt.Sprintf("shop/%03d.jpg", i) }

// crashChild behaves like repeated incremental runs over a changing folder:
// each pass changes, removes and re-adds random items, committing often.
// After every commit it prints the generation it made durable.
func crashChild(dir string, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 99))
	var reported int64
	report := func(w *Writer) {
		if g := w.Manifest().Generation; g != reported {
			reported = g
			os.Stdout.WriteString("gen " + strconv.FormatInt(g, 10) + "\n")
		}
	}
	for {
		w, err := OpenWriter(dir, Options{Model: testModel, CommitEvery: 1 + rng.IntN(40)})
		if err != nil {
			return err
		}
		report(w)
		for _, i := range rng.Perm(crashItems) {
			key := PathKey(crashPath(i))
			ver := int64(1 + rng.IntN(3))
			if it, ok := w.Lookup(key); ok && it.Size == ver {
				continue
			}
			if rng.IntN(15) == 0 {
				w.Remove(key)
				continue
			}
			if err := w.Add(img(crashPath(i), ver), vecFor(key, ver, crashDim)); err != nil {
				return err
			}
			report(w)
		}
		if err := w.Close(); err != nil {
			return err
		}
		report(w)
	}
}

// checkCommitted opens the index as a reader would after the crash: every
// live item once, each with the vector of the version its row records.
func checkCommitted(t *testing.T, dir string) (items int, gen int64) {
	t.Helper()
	m, err := ReadManifest(dir)
	if errors.Is(err, ErrNotIndex) {
		return 0, -1 // killed before the first commit
	}
	if err != nil {
		t.Fatal(err)
	}
	for k, e := range contents(t, dir) {
		if !slices.Equal(e.vec, vecFor(k, e.it.Size, crashDim)) {
			t.Fatalf("%s: the vector is not the one of version %d", k, e.it.Size)
		}
		items++
	}
	return items, m.Generation
}

func TestCrashSafetyKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("kills child processes for a few seconds")
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(2024, 1))
	const kills = 15
	for round := range kills {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashSeedEnv+"="+strconv.Itoa(round))
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Early kills land before or during the first commit, later ones
		// anywhere in the loop.
		delay := time.Duration(rng.IntN(60)) * time.Millisecond
		if round > 2 {
			delay = time.Duration(50+rng.IntN(400)) * time.Millisecond
		}
		time.Sleep(delay)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("round %d: the child ended by itself (%v):\n%s", round, cmd.ProcessState, stderr.String())
		}
		var lastGen int64 = -1
		for _, l := range strings.Split(stdout.String(), "\n") {
			if g, ok := strings.CutPrefix(l, "gen "); ok {
				lastGen, _ = strconv.ParseInt(g, 10, 64)
			}
		}
		items, gen := checkCommitted(t, dir)
		if gen < lastGen {
			t.Fatalf("round %d: the child reported generation %d durable, the index opens at %d", round, lastGen, gen)
		}
		t.Logf("round %d: killed after %v at generation %d (child reported %d): %d items", round, delay, gen, lastGen, items)
	}

	// A rerun completes the work: every item exactly once, at the final
	// version, and nothing left over from the killed runs.
	w := openW(t, dir, Options{CommitEvery: 50})
	for i := range crashItems {
		key := PathKey(crashPath(i))
		if it, ok := w.Lookup(key); ok && it.Size == crashFinal {
			continue
		}
		if err := w.Add(img(crashPath(i), crashFinal), vecFor(key, crashFinal, crashDim)); err != nil {
			t.Fatal(err)
		}
	}
	mustClose(t, w)
	got := contents(t, dir)
	if len(got) != crashItems {
		t.Fatalf("%d items after the completing run, want %d", len(got), crashItems)
	}
	for i := range crashItems {
		key := PathKey(crashPath(i))
		if e, ok := got[key]; !ok || e.it.Size != crashFinal || !slices.Equal(e.vec, vecFor(key, crashFinal, crashDim)) {
			t.Errorf("%s missing or stale", key)
		}
	}
	onlyCommittedFiles(t, dir)
}
