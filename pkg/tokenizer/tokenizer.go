// Package tokenizer is CLIP's byte-level BPE tokenizer, reproducing the ids
// of Hugging Face's CLIPTokenizerFast (the Rust `tokenizers` pipeline):
//
//  1. added/special tokens written in the raw text are split out first;
//  2. each remaining stretch is normalised: NFC, runs of Unicode white space
//     to one space, per-character full lowercasing;
//  3. pre-tokenised with CLIP's regex (contractions, letter runs, single
//     digits, runs of other symbols; white space is dropped) and each piece
//     is mapped byte by byte to GPT-2's printable byte alphabet;
//  4. each piece goes through BPE, with the end-of-word suffix "</w>" on its
//     last symbol, merging the lowest-ranked pair first;
//  5. the content is truncated to MaxLength-2 ids and framed by the start
//     and end tokens.
//
// Only the kept ids cost work: a long text is tokenised by growing
// prefixes until one yields the limit plus a margin of ids (see
// encodePrefix), so a 30 MB text costs what its first few KB cost. The kept
// ids are those of the whole text; tests compare both on long texts of
// every kind and the fuzz targets on every input.
//
// A Tokenizer is safe for concurrent use once loaded.
package tokenizer

import (
	"sync"
	"unicode/utf8"
)

// CLIP's usual ids for its two special tokens. A loaded Tokenizer reads the
// real ids from its files; use StartID/EndID/PadID methods on it.
const (
	StartID = 49406
	EndID   = 49407
)

// DefaultMaxLength is CLIP's text context (positions in the text encoder).
const DefaultMaxLength = 77

const (
	startToken = "<|startoftext|>"
	endToken   = "<|endoftext|>"
	eowSuffix  = "</w>"
)

// Tokenizer turns text into CLIP token ids.
type Tokenizer struct {
	// MaxLength caps Encode's output, start and end tokens included, so at
	// most MaxLength-2 content tokens are kept (values below 2 act as 2;
	// 0 or less disables truncation). Set it before sharing the Tokenizer
	// between goroutines.
	MaxLength int

	vocab     map[string]int32
	vocabSize int
	bpe       *bpeModel

	raw  addedSet // added tokens matched in the raw text
	norm addedSet // added tokens matched after normalisation

	startID, endID, padID int64
	truncateLeft          bool
}

// StartID is the id put before every text (<|startoftext|>).
func (t *Tokenizer) StartID() int64 { return t.startID }

// EndID is the id put after every text (<|endoftext|>).
func (t *Tokenizer) EndID() int64 { return t.endID }

// PadID fills padded positions in a Batch; CLIP pads with its end token.
func (t *Tokenizer) PadID() int64 { return t.padID }

// VocabSize is the number of distinct token ids: the model vocabulary plus
// any added token outside it (49408 for CLIP).
func (t *Tokenizer) VocabSize() int { return t.vocabSize }

// TokenID returns the id of a vocabulary or added token, if it exists.
func (t *Tokenizer) TokenID(token string) (int64, bool) {
	for _, set := range []*addedSet{&t.raw, &t.norm} {
		for _, a := range set.toks {
			if a.text == token {
				return a.id, true
			}
		}
	}
	id, ok := t.vocab[token]
	return int64(id), ok
}

// contentLimit is how many content ids Encode keeps (-1: no limit).
func (t *Tokenizer) contentLimit() int {
	switch {
	case t.MaxLength <= 0:
		return -1
	case t.MaxLength < 2:
		return 0
	default:
		return t.MaxLength - 2
	}
}

// Encode returns the ids of text framed by the start and end tokens,
// truncated to MaxLength and never padded.
func (t *Tokenizer) Encode(text string) []int64 {
	limit := t.contentLimit()
	if t.truncateLeft {
		// Left truncation keeps the tail, so the whole text is needed.
		limit = -1
	}
	if ids, ok := t.encodePrefix(text, limit); ok {
		return append(ids, t.endID)
	}
	ids := t.encode(text, limit)
	if n := t.contentLimit(); t.truncateLeft && n >= 0 && len(ids)-1 > n {
		copy(ids[1:], ids[len(ids)-n:])
		ids = ids[:1+n]
	}
	return append(ids, t.endID)
}

