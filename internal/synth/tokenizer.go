package synth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// CLIP's vocabulary layout, which the synthetic tokenizer keeps.
const (
	VocabSize  = 49408
	StartToken = 49406 // <|startoftext|>
	EndToken   = 49407 // <|endoftext|>
)

// words seeds the synthetic BPE merges. The real CLIP vocabulary is not
// ours to ship, so the merges are learnt from this list instead: common
// English words and the vocabulary of product descriptions.
var words = strings.Fields(`
a an the of in on with and or for to by at from is are this that it its
photo picture image shot close up view front back side top bottom left right
red blue green yellow black white grey gray pink purple orange brown beige navy
cream ivory olive teal maroon khaki gold silver tan burgundy mustard coral mint
lavender turquoise charcoal denim floral striped checked plaid dotted solid
printed patterned embroidered knitted woven quilted pleated ruffled sequined
dress shirt tshirt blouse top skirt trousers pants jeans shorts leggings jacket
coat blazer suit vest cardigan sweater jumper hoodie sweatshirt tunic jumpsuit
romper gown kimono poncho parka raincoat trench bomber overcoat waistcoat
sneaker sneakers boot boots shoe shoes sandal sandals heel heels loafer loafers
pump pumps slipper slippers trainer trainers moccasin espadrille clog mule
bag handbag backpack tote clutch purse wallet belt scarf hat cap beanie gloves
sunglasses glasses watch necklace bracelet ring earring earrings jewelry socks
tie bowtie bra lingerie swimsuit bikini pajamas robe underwear
cotton linen silk wool leather suede velvet satin lace chiffon cashmere nylon
polyester canvas corduroy fleece fur rubber mesh jersey tweed
long short sleeve sleeveless collar collared hooded zip button buttoned pocket
pockets slim fit loose oversized cropped tailored fitted wide leg high low
waist neck crew round square pointed toe ankle knee mini midi maxi
men women man woman boy girl kids child baby unisex adult
casual formal party wedding evening summer winter spring autumn fall beach
sport sports running hiking office work vintage classic modern elegant cute
new old small large big little light dark bright pale soft warm cool
one two three pair set pack style fashion outfit look wear clothing apparel
product model person standing sitting wearing holding
`)

// byteSymbols maps each byte to the printable rune GPT-2 and CLIP use for it
// in byte-level BPE, listed in vocabulary order: printable Latin-1 bytes map
// to themselves, the others to code points from 256 on.
func byteSymbols() (order []byte, sym [256]string) {
	printable := func(c int) bool {
		return (c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF)
	}
	for c := range 256 {
		if printable(c) {
			order = append(order, byte(c))
			sym[c] = string(rune(c))
		}
	}
	next := 256
	for c := range 256 {
		if !printable(c) {
			order = append(order, byte(c))
			sym[c] = string(rune(next))
			next++
		}
	}
	return order, sym
}

// vocabulary is the synthetic tokenizer: token strings by id and merges in
// rank order.
type vocabulary struct {
	tokens []string
	merges [][2]string
}

// buildVocabulary lays out ids as CLIP does: 256 byte symbols, their 256
// word-final forms, merge results in merge order, fillers nothing can
// produce, then the start and end tokens.
func buildVocabulary() *vocabulary {
	order, sym := byteSymbols()
	v := &vocabulary{tokens: make([]string, 0, VocabSize)}
	for _, c := range order {
		v.tokens = append(v.tokens, sym[c])
	}
	for _, c := range order {
		v.tokens = append(v.tokens, sym[c]+"</w>")
	}
	seen := make(map[string]bool, VocabSize)
	for _, t := range v.tokens {
		seen[t] = true
	}
	for _, m := range learnMerges(words, sym) {
		v.merges = append(v.merges, m)
		if t := m[0] + m[1]; !seen[t] {
			seen[t] = true
			v.tokens = append(v.tokens, t)
		}
	}
	for i := 0; len(v.tokens) < StartToken; i++ {
		v.tokens = append(v.tokens, fmt.Sprintf("<|filler_%05d|>", i))
	}
	v.tokens = append(v.tokens, "<|startoftext|>", "<|endoftext|>")
	return v
}

