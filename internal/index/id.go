package index

import (
	"crypto/sha1"
	"encoding/hex"
)

// ItemID is an item's stable identifier: a name-based (version 5) UUID of
// "image:" + path or "text:" + text in the namespace ItemIDNamespace. It
// depends on the key alone, so it survives re-embedding, compaction,
// merges and sharding, and anyone can recompute it:
//
//	uuid.uuid5(uuid.UUID("<ItemIDNamespace>"), "image:" + path)
//
// Keys are unique within an index, so ids are too; 122 hash bits make a
// collision between different keys practically impossible.
func ItemID(it Item) string {
	if it.IsText {
		return uuid5(itemIDNamespace, "text:", it.Text)
	}
	return uuid5(itemIDNamespace, "image:", it.Path)
}

// ItemIDNamespace is the namespace of ItemID: itself the version 5 UUID
// of the URL https://github.com/fashionclip/fashionclip/item in the
// standard URL namespace.
const ItemIDNamespace = "9c839fe0-9d40-5c73-bbdb-b87dffd8f4bb"

var itemIDNamespace = mustParseUUID(ItemIDNamespace)

// uuid5 is RFC 9562's name-based UUID with SHA-1 of prefix + name. Export
// makes one per item: the bytes hashed sit on the stack unless the name is
// long.
func uuid5(ns [16]byte, prefix, name string) string {
	var stack [256]byte
	b := append(append(append(stack[:0], ns[:]...), prefix...), name...)
	sum := sha1.Sum(b)
	var u [16]byte
	copy(u[:], sum[:])
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return formatUUID(u)
}

func formatUUID(u [16]byte) string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}

func mustParseUUID(s string) [16]byte {
	var u [16]byte
	clean := make([]byte, 0, 32)
	for i := 0; i < len(s); i++ {
		if s[i] != '-' {
			clean = append(clean, s[i])
		}
	}
	if n, err := hex.Decode(u[:], clean); err != nil || n != 16 {
		panic("bad UUID " + s)
	}
	return u
}
