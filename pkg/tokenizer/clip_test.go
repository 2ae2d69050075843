package tokenizer

import (
	"bufio"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fashionclip/fashionclip/internal/testutil"
)

// TestReferenceTokens checks every line of the reference kit's expected
// tokens with both loaders.
func TestReferenceTokens(t *testing.T) {
	toks := realTokenizers(t)
	f, err := os.Open(filepath.Join(testutil.ReferenceDir(t), "expected", "tokens.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var want struct {
			Text string  `json:"text"`
			IDs  []int64 `json:"ids"`
		}
		if err := json.Unmarshal(sc.Bytes(), &want); err != nil {
			t.Fatalf("line %d: %v", lines+1, err)
		}
		lines++
		for _, n := range toks {
			if got := n.tok.Encode(want.Text); !slices.Equal(got, want.IDs) {
				t.Errorf("%s.Encode(%q)\n got %v\nwant %v", n.name, want.Text, got, want.IDs)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if lines == 0 {
		t.Fatal("tokens.jsonl has no lines")
	}
}

// TestCLIPCases covers the awkward inputs with exact ids. Each expectation
// was worked out from the algorithm and the vocabulary (the tokens column
// spells the ASCII ones out) and agrees with Hugging Face's tokenizers
// 0.23.2 run on the same files.
func TestCLIPCases(t *testing.T) {
	toks := realTokenizers(t)
	cases := []struct {
		name   string
		text   string
		tokens []string // content tokens, when they are readable
		ids    []int64  // content ids (start and end are added)
	}{
		{name: "empty", text: "", ids: []int64{}},
		{name: "only white space", text: " \t\n\u00a0\u3000\u2028 ", ids: []int64{}},
		{name: "digits split singly", text: "100%", tokens: []string{"1</w>", "0</w>", "0</w>", "%</w>"}, ids: []int64{272, 271, 271, 260}},
		{name: "digit then letters", text: "2x", tokens: []string{"2</w>", "x</w>"}, ids: []int64{273, 343}},
		{name: "contraction", text: "it's", tokens: []string{"it</w>", "'s</w>"}, ids: []int64{585, 568}},
		{name: "contraction after lowercasing", text: "ISN'T", tokens: []string{"isn</w>", "'t</w>"}, ids: []int64{2923, 713}},
		{name: "contraction and punctuation run", text: "don't!!", tokens: []string{"don</w>", "'t</w>", "!!</w>"}, ids: []int64{847, 713, 748}},
		{name: "apostrophe that is no contraction", text: "rock'n'roll", tokens: []string{"rock</w>", "'</w>", "n</w>", "'</w>", "roll</w>"}, ids: []int64{2172, 262, 333, 262, 3341}},
		{name: "curly apostrophe is a symbol", text: "it\u2019s", ids: []int64{585, 728, 503, 338}},
		{name: "possessive and digits", text: "Levi's 501", tokens: []string{"levi</w>", "'s</w>", "5</w>", "0</w>", "1</w>"}, ids: []int64{19113, 568, 276, 271, 272}},
		{name: "punctuation run is one piece", text: "?!?!", tokens: []string{"?!?!</w>"}, ids: []int64{16349}},
		{name: "tabs and newlines", text: "red\tdress\nsize  M", tokens: []string{"red</w>", "dress</w>", "size</w>", "m</w>"}, ids: []int64{736, 2595, 3235, 332}},
		{name: "unicode spaces", text: "\u00a0\u3000dress\u2028", ids: []int64{2595}},
		{name: "precomposed accent", text: "café", ids: []int64{15304}},
		{name: "decomposed accent composes", text: "cafe\u0301", ids: []int64{15304}},
		{name: "umlaut decomposed", text: "A\u0308", ids: []int64{47276}},
		{name: "uppercase accent", text: "ÉCRU", ids: []int64{3459, 29788}},
		{name: "accents inside words", text: "Crème brûlée", ids: []int64{1075, 12138, 614, 711, 127, 119, 75, 13489}},
		{name: "extra combining mark is a symbol", text: "e\u0301\u0301", ids: []int64{4166, 136, 479}},
		{name: "dotted capital I lowercases to i + U+0307", text: "İstanbul", ids: []int64{328, 16384, 11231}},
		{name: "Greek: no final sigma", text: "ΣΊΣΥΦΟΣ", ids: []int64{139, 225, 138, 107, 139, 225, 139, 227, 139, 228, 138, 123, 139, 481}},
		{name: "Chinese", text: "连衣裙", ids: []int64{164, 123, 252, 164, 94, 96, 164, 96, 503}},
		{name: "Japanese", text: "日本の着物", ids: []int64{39121, 44353, 21575, 163, 251, 222, 163, 231, 358}},
		{name: "Arabic", text: "فستان أحمر", ids: []int64{24112, 17856, 18197, 33200, 148, 96, 25722, 12986, 24933}},
		{name: "Cyrillic", text: "Платье", ids: []int64{26302, 47611, 16912, 17875, 141, 234, 140, 369}},
		{name: "emoji run", text: "👗👠 dress", ids: []int64{964, 245, 41264, 2595}},
		{name: "emoji with variation selector", text: "❤️", ids: []int64{1752}},
		{name: "emoji ZWJ sequence", text: "👨\u200d👩\u200d👧", ids: []int64{25023, 26304, 964, 356}},
		{name: "fraction is one number", text: "½ price", ids: []int64{33613, 2827}},
		{name: "Arabic-Indic digit", text: "٣", ids: []int64{149, 352}},
		{name: "fullwidth is not folded by NFC", text: "３", ids: []int64{171, 120, 497}},
		{name: "end token inside text", text: "a<|endoftext|>b", tokens: []string{"a</w>", "<|endoftext|>", "b</w>"}, ids: []int64{320, 49407, 321}},
		{name: "end token alone", text: "<|endoftext|>", ids: []int64{49407}},
		{name: "start token inside text", text: "<|startoftext|>hi", ids: []int64{49406, 1883}},
		{name: "uppercase special text is ordinary text", text: "<|ENDOFTEXT|>", tokens: []string{"<", "|", "endof", "text", "|", "></w>"}, ids: []int64{27, 91, 40786, 18169, 91, 285}},
	}
	for _, c := range cases {
		for _, n := range toks {
			t.Run(n.name+"/"+c.name, func(t *testing.T) {
				if c.tokens != nil && !slices.Equal(idsOf(t, n.tok, c.tokens...), c.ids) {
					t.Fatalf("table error: tokens %q are ids %v, not %v", c.tokens, idsOf(t, n.tok, c.tokens...), c.ids)
				}
				want := framed(n.tok, c.ids...)
				if got := n.tok.Encode(c.text); !slices.Equal(got, want) {
					t.Errorf("Encode(%q)\n got %v\nwant %v", c.text, got, want)
				}
			})
		}
	}
}

// TestHashMerges pins the one place where the two reference files differ:
// merges.txt has six pairs starting with "#" (like "# #</w>") that the
// shipped tokenizer.json lacks. Each loader follows its own file, as HF does.
func TestHashMerges(t *testing.T) {
	toks := realTokenizers(t)
	want := map[string][]string{
		"FromFiles":         {"##</w>"},
		"FromTokenizerJSON": {"#", "#</w>"},
	}
	for _, n := range toks {
		if got, w := n.tok.Encode("##"), framed(n.tok, idsOf(t, n.tok, want[n.name]...)...); !slices.Equal(got, w) {
			t.Errorf("%s.Encode(\"##\") = %v, want %v", n.name, got, w)
		}
	}
}

// TestEquivalentTexts checks texts that must tokenise identically.
func TestEquivalentTexts(t *testing.T) {
	toks := realTokenizers(t)
	pairs := [][2]string{
		{"café", "cafe\u0301"},                       // NFC
		{"naïve", "nai\u0308ve"},                     // NFC inside a word
		{"RED Dress", "red dress"},                   // lowercasing
		{"red\t\n dress", "red dress"},               // white space runs
		{"  red dress  ", "red dress"},               // leading/trailing space
		{"red\u00a0dress", "red dress"},              // no-break space is \s
		{"a <|endoftext|> b", "a<|endoftext|>b"},     // spaces around specials vanish
		{"Ⅻ", "ⅻ"},                                   // letter numbers lowercase
		{"\xffdress", "\ufffddress"},                 // invalid UTF-8 as U+FFFD
		{"it's", "It'S"},                             // contraction after lowercasing
		{"a photo of a dress", "A Photo Of A Dress"}, // labels
	}
	for _, n := range toks {
		for _, p := range pairs {
			a, b := n.tok.Encode(p[0]), n.tok.Encode(p[1])
			if !slices.Equal(a, b) {
				t.Errorf("%s: Encode(%q) = %v but Encode(%q) = %v", n.name, p[0], a, p[1], b)
			}
		}
	}
	// And some that must not: the zero-width space is not white space.
	for _, n := range toks {
		if a, b := n.tok.Encode("red\u200bdress"), n.tok.Encode("red dress"); slices.Equal(a, b) {
			t.Errorf("%s: U+200B treated as white space", n.name)
		}
	}
}

func TestTruncation(t *testing.T) {
	toks := realTokenizers(t)
	long := strings.Repeat("a photo of ", 40) // 120 content tokens
	for _, n := range toks {
		got := n.tok.Encode(long)
		if len(got) != DefaultMaxLength {
			t.Fatalf("%s: len = %d, want %d", n.name, len(got), DefaultMaxLength)
		}
		if got[0] != n.tok.StartID() || got[len(got)-1] != n.tok.EndID() {
			t.Errorf("%s: truncated ids lost a special token: %v", n.name, got)
		}
		// The kept content is the start of the untruncated content.
		pattern := idsOf(t, n.tok, "a</w>", "photo</w>", "of</w>")
		for i, id := range got[1 : len(got)-1] {
			if id != pattern[i%3] {
				t.Fatalf("%s: content id %d = %d, want %d", n.name, i, id, pattern[i%3])
			}
		}
	}

	// Exactly 75 content tokens fit; the 76th is cut.
	tok := toks[0].tok
	for _, c := range []struct {
		words, want int
	}{{74, 76}, {75, 77}, {76, 77}, {300, 77}} {
		if got := len(tok.Encode(strings.Repeat("dress ", c.words))); got != c.want {
			t.Errorf("%d words: len = %d, want %d", c.words, got, c.want)
		}
	}
}

func TestLoad(t *testing.T) {
	ref := testutil.ReferenceDir(t)
	for _, dir := range []string{"tiny-optimum", "tiny-split"} {
		tok, err := Load(filepath.Join(ref, "models", dir))
		if err != nil {
			t.Fatalf("Load(%s): %v", dir, err)
		}
		if tok.VocabSize() != 49408 || tok.StartID() != StartID || tok.EndID() != EndID || tok.PadID() != EndID || tok.MaxLength != DefaultMaxLength {
			t.Errorf("Load(%s): vocab %d start %d end %d pad %d max %d", dir, tok.VocabSize(), tok.StartID(), tok.EndID(), tok.PadID(), tok.MaxLength)
		}
		if got, want := tok.Encode("Dress"), []int64{49406, 2595, 49407}; !slices.Equal(got, want) {
			t.Errorf("Load(%s).Encode = %v, want %v", dir, got, want)
		}
		// Both folders hold tokenizer.json, which from_pretrained prefers even
		// beside vocab.json + merges.txt; it lacks the "# #</w>" merge.
		if got, want := tok.Encode("##"), []int64{49406, 2, 258, 49407}; !slices.Equal(got, want) {
			t.Errorf("Load(%s).Encode(##) = %v, want %v (tokenizer.json's merges)", dir, got, want)
		}
	}
}

func TestLoadMissing(t *testing.T) {
	dir := t.TempDir()
	// merges.txt alone is not enough for the first layout.
	if err := os.WriteFile(filepath.Join(dir, "merges.txt"), []byte("a b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(dir)
	if err == nil {
		t.Fatal("Load of a folder without tokenizer files succeeded")
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %v does not wrap fs.ErrNotExist", err)
	}
	for _, part := range []string{dir, "vocab.json", "merges.txt", "tokenizer.json"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not name %q", err, part)
		}
	}
}
