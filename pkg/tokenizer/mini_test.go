package tokenizer

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The fixture in testdata/mini (ids in vocab.json, ranks in merges.txt):
//
//	rank 0 "l o"       -> lo         rank 6  "a a"      -> aa
//	rank 1 "lo w</w>"  -> low</w>    rank 7  "a b</w>"  -> ab</w>
//	rank 2 "b c</w>"   -> bc</w>     rank 8  "# #</w>"  -> ##</w>
//	rank 3 "e r</w>"   -> er</w>     rank 9  "n e"      -> ne
//	rank 4 "lo w"      -> low        rank 10 "ne w</w>" -> new</w>
//	rank 5 "low er</w>"-> lower</w>  rank 11 "a b"      -> ab
//
// Only a few ASCII letters are in it, so anything else is unknown (id 1,
// <|endoftext|>, as in CLIP).
func TestMiniBPE(t *testing.T) {
	cases := []struct {
		name, text string
		tokens     []string
	}{
		{"suffix merge", "low", []string{"low</w>"}},
		{"chain of merges", "lower", []string{"lower</w>"}},
		{"lowercased first", "LOW", []string{"low</w>"}},
		// (b,c</w>) ranks before (a,b): "a bc</w>", not "ab c</w>".
		{"lower rank wins over text order", "abc", []string{"a", "bc</w>"}},
		// Two (a,a) pairs of equal rank: the leftmost merges first.
		{"leftmost among equal ranks", "aaab", []string{"aa", "ab</w>"}},
		{"inner and final forms differ", "abab", []string{"ab", "ab</w>"}},
		{"merge starting with #", "##", []string{"##</w>"}},
		{"unknown final symbol", "lowz", []string{"low", "<|endoftext|>"}},
		{"each unknown byte is its own unk", "zz", []string{"<|endoftext|>", "<|endoftext|>"}},
		{"non-ASCII splits into bytes", "é", []string{"<|endoftext|>", "<|endoftext|>"}},
		{"pieces are separate words", "low-er", []string{"low</w>", "<|endoftext|>", "er</w>"}},
		{"special token splits words", "low<|endoftext|>lower", []string{"low</w>", "<|endoftext|>", "lower</w>"}},
		{"empty", "", []string{}},
		{"only spaces", "  \t\n ", []string{}},
	}
	for _, n := range miniTokenizers(t) {
		for _, c := range cases {
			want := framed(n.tok, idsOf(t, n.tok, c.tokens...)...)
			if got := n.tok.Encode(c.text); !slices.Equal(got, want) {
				t.Errorf("%s.Encode(%q) [%s]\n got %v\nwant %v", n.name, c.text, c.name, got, want)
			}
		}
	}
}

// TestMiniTokenizerJSON checks what only tokenizer.json carries: added
// tokens with their options, truncation, vocabulary size.
func TestMiniTokenizerJSON(t *testing.T) {
	tok, err := FromTokenizerJSON("testdata/mini/tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	if tok.VocabSize() != 38 || tok.StartID() != 0 || tok.EndID() != 1 || tok.PadID() != 1 || tok.MaxLength != 6 {
		t.Fatalf("vocab %d start %d end %d pad %d max %d", tok.VocabSize(), tok.StartID(), tok.EndID(), tok.PadID(), tok.MaxLength)
	}
	for text, want := range map[string]int64{"[Shoe]": 36, "sale": 37, "lower</w>": 28} {
		if id, ok := tok.TokenID(text); !ok || id != want {
			t.Errorf("TokenID(%q) = %d, %v; want %d", text, id, ok, want)
		}
	}
	if id, ok := tok.TokenID("[shoe]"); ok {
		t.Errorf("TokenID([shoe]) = %d, want none: added tokens are named as written", id)
	}
	cases := []struct {
		name, text string
		want       []int64
	}{
		// "[Shoe]" is not special, so it is matched after normalisation.
		{"normalised added token", "a [SHOE] b", []int64{0, 14, 36, 15, 1}},
		{"normalised added token inside text", "a[shoe]b", []int64{0, 14, 36, 15, 1}},
		// "sale" is single_word: alone or before a symbol it matches...
		{"single word", "sale", []int64{0, 37, 1}},
		{"single word before symbol", "sale!", []int64{0, 37, 1, 1}},
		// ...but not inside a word (w, unk h, o, l, then truncated).
		{"single word inside a word", "wholesale", []int64{0, 12, 1, 8, 6, 1}},
		// truncation.max_length is 6: four content ids.
		{"truncation from the file", "low low low low low", []int64{0, 25, 25, 25, 25, 1}},
		// The special is raw-matched, so its uppercase form is plain text.
		{"uppercase special", "<|ENDOFTEXT|>", []int64{0, 1, 1, 5, 7, 1}},
	}
	for _, c := range cases {
		if got := tok.Encode(c.text); !slices.Equal(got, c.want) {
			t.Errorf("%s: Encode(%q) = %v, want %v", c.name, c.text, got, c.want)
		}
	}
}

