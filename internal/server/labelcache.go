package server

import (
	"container/list"
	"context"
	"encoding/json"
	"sync"
)

// labelCache is an LRU of embedded label sets keyed by labels + templates.
// Clients tend to send the same label list with every image, and embedding
// it costs a text-encoder run per label and template. Concurrent misses of
// one key share a single embedding run.
type labelCache struct {
	mu       sync.Mutex
	capacity int
	order    *list.List // front = most recently used; values are *cacheEntry
	items    map[string]*list.Element
	inflight map[string]*flight
}

type cacheEntry struct {
	key string
	val LabelSet
}

type flight struct {
	done chan struct{}
	val  LabelSet
	err  error
}

func newLabelCache(capacity int) *labelCache {
	return &labelCache{capacity: capacity, order: list.New(), items: map[string]*list.Element{}, inflight: map[string]*flight{}}
}

// labelKey is unambiguous whatever the labels contain (commas, quotes, ...).
func labelKey(labels, templates []string) string {
	b, _ := json.Marshal([2][]string{labels, templates})
	return string(b)
}

// get returns the cached set for key or computes it; hit reports a cache hit
// (including a wait on another request's run of the same key).
func (c *labelCache) get(ctx context.Context, key string, compute func() (LabelSet, error)) (set LabelSet, hit bool, err error) {
	for {
		c.mu.Lock()
		if el, ok := c.items[key]; ok {
			c.order.MoveToFront(el)
			c.mu.Unlock()
			return el.Value.(*cacheEntry).val, true, nil
		}
		if f, ok := c.inflight[key]; ok {
			c.mu.Unlock()
			select {
			case <-f.done:
				if f.err == nil {
					return f.val, true, nil
				}
				// The other request failed, perhaps only because it was
				// cancelled: try again with this request's own context.
				if err := ctx.Err(); err != nil {
					return nil, false, err
				}
				continue
			case <-ctx.Done():
				return nil, false, ctx.Err()
			}
		}
		f := &flight{done: make(chan struct{})}
		c.inflight[key] = f
		c.mu.Unlock()

		f.val, f.err = compute()

		c.mu.Lock()
		delete(c.inflight, key)
		if f.err == nil && c.capacity > 0 {
			c.items[key] = c.order.PushFront(&cacheEntry{key: key, val: f.val})
			for c.order.Len() > c.capacity {
				last := c.order.Back()
				c.order.Remove(last)
				delete(c.items, last.Value.(*cacheEntry).key)
			}
		}
		c.mu.Unlock()
		close(f.done)
		return f.val, false, f.err
	}
}

// len is the number of cached sets.
func (c *labelCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