// learnMerges runs byte-pair training over the word list until every word
// is a single token: each round merges the most frequent adjacent pair
// (ties go to the lexically smallest), so the result is deterministic.
func learnMerges(ws []string, sym [256]string) [][2]string {
	var seqs [][]string
	done := map[string]bool{}
	for _, w := range ws {
		if done[w] {
			continue
		}
		done[w] = true
		s := make([]string, len(w))
		for i := range len(w) {
			s[i] = sym[w[i]]
		}
		s[len(s)-1] += "</w>"
		seqs = append(seqs, s)
	}
	var merges [][2]string
	for {
		counts := map[[2]string]int{}
		for _, s := range seqs {
			for i := 0; i+1 < len(s); i++ {
				counts[[2]string{s[i], s[i+1]}]++
			}
		}
		if len(counts) == 0 {
			return merges
		}
		var best [2]string
		bestN := 0
		for p, n := range counts {
			if n > bestN || (n == bestN && (p[0] < best[0] || (p[0] == best[0] && p[1] < best[1]))) {
				best, bestN = p, n
			}
		}
		merges = append(merges, best)
		for k, s := range seqs {
			out := s[:0:0]
			for i := 0; i < len(s); i++ {
				if i+1 < len(s) && s[i] == best[0] && s[i+1] == best[1] {
					out = append(out, best[0]+best[1])
					i++
				} else {
					out = append(out, s[i])
				}
			}
			seqs[k] = out
		}
	}
}

// ---- files ----

// jsonString encodes s as JSON without HTML escaping, as Python writes it.
func jsonString(s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// vocabJSON is vocab.json: token → id, in id order (a Go map would sort).
func (v *vocabulary) vocabJSON() []byte {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for id, t := range v.tokens {
		if id > 0 {
			buf.WriteString(", ")
		}
		buf.Write(jsonString(t))
		fmt.Fprintf(&buf, ": %d", id)
	}
	buf.WriteByte('}')
	return buf.Bytes()
}

func (v *vocabulary) mergesTxt() []byte {
	var buf bytes.Buffer
	buf.WriteString("#version: 0.2\n")
	for _, m := range v.merges {
		buf.WriteString(m[0] + " " + m[1] + "\n")
	}
	return buf.Bytes()
}

// tokenizerJSON is the tokenizers-library file with CLIP's pipeline:
// NFC + whitespace squeeze + lowercase, CLIP's split regex then byte-level,
// start/end tokens around each text.
func (v *vocabulary) tokenizerJSON() []byte {
	type addedToken struct {
		ID      int    `json:"id"`
		Content string `json:"content"`
		Special bool   `json:"special"`
	}
	merges := make([]string, len(v.merges))
	for i, m := range v.merges {
		merges[i] = m[0] + " " + m[1]
	}
	head := map[string]any{
		"added_tokens": []addedToken{
			{StartToken, v.tokens[StartToken], true},
			{EndToken, v.tokens[EndToken], true},
		},
		"normalizer": map[string]any{"type": "Sequence", "normalizers": []any{
			map[string]any{"type": "NFC"},
			map[string]any{"type": "Replace", "pattern": map[string]any{"Regex": `\s+`}, "content": " "},
			map[string]any{"type": "Lowercase"},
		}},
		"pre_tokenizer": map[string]any{"type": "Sequence", "pretokenizers": []any{
			map[string]any{
				"type":     "Split",
				"pattern":  map[string]any{"Regex": `<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`},
				"behavior": "Removed",
				"invert":   true,
			},
			map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false},
		}},
		"post_processor": map[string]any{
			"type":         "RobertaProcessing",
			"sep":          []any{v.tokens[EndToken], EndToken},
			"cls":          []any{v.tokens[StartToken], StartToken},
			"trim_offsets": false, "add_prefix_space": false,
		},
		"decoder": map[string]any{"type": "ByteLevel"},
	}
	// Keys in the tokenizers library's order; the vocab keeps id order.
	var buf bytes.Buffer
	buf.WriteString(`{"version": "1.0", "truncation": null, "padding": null`)
	for _, k := range []string{"added_tokens", "normalizer", "pre_tokenizer", "post_processor", "decoder"} {
		buf.WriteString(", ")
		buf.Write(jsonString(k))
		buf.WriteString(": ")
		buf.Write(compactJSON(head[k]))
	}
	buf.WriteString(`, "model": {"type": "BPE", "dropout": null, "unk_token": "<|endoftext|>", "continuing_subword_prefix": "", "end_of_word_suffix": "</w>", "fuse_unk": false, "vocab": `)
	buf.Write(v.vocabJSON())
	buf.WriteString(`, "merges": [`)
	for i, m := range merges {
		if i > 0 {
			buf.WriteString(", ")
		}
		buf.Write(jsonString(m))
	}
	buf.WriteString("]}}")
	return buf.Bytes()
}

// compactJSON marshals v with sorted map keys and no HTML escaping.
func compactJSON(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err) // only fixed, encodable literals reach here
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}
