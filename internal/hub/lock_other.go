//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package hub

import (
	"context"
	"errors"
	"sync"
)

// Without flock the lock only excludes goroutines of this process; two
// processes pulling the same file at once may both download it (the rename
// into blobs/ is still atomic and the content verified).
var localLocks sync.Map

func lockFile(ctx context.Context, path string) (func(), error) {
	v, _ := localLocks.LoadOrStore(path, make(chan struct{}, 1))
	ch := v.(chan struct{})
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func freeSpace(string) (uint64, error) { return 0, errors.New("free space unknown on this platform") }
