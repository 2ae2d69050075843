package index

import (
	"testing"
)

// TestItemID checks ids against Python's uuid module (the values below
// are uuid.uuid5 of the same names) so that users can recompute them.
func TestItemID(t *testing.T) {
	if got := uuid5(mustParseUUID("6ba7b811-9dad-11d1-80b4-00c04fd430c8"), "", "https://github.com/fashionclip/fashionclip/item"); got != ItemIDNamespace {
		t.Errorf("namespace = %s, want %s", got, ItemIDNamespace)
	}
	for _, tc := range []struct {
		it   Item
		want string
	}{
		{Item{Path: "catalog/a.jpg"}, "1f7f0281-3c8e-5f1a-8422-17646fff3235"},
		{Item{Text: "white sneaker", IsText: true}, "0ea78535-8079-59e8-b2d9-7bf628bb28d3"},
		{Item{Path: "été/ü.jpg"}, "0ad753c9-281c-56c6-a0fa-bbd3816f3a6d"},
	} {
		if got := ItemID(tc.it); got != tc.want {
			t.Errorf("ItemID(%+v) = %s, want %s", tc.it, got, tc.want)
		}
	}
	if ItemID(Item{Path: "x"}) == ItemID(Item{Text: "x", IsText: true}) {
		t.Error("an image and a text with the same string share an id")
	}
}

func BenchmarkItemID(b *testing.B) {
	it := Item{Path: "catalog/0000001.jpg"}
	b.ReportAllocs()
	for b.Loop() {
		ItemID(it)
	}
}