// encode returns the start id and at most limit content ids (-1: all).
func (t *Tokenizer) encode(text string, limit int) []int64 {
	e := encoder{t: t, limit: limit, ids: make([]int64, 1, 16)}
	e.ids[0] = t.startID
	e.run(text)
	return e.ids
}

// prefixWindow is the first prefix of a long text that encodePrefix tries.
const prefixWindow = 4 << 10

// encodePrefix keeps the cost of a long text proportional to what is kept:
// only the kept ids are wanted, so it tokenises growing prefixes of the
// text and stops at the first one that yields, beyond the limit, as many
// ids again as a margin (at least 64). Whatever the cut changes (the last
// pre-token split in two, a special token or an NFC sequence cut short, a
// BPE merge chain reaching back) lies behind that margin, so the kept ids
// are those of the whole text. Without a limit, or when no prefix yields
// enough, ok is false and the caller tokenises everything.
func (t *Tokenizer) encodePrefix(text string, limit int) (ids []int64, ok bool) {
	if limit < 0 || len(text) <= prefixWindow {
		return nil, false
	}
	need := limit + max(limit, 64)
	for k := prefixWindow; k < len(text); k *= 2 {
		cut := k
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		if ids := t.encode(text[:cut], need); len(ids)-1 >= need {
			return ids[:1+limit], true
		}
	}
	return nil, false
}

// Batch is a padded, row-major block of encoded texts.
type Batch struct {
	IDs     []int64 // [Rows*SeqLen], PadID after each row's end token
	Mask    []int64 // [Rows*SeqLen], 1 on real tokens, 0 on padding
	Rows    int
	SeqLen  int   // length of the longest row
	Lengths []int // real (unpadded) length of each row
}

// Row returns row i's ids, padding included.
func (b Batch) Row(i int) []int64 { return b.IDs[i*b.SeqLen : (i+1)*b.SeqLen] }

// EncodeBatch encodes texts and pads them to the longest one (not to
// MaxLength), which keeps short label batches cheap to run.
func (t *Tokenizer) EncodeBatch(texts []string) Batch {
	rows := make([][]int64, len(texts))
	b := Batch{Rows: len(texts), Lengths: make([]int, len(texts))}
	for i, s := range texts {
		rows[i] = t.Encode(s)
		b.Lengths[i] = len(rows[i])
		b.SeqLen = max(b.SeqLen, len(rows[i]))
	}
	b.IDs = make([]int64, b.Rows*b.SeqLen)
	b.Mask = make([]int64, b.Rows*b.SeqLen)
	for i, r := range rows {
		ids := b.IDs[i*b.SeqLen : (i+1)*b.SeqLen]
		mask := b.Mask[i*b.SeqLen : (i+1)*b.SeqLen]
		copy(ids, r)
		for j := range ids {
			if j < len(r) {
				mask[j] = 1
			} else {
				ids[j] = t.padID
			}
		}
	}
	return b
}

// pieceCache remembers BPE results per pre-token. Like the Rust library it
// stops growing when full rather than evicting: labels repeat, and a full
// cache only costs the BPE work it would have saved.
type pieceCache struct {
	mu sync.RWMutex
	m  map[string][]int32
}

const (
	cacheCapacity = 10000
	cacheMaxPiece = 256 // bytes; longer pieces are rare and not worth keeping
)

func (c *pieceCache) get(piece []byte) ([]int32, bool) {
	c.mu.RLock()
	ids, ok := c.m[string(piece)] // no allocation for a lookup
	c.mu.RUnlock()
	return ids, ok
}

func (c *pieceCache) put(piece []byte, ids []int32) {
	if len(piece) > cacheMaxPiece {
		return
	}
	c.mu.Lock()
	if len(c.m) < cacheCapacity {
		c.m[string(piece)] = ids
	}
	c.mu.Unlock()
}
