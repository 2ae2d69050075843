package cli

import "github.com/fashionclip/fashionclip/internal/source"

// noShard processes every input.
var noShard = source.Shard{}
