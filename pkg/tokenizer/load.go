package tokenizer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// Load reads the tokenizer in dir: tokenizer.json when it is there, else
// vocab.json + merges.txt.
func Load(dir string) (*Tokenizer, error) {
	// tokenizer.json first, as CLIPTokenizerFast.from_pretrained does: the
	// two sources can differ (the published tokenizer.json lacks six merges
	// starting with '#'), and Python users compare against from_pretrained.
	if j := filepath.Join(dir, "tokenizer.json"); isFile(j) {
		return FromTokenizerJSON(j)
	}
	vocab := filepath.Join(dir, "vocab.json")
	merges := filepath.Join(dir, "merges.txt")
	if isFile(vocab) && isFile(merges) {
		return FromFiles(vocab, merges)
	}
	// Wrapping fs.ErrNotExist lets callers tell "absent" from "broken".
	return nil, fmt.Errorf("tokenizer: no tokenizer files in %s (looked for tokenizer.json, or vocab.json + merges.txt): %w", dir, fs.ErrNotExist)
}

func isFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// FromFiles reads Hugging Face's vocab.json and merges.txt, with the
// settings CLIPTokenizerFast gives them: end-of-word suffix "</w>", unknown
// token <|endoftext|>, and <|startoftext|>/<|endoftext|> as special tokens.
func FromFiles(vocabJSON, mergesTXT string) (*Tokenizer, error) {
	vocab, err := readVocab(vocabJSON)
	if err != nil {
		return nil, err
	}
	merges, err := readMerges(mergesTXT)
	if err != nil {
		return nil, err
	}
	unk := endToken
	c := buildConfig{
		bpe: bpeConfig{vocab: vocab, merges: merges, mergesWhere: "line", unk: &unk, suffix: eowSuffix},
	}
	for _, tok := range []string{startToken, endToken} {
		id, ok := vocab[tok]
		if !ok {
			return nil, fmt.Errorf("tokenizer: %s: special token %s is missing", vocabJSON, tok)
		}
		c.added = append(c.added, jsonAddedToken{ID: int64(id), Content: tok, Special: true})
	}
	t, err := build(c)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", mergesTXT, err)
	}
	return t, nil
}

func readVocab(path string) (map[string]int32, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	vocab, err := parseVocab(data)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", path, err)
	}
	return vocab, nil
}

func parseVocab(data []byte) (map[string]int32, error) {
	var raw map[string]int64
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	return checkVocab(raw)
}

func checkVocab(raw map[string]int64) (map[string]int32, error) {
	if len(raw) == 0 {
		return nil, errors.New("empty vocabulary")
	}
	vocab := make(map[string]int32, len(raw))
	for tok, id := range raw {
		if id < 0 || id > math.MaxInt32 {
			return nil, fmt.Errorf("token %q has id %d out of range", tok, id)
		}
		vocab[tok] = int32(id)
	}
	return vocab, nil
}

// readMerges reads merges.txt: one "left right" pair a line, best first.
// Like the Rust reader it skips "#version" lines only: CLIP's merges include
// real pairs starting with "#" (such as "# #</w>"). Blank lines are skipped.
func readMerges(path string) ([]mergePair, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	merges, err := parseMerges(data)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s%w", path, err)
	}
	return merges, nil
}

// parseMerges reads the lines of merges.txt; its errors start with " line
// N: " or ": " so that they follow the file name.
func parseMerges(data []byte) ([]mergePair, error) {
	var merges []mergePair
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, len(data)+1)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if line == "" || strings.HasPrefix(line, "#version") {
			continue
		}
		a, b, ok := splitMerge(line)
		if !ok {
			return nil, fmt.Errorf(" line %d: want two tokens separated by one space, got %q", n, line)
		}
		merges = append(merges, mergePair{a: a, b: b, n: n})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf(": %w", err)
	}
	return merges, nil
}

func splitMerge(s string) (a, b string, ok bool) {
	a, b, ok = strings.Cut(s, " ")
	return a, b, ok && !strings.Contains(b, " ")
}