// TestByteLevelAlphabet uses a full byte-level alphabet, so no byte is
// unknown, and merges written in byte-level characters.
func TestByteLevelAlphabet(t *testing.T) {
	bl := func(s string) string { return byteLevel([]byte(s)) }
	merges := [][2]string{
		{bl("\xc3"), bl("\xa9") + eowSuffix}, // "é" at the end of a word
		{"c", "a"},
		{"ca", "f"},
		{"caf", bl("é") + eowSuffix},
		{bl("\xe2\x82"), bl("\xac")}, // "€" inside a word only: ranks before its own parts
		{bl("\xe2"), bl("\x82")},
	}
	vocab, mergesPath := writeByteLevelVocab(t, merges)
	tok, err := FromFiles(vocab, mergesPath)
	if err != nil {
		t.Fatal(err)
	}
	if tok.VocabSize() != 512+len(merges)+2 {
		t.Errorf("VocabSize = %d, want %d", tok.VocabSize(), 512+len(merges)+2)
	}
	cases := []struct {
		text   string
		tokens []string
	}{
		{"café", []string{"caf" + bl("é") + eowSuffix}},
		{"cafe\u0301", []string{"caf" + bl("é") + eowSuffix}},
		{"é", []string{bl("é") + eowSuffix}},
		{"éa", []string{bl("\xc3"), bl("\xa9"), "a</w>"}},
		{"€", []string{bl("\xe2\x82"), bl("\xac") + eowSuffix}},
		{"\x00\x7f", []string{bl("\x00"), bl("\x7f") + eowSuffix}},
		{"€€", []string{bl("€"), bl("\xe2\x82"), bl("\xac") + eowSuffix}},
		{"€10", []string{bl("\xe2\x82"), bl("\xac") + eowSuffix, "1</w>", "0</w>"}},
	}
	for _, c := range cases {
		want := framed(tok, idsOf(t, tok, c.tokens...)...)
		if got := tok.Encode(c.text); !slices.Equal(got, want) {
			t.Errorf("Encode(%q) = %v, want %v (%q)", c.text, got, want, c.tokens)
		}
	}
}

func TestByteLevelTable(t *testing.T) {
	seen := map[rune]bool{}
	for b, r := range byteRunes {
		if seen[r] {
			t.Fatalf("byte %#x maps to %q twice", b, r)
		}
		seen[r] = true
	}
	// Spot checks of GPT-2's table: space is Ġ, newline Ċ, 0xAD is Ń.
	for b, want := range map[byte]rune{' ': 'Ġ', '\n': 'Ċ', 0: 'Ā', 'a': 'a', 0xAD: 'Ń', 0xFF: 'ÿ', 0x7F: 'ġ'} {
		if byteRunes[b] != want {
			t.Errorf("byte %#x -> %q, want %q", b, byteRunes[b], want)
		}
	}
}

