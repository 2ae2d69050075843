package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/fashionclip/fashionclip/internal/testutil"
)

// named is a tokenizer with the loader that made it, for messages.
type named struct {
	name string
	tok  *Tokenizer
}

var (
	realOnce sync.Once
	realToks []named
	realErr  error
)

// realTokenizers loads CLIP's real vocabulary both ways: vocab.json +
// merges.txt, and the transformers.js tokenizer.json. It skips when the
// shared reference kit is absent.
func realTokenizers(t testing.TB) []named {
	t.Helper()
	shared := testutil.SharedDir(t)
	realOnce.Do(func() {
		files, err := FromFiles(filepath.Join(shared, "clip-tokenizer", "vocab.json"), filepath.Join(shared, "clip-tokenizer", "merges.txt"))
		if err != nil {
			realErr = err
			return
		}
		js, err := FromTokenizerJSON(filepath.Join(shared, "reference", "models", "tiny-split", "tokenizer.json"))
		if err != nil {
			realErr = err
			return
		}
		realToks = []named{{"FromFiles", files}, {"FromTokenizerJSON", js}}
	})
	if realErr != nil {
		t.Fatal(realErr)
	}
	return realToks
}

// miniTokenizers loads the hand-written fixture in testdata/mini both ways.
func miniTokenizers(t testing.TB) []named {
	t.Helper()
	files, err := FromFiles("testdata/mini/vocab.json", "testdata/mini/merges.txt")
	if err != nil {
		t.Fatal(err)
	}
	js, err := FromTokenizerJSON("testdata/mini/tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	return []named{{"FromFiles", files}, {"FromTokenizerJSON", js}}
}

// framed puts CLIP's start and end ids around content ids.
func framed(tok *Tokenizer, content ...int64) []int64 {
	return slices.Concat([]int64{tok.StartID()}, content, []int64{tok.EndID()})
}

// idsOf maps vocabulary tokens to ids, failing on a missing token.
func idsOf(t testing.TB, tok *Tokenizer, tokens ...string) []int64 {
	t.Helper()
	ids := make([]int64, len(tokens))
	for i, s := range tokens {
		id, ok := tok.TokenID(s)
		if !ok {
			t.Fatalf("token %q is not in the vocabulary", s)
		}
		ids[i] = id
	}
	return ids
}

// writeByteLevelVocab builds, in a temp dir, a vocabulary holding the full
// byte-level alphabet (each of the 256 byte characters, bare and with
// "</w>"), the two CLIP specials and the result of each merge, and returns
// the paths of its vocab.json and merges.txt.
func writeByteLevelVocab(t testing.TB, merges [][2]string) (vocabPath, mergesPath string) {
	t.Helper()
	vocab := map[string]int{}
	addTok := func(s string) {
		if _, ok := vocab[s]; !ok {
			vocab[s] = len(vocab)
		}
	}
	for _, r := range byteRunes {
		addTok(string(r))
	}
	for _, r := range byteRunes {
		addTok(string(r) + eowSuffix)
	}
	lines := "#version: 0.2\n"
	for _, m := range merges {
		addTok(m[0] + m[1])
		lines += m[0] + " " + m[1] + "\n"
	}
	addTok(startToken)
	addTok(endToken)
	data, err := json.Marshal(vocab)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	vocabPath = filepath.Join(dir, "vocab.json")
	mergesPath = filepath.Join(dir, "merges.txt")
	if err := os.WriteFile(vocabPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mergesPath, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	return vocabPath, mergesPath
}