// The parts of tokenizer.json this package reads.
type jsonFile struct {
	AddedTokens []jsonAddedToken `json:"added_tokens"`
	Truncation  *struct {
		MaxLength int    `json:"max_length"`
		Direction string `json:"direction"`
	} `json:"truncation"`
	Padding *struct {
		PadID *int64 `json:"pad_id"`
	} `json:"padding"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Model         struct {
		Type                    string           `json:"type"`
		Vocab                   map[string]int64 `json:"vocab"`
		Merges                  []jsonMerge      `json:"merges"`
		UnkToken                *string          `json:"unk_token"`
		ContinuingSubwordPrefix *string          `json:"continuing_subword_prefix"`
		EndOfWordSuffix         *string          `json:"end_of_word_suffix"`
		FuseUnk                 bool             `json:"fuse_unk"`
		ByteFallback            bool             `json:"byte_fallback"`
		IgnoreMerges            bool             `json:"ignore_merges"`
		Dropout                 *float64         `json:"dropout"`
	} `json:"model"`
}

type jsonAddedToken struct {
	ID         int64  `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	Lstrip     bool   `json:"lstrip"`
	Rstrip     bool   `json:"rstrip"`
	Normalized *bool  `json:"normalized"`
	Special    bool   `json:"special"`
}

// jsonMerge is one merge, written "a b" in older files and ["a","b"] in
// newer ones.
type jsonMerge struct {
	a, b    string
	version bool // a "#version" string, skipped like in merges.txt
	bad     string
}

func (m *jsonMerge) UnmarshalJSON(data []byte) error {
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		if strings.HasPrefix(s, "#version") {
			m.version = true
			return nil
		}
		var ok bool
		if m.a, m.b, ok = splitMerge(s); !ok {
			m.bad = s
		}
		return nil
	}
	var pair []string
	if err := json.Unmarshal(data, &pair); err != nil {
		return fmt.Errorf("merge %s: want \"a b\" or [\"a\",\"b\"]", data)
	}
	if len(pair) != 2 {
		m.bad = string(data)
		return nil
	}
	m.a, m.b = pair[0], pair[1]
	return nil
}

// FromTokenizerJSON reads a Hugging Face tokenizer.json holding a BPE model
// (CLIP's: byte-level with the "</w>" suffix).
func FromTokenizerJSON(path string) (*Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t, err := parseTokenizerJSON(data)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", path, err)
	}
	return t, nil
}

func parseTokenizerJSON(data []byte) (*Tokenizer, error) {
	var f jsonFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, err
	}
	m := &f.Model
	switch {
	case m.Type != "" && m.Type != "BPE":
		return nil, fmt.Errorf("model type %q is not BPE", m.Type)
	case m.Dropout != nil && *m.Dropout > 0:
		return nil, errors.New("BPE dropout is not supported")
	case m.ByteFallback:
		return nil, errors.New("BPE byte_fallback is not supported")
	}
	vocab, err := checkVocab(m.Vocab)
	if err != nil {
		return nil, fmt.Errorf("model.vocab: %w", err)
	}
	c := buildConfig{
		bpe: bpeConfig{
			vocab:        vocab,
			mergesWhere:  "model.merges index",
			unk:          m.UnkToken,
			fuseUnk:      m.FuseUnk,
			ignoreMerges: m.IgnoreMerges,
		},
		added:     f.AddedTokens,
		maxLength: DefaultMaxLength,
	}
	if m.ContinuingSubwordPrefix != nil {
		c.bpe.prefix = *m.ContinuingSubwordPrefix
	}
	if m.EndOfWordSuffix != nil {
		c.bpe.suffix = *m.EndOfWordSuffix
	}
	for i, mg := range m.Merges {
		switch {
		case mg.version:
			continue
		case mg.bad != "":
			return nil, fmt.Errorf("model.merges[%d]: want two tokens, got %s", i, mg.bad)
		}
		c.bpe.merges = append(c.bpe.merges, mergePair{a: mg.a, b: mg.b, n: i})
	}
	if tr := f.Truncation; tr != nil {
		if tr.MaxLength > 0 {
			c.maxLength = tr.MaxLength
		}
		c.truncateLeft = strings.EqualFold(tr.Direction, "left")
	}
	if p := f.Padding; p != nil && p.PadID != nil {
		c.padID = p.PadID
	}
	c.startID, c.endID = postProcessorIDs(f.PostProcessor)
	return build(c)
}

