package output

import (
	"strconv"
	"strings"
)

// Plural counts a noun for messages: "1 item", "2 items", "0 chunks",
// "3 indexes", "2 entries", "2 stale entries" (the last word is inflected).
func Plural(n int, noun string) string {
	return strconv.Itoa(n) + " " + PluralNoun(n, noun)
}

// PluralNoun is the noun alone, in the form n needs: for "2 of 3 inputs".
func PluralNoun(n int, noun string) string {
	if n == 1 || n == -1 || noun == "" {
		return noun
	}
	switch {
	case strings.HasSuffix(noun, "s"), strings.HasSuffix(noun, "x"), strings.HasSuffix(noun, "z"),
		strings.HasSuffix(noun, "ch"), strings.HasSuffix(noun, "sh"):
		return noun + "es"
	case strings.HasSuffix(noun, "y") && len(noun) > 1 && !strings.ContainsRune("aeiou", rune(noun[len(noun)-2])):
		return noun[:len(noun)-1] + "ies"
	}
	return noun + "s"
}