func TestFuseUnk(t *testing.T) {
	data, err := os.ReadFile("testdata/mini/tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		fuse string
		want []int64
	}{
		{`"fuse_unk": false`, []int64{0, 8, 1, 1, 1}},
		{`"fuse_unk": true`, []int64{0, 8, 1, 1}},
	} {
		src := strings.Replace(string(data), `"fuse_unk": false`, c.fuse, 1)
		tok, err := parseTokenizerJSON([]byte(src))
		if err != nil {
			t.Fatal(err)
		}
		if got := tok.Encode("ozz"); !slices.Equal(got, c.want) {
			t.Errorf("%s: Encode(ozz) = %v, want %v", c.fuse, got, c.want)
		}
	}
}

// TestIgnoreMerges: with ignore_merges a piece found whole in the
// vocabulary is taken as is, looked up without the end-of-word suffix
// (HF's behaviour, so "low" gives "low", not "low</w>").
func TestIgnoreMerges(t *testing.T) {
	data, err := os.ReadFile("testdata/mini/tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(string(data), `"ignore_merges": false`, `"ignore_merges": true`, 1)
	tok, err := parseTokenizerJSON([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		text   string
		tokens []string
	}{
		{"ab", []string{"ab"}},
		{"low", []string{"low"}},
		{"lower", []string{"lower</w>"}}, // not in the vocabulary whole: BPE
		{"abab", []string{"ab", "ab</w>"}},
	} {
		want := framed(tok, idsOf(t, tok, c.tokens...)...)
		if got := tok.Encode(c.text); !slices.Equal(got, want) {
			t.Errorf("Encode(%q) = %v, want %v", c.text, got, want)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	vocab := `{"<|startoftext|>": 0, "<|endoftext|>": 1, "a": 2, "b</w>": 3, "ab</w>": 4}`
	cases := []struct {
		name, vocab, merges, wantErr string
	}{
		{"bad merge line", vocab, "#version: 0.2\na b</w>\na b c\n", "line 3"},
		{"merge token missing", vocab, "a c</w>\n", `"c</w>" is not in the vocabulary`},
		{"merged token missing", vocab, "b</w> a\n", `"b</w>a" is not in the vocabulary`},
		{"no start token", `{"<|endoftext|>": 1, "a": 2}`, "", "<|startoftext|>"},
		{"no end token", `{"<|startoftext|>": 0, "a": 2}`, "", "<|endoftext|>"},
		{"negative id", `{"<|startoftext|>": -1, "<|endoftext|>": 1}`, "", "out of range"},
		{"not json", `["a"]`, "", "vocab.json"},
	}
	for _, c := range cases {
		dir := t.TempDir()
		v, m := filepath.Join(dir, "vocab.json"), filepath.Join(dir, "merges.txt")
		if err := os.WriteFile(v, []byte(c.vocab), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(m, []byte(c.merges), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := FromFiles(v, m)
		if err == nil || !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("%s: err = %v, want one containing %q", c.name, err, c.wantErr)
		}
	}

	data, err := os.ReadFile("testdata/mini/tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	jsonCases := []struct {
		name, old, new, wantErr string
	}{
		{"not BPE", `"type": "BPE"`, `"type": "WordPiece"`, "not BPE"},
		{"unknown unk", `"unk_token": "<|endoftext|>"`, `"unk_token": "<unk>"`, `"<unk>" is not in the vocabulary`},
		{"dropout", `"dropout": null`, `"dropout": 0.1`, "dropout"},
		{"three-part merge", `"l",` + "\n    \"o\"", `"l", "o", "w"`, "model.merges[0]"},
	}
	for _, c := range jsonCases {
		src := strings.Replace(string(data), c.old, c.new, 1)
		if src == string(data) {
			t.Fatalf("%s: fixture text %q not found", c.name, c.old)
		}
		_, err := parseTokenizerJSON([]byte(src))
		if err == nil || !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("%s: err = %v, want one containing %q", c.name, err, c.wantErr)
		}
	}
}

// TestTokenizerJSONFormats checks both spellings of merges and the
// post-processor kinds that name the start and end ids.
func TestTokenizerJSONFormats(t *testing.T) {
	const base = `{"model": {"type": "BPE", "end_of_word_suffix": "</w>", "unk_token": "<|endoftext|>",
		"vocab": {"<|startoftext|>": 0, "<|endoftext|>": 1, "<s>": 2, "</s>": 3, "a": 4, "b</w>": 5, "ab</w>": 6},
		"merges": MERGES}, "post_processor": POST}`
	cases := []struct {
		name, merges, post string
		want               []int64
	}{
		{"string merges, no post-processor", `["a b</w>"]`, `null`, []int64{0, 6, 1}},
		{"pair merges", `[["a", "b</w>"]]`, `null`, []int64{0, 6, 1}},
		{"version line skipped", `["#version: 0.2", "a b</w>"]`, `null`, []int64{0, 6, 1}},
		{"no merges", `[]`, `null`, []int64{0, 4, 5, 1}},
		{"roberta ids", `[]`, `{"type": "RobertaProcessing", "cls": ["<s>", 2], "sep": ["</s>", 3]}`, []int64{2, 4, 5, 3}},
		{"template ids", `[]`, `{"type": "TemplateProcessing",
			"single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
			"special_tokens": {"<s>": {"id": "<s>", "ids": [2], "tokens": ["<s>"]}, "</s>": {"id": "</s>", "ids": [3], "tokens": ["</s>"]}}}`, []int64{2, 4, 5, 3}},
		{"sequence of processors", `[]`, `{"type": "Sequence", "processors": [{"type": "ByteLevel"}, {"type": "BertProcessing", "cls": ["<s>", 2], "sep": ["</s>", 3]}]}`, []int64{2, 4, 5, 3}},
	}
	for _, c := range cases {
		src := strings.NewReplacer("MERGES", c.merges, "POST", c.post).Replace(base)
		tok, err := parseTokenizerJSON([]byte(src))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := tok.Encode("ab"); !slices.Equal(got, c.want) {
			t.Errorf("%s: Encode(ab) = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestMaxLength(t *testing.T) {
	tok := miniTokenizers(t)[0].tok // FromFiles: default 77
	if tok.MaxLength != DefaultMaxLength {
		t.Fatalf("MaxLength = %d, want %d", tok.MaxLength, DefaultMaxLength)
	}
	low := idsOf(t, tok, "low</w>")[0]
	text := strings.Repeat("low ", 100)
	cases := []struct {
		max, wantLen int
	}{
		{77, 77}, {10, 10}, {3, 3}, {2, 2}, {1, 2}, {0, 102}, {-1, 102},
	}
	for _, c := range cases {
		tok.MaxLength = c.max
		got := tok.Encode(text)
		if len(got) != c.wantLen || got[0] != tok.StartID() || got[len(got)-1] != tok.EndID() {
			t.Errorf("MaxLength %d: got %d ids (%v...), want %d framed", c.max, len(got), got[:min(len(got), 4)], c.wantLen)
			continue
		}
		for _, id := range got[1 : len(got)-1] {
			if id != low {
				t.Errorf("MaxLength %d: content id %d, want %d", c.max, id, low)
				break
			}
		}
	}
	tok.MaxLength = DefaultMaxLength
}

func TestLeftTruncation(t *testing.T) {
	data, err := os.ReadFile("testdata/mini/tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(string(data), `"direction": "Right"`, `"direction": "Left"`, 1)
	tok, err := parseTokenizerJSON([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	// max_length 6 keeps the last four content ids.
	want := framed(tok, idsOf(t, tok, "lower</w>", "low</w>", "new</w>", "a</w>")...)
	if got := tok.Encode("new new lower low new a"); !slices.Equal(got, want) {
		t.Errorf("Encode = %v, want %v", got, want)
	}
}