// postProcessorIDs reads the ids the post-processor puts around a single
// text: cls/sep of RobertaProcessing and BertProcessing, or the special
// tokens around $A in a TemplateProcessing, looking inside a Sequence.
func postProcessorIDs(raw json.RawMessage) (start, end *int64) {
	if len(raw) == 0 {
		return nil, nil
	}
	var p struct {
		Type   string            `json:"type"`
		Cls    []json.RawMessage `json:"cls"`
		Sep    []json.RawMessage `json:"sep"`
		Single []map[string]struct {
			ID string `json:"id"`
		} `json:"single"`
		SpecialTokens map[string]struct {
			IDs []int64 `json:"ids"`
		} `json:"special_tokens"`
		Processors []json.RawMessage `json:"processors"`
	}
	if json.Unmarshal(raw, &p) != nil {
		return nil, nil
	}
	pairID := func(pair []json.RawMessage) *int64 {
		var id int64
		if len(pair) != 2 || json.Unmarshal(pair[1], &id) != nil {
			return nil
		}
		return &id
	}
	switch p.Type {
	case "RobertaProcessing", "BertProcessing":
		return pairID(p.Cls), pairID(p.Sep)
	case "TemplateProcessing":
		seenSeq := false
		for _, piece := range p.Single {
			if _, ok := piece["Sequence"]; ok {
				seenSeq = true
				continue
			}
			sp, ok := piece["SpecialToken"]
			if !ok {
				continue
			}
			ids := p.SpecialTokens[sp.ID].IDs
			if len(ids) != 1 {
				continue
			}
			id := ids[0]
			if !seenSeq && start == nil {
				start = &id
			} else if seenSeq && end == nil {
				end = &id
			}
		}
		return start, end
	case "Sequence":
		for _, sub := range p.Processors {
			s, e := postProcessorIDs(sub)
			if s != nil && start == nil {
				start = s
			}
			if e != nil && end == nil {
				end = e
			}
		}
	}
	return start, end
}

type buildConfig struct {
	bpe          bpeConfig
	added        []jsonAddedToken
	maxLength    int
	truncateLeft bool
	startID      *int64 // nil: the id of <|startoftext|>
	endID        *int64 // nil: the id of <|endoftext|>
	padID        *int64 // nil: the end id
}

func build(c buildConfig) (*Tokenizer, error) {
	model, err := newBPE(c.bpe)
	if err != nil {
		return nil, err
	}
	t := &Tokenizer{
		MaxLength:    c.maxLength,
		vocab:        c.bpe.vocab,
		bpe:          model,
		truncateLeft: c.truncateLeft,
	}
	if t.MaxLength == 0 {
		t.MaxLength = DefaultMaxLength
	}
	t.vocabSize = len(t.vocab)
	seen := make(map[string]bool)
	for _, a := range c.added {
		if a.Content == "" || seen[a.Content] {
			continue
		}
		seen[a.Content] = true
		if _, ok := t.vocab[a.Content]; !ok {
			t.vocabSize++
		}
		tok := addedToken{text: a.Content, content: a.Content, id: a.ID, singleWord: a.SingleWord, lstrip: a.Lstrip, rstrip: a.Rstrip}
		// HF's default: special tokens match the raw text, others the
		// normalised text.
		normalized := !a.Special
		if a.Normalized != nil {
			normalized = *a.Normalized
		}
		if normalized {
			tok.content = string(appendNormalized(nil, a.Content))
			t.norm.add(tok)
		} else {
			t.raw.add(tok)
		}
	}
	lookup := func(fixed *int64, name string) (int64, error) {
		if fixed != nil {
			return *fixed, nil
		}
		if id, ok := t.TokenID(name); ok {
			return id, nil
		}
		return 0, fmt.Errorf("no id for %s", name)
	}
	if t.startID, err = lookup(c.startID, startToken); err != nil {
		return nil, err
	}
	if t.endID, err = lookup(c.endID, endToken); err != nil {
		return nil, err
	}
	t.padID = t.endID
	if c.padID != nil {
		t.padID = *c.padID
	}
	return t, nil
}
