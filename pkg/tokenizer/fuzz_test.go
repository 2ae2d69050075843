package tokenizer

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/fashionclip/fashionclip/internal/fuzzseed"
	"github.com/fashionclip/fashionclip/internal/testutil"
)

// fuzzTokenizer is CLIP's real tokenizer when the reference kit is there,
// else the mini fixture, so that fuzzing works in a bare checkout too.
func fuzzTokenizer(t testing.TB) *Tokenizer {
	kit := filepath.Join(filepath.Dir(testutil.ModuleRoot(t)), "shared", "clip-tokenizer")
	if _, err := os.Stat(kit); err == nil {
		return realTokenizers(t)[0].tok
	}
	return miniTokenizers(t)[0].tok
}

var textSeeds = []string{
	"", "a photo of a red dress", "A   PHOTO\tof\n a Dress!!", "don't we'll they're",
	"<|startoftext|>x<|endoftext|>", "<|ENDOFTEXT|>", "12345 67", "ünïcödé Ⅻ ﬁ İstanbul ΣΑΣ",
	"e\u0301\u0323 a\u0308", "\xff\xfe invalid \xc3", "🙂👗👠", strings.Repeat("ab", 50),
}

// checkEncode holds for any text: framed, bounded, and the prefix shortcut
// equal to the whole-text result. The text is repeated past prefixWindow so
// that the shortcut is exercised on every input.
func checkEncode(t *testing.T, tok *Tokenizer, text string) {
	ids := tok.Encode(text)
	if len(ids) < 2 || len(ids) > DefaultMaxLength || ids[0] != tok.StartID() || ids[len(ids)-1] != tok.EndID() {
		t.Fatalf("Encode(%q) = %v", text, ids)
	}
	if text == "" {
		return
	}
	long := strings.Repeat(text, 2*prefixWindow/len(text)+1)
	if got, want := tok.Encode(long), fullEncode(tok, long); !slices.Equal(got, want) {
		t.Fatalf("text %q repeated: Encode = %v, whole text gives %v", text, got, want)
	}
}

// FuzzEncode feeds arbitrary bytes (invalid UTF-8 included).
func FuzzEncode(f *testing.F) {
	for _, s := range textSeeds {
		f.Add([]byte(s))
	}
	tok := fuzzTokenizer(f)
	f.Fuzz(func(t *testing.T, b []byte) { checkEncode(t, tok, string(b)) })
}

// FuzzEncodeUTF8 feeds valid UTF-8 only, where every code path of the
// normaliser and pre-tokeniser is reachable.
func FuzzEncodeUTF8(f *testing.F) {
	for _, s := range textSeeds {
		f.Add(strings.ToValidUTF8(s, "?"))
	}
	tok := fuzzTokenizer(f)
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		checkEncode(t, tok, s)
	})
}

// loaderSeeds are the mini fixture and malformed variants of it.
func loaderSeeds(t testing.TB) (jsons [][]byte, pairs [][2][]byte) {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", "mini", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	js, vocab, merges := read("tokenizer.json"), read("vocab.json"), read("merges.txt")
	jsons = [][]byte{
		js, js[:len(js)/2], []byte(`{"model":{"type":"WordPiece"}}`), []byte(`{"model":{"vocab":{"a":-1}}}`),
		[]byte(`{"model":{"vocab":{"a":0,"b":1},"merges":["a b"]}}`), []byte(`{"model":{"vocab":{"a":9999999999}}}`),
		[]byte(`{"truncation":{"max_length":-5},"model":{"vocab":{"<|startoftext|>":0,"<|endoftext|>":1}}}`),
		[]byte(`{"added_tokens":[{"id":-3,"content":"x"}],"model":{"vocab":{}}}`), []byte("null"), nil,
	}
	pairs = [][2][]byte{
		{vocab, merges}, {vocab[:len(vocab)/2], merges}, {vocab, []byte("a\n")}, {[]byte(`{"a":1.5}`), nil},
		{[]byte(`{}`), nil}, {vocab, []byte("#version 0.2\nzz yy\n")}, {vocab, []byte("a b c\n")},
	}
	return jsons, pairs
}

func TestWriteFuzzSeeds(t *testing.T) {
	fuzzseed.SkipUnlessWriting(t)
	const dir = "testdata/fuzz"
	for i, s := range textSeeds {
		name := "text" + string(rune('a'+i))
		must(t, fuzzseed.Write(dir, "FuzzEncode", name, []byte(s)))
		must(t, fuzzseed.Write(dir, "FuzzEncodeUTF8", name, strings.ToValidUTF8(s, "?")))
	}
	jsons, pairs := loaderSeeds(t)
	for i, b := range jsons {
		must(t, fuzzseed.Write(dir, "FuzzTokenizerJSON", "json"+string(rune('a'+i)), b))
	}
	for i, p := range pairs {
		must(t, fuzzseed.Write(dir, "FuzzVocabMerges", "files"+string(rune('a'+i)), p[0], p[1]))
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// useLoaded checks that whatever a loader accepts can encode.
func useLoaded(t *testing.T, tok *Tokenizer) {
	for _, s := range textSeeds[:4] {
		ids := tok.Encode(s)
		if len(ids) < 2 {
			t.Fatalf("Encode(%q) = %v", s, ids)
		}
	}
	tok.EncodeBatch(textSeeds[:3])
}

// FuzzTokenizerJSON: a tokenizer.json is refused with an error naming the
// file, or loads and works; never a panic.
func FuzzTokenizerJSON(f *testing.F) {
	jsons, _ := loaderSeeds(f)
	for _, b := range jsons {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "tokenizer.json")
		must(t, os.WriteFile(path, b, 0o644))
		tok, err := FromTokenizerJSON(path)
		if err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		useLoaded(t, tok)
	})
}

// FuzzVocabMerges does the same for vocab.json + merges.txt.
func FuzzVocabMerges(f *testing.F) {
	_, pairs := loaderSeeds(f)
	for _, p := range pairs {
		f.Add(p[0], p[1])
	}
	f.Fuzz(func(t *testing.T, vocab, merges []byte) {
		dir := t.TempDir()
		vp, mp := filepath.Join(dir, "vocab.json"), filepath.Join(dir, "merges.txt")
		must(t, os.WriteFile(vp, vocab, 0o644))
		must(t, os.WriteFile(mp, merges, 0o644))
		tok, err := FromFiles(vp, mp)
		if err != nil {
			if !strings.Contains(err.Error(), dir) {
				t.Fatalf("error %q names neither file", err)
			}
			return
		}
		useLoaded(t, tok)
	})
}
