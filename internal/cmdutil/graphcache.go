package cmdutil

import (
	"github.com/fashionclip/fashionclip/internal/graphcache"
	"github.com/fashionclip/fashionclip/internal/ortlib"
)

func GraphCache(f *Factory) (graphcache.Cache, error) {
	dir, err := ortlib.GraphCacheDir(f.Getenv)
	return graphcache.Cache{Root: dir}, err
}
