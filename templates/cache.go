package templates

import (
	"container/list"
	"sync"
)

// Cache bounds: at most cacheEntries parsed templates whose sources total at
// most cacheBytes. A source is at most maxSource bytes (see parse), so a full
// cache holds at least cacheBytes/maxSource entries.
const (
	cacheEntries = 1024
	cacheBytes   = 8 << 20
)

// cacheKey names a parsed template: its kind and its exact source text.
type cacheKey struct {
	kind kind
	src  string
}

// parsed is the outcome of parsing one source: a template or the error.
// Errors are cached too, so a broken template rendered again and again is
// not parsed again and again.
type parsed struct {
	tmpl executor
	err  error
}

type cacheEntry struct {
	key cacheKey
	val parsed
}

// parseCache is a concurrency-safe least-recently-used cache of parsed
// templates keyed by their source. Parsing happens outside the lock; two
// goroutines missing the same key at once both parse it and one result is
// kept, which is harmless since parsing is deterministic.
type parseCache struct {
	maxEntries, maxBytes int

	mu     sync.Mutex
	bytes  int
	order  *list.List // of *cacheEntry, most recently used first
	byKey  map[cacheKey]*list.Element
	parses int // parses performed, for tests
}

func newParseCache(maxEntries, maxBytes int) *parseCache {
	return &parseCache{
		maxEntries: maxEntries,
		maxBytes:   maxBytes,
		order:      list.New(),
		byKey:      make(map[cacheKey]*list.Element),
	}
}

// get returns the parsed template of key, parsing it with parse on a miss.
func (c *parseCache) get(key cacheKey, parse func(kind, string) parsed) parsed {
	c.mu.Lock()
	if e, ok := c.byKey[key]; ok {
		c.order.MoveToFront(e)
		v := e.Value.(*cacheEntry).val
		c.mu.Unlock()
		return v
	}
	c.mu.Unlock()

	v := parse(key.kind, key.src)

	c.mu.Lock()
	defer c.mu.Unlock()
	c.parses++
	if e, ok := c.byKey[key]; ok { // another goroutine got here first
		c.order.MoveToFront(e)
		return e.Value.(*cacheEntry).val
	}
	size := len(key.src)
	if size > c.maxBytes {
		return v
	}
	c.byKey[key] = c.order.PushFront(&cacheEntry{key: key, val: v})
	c.bytes += size
	for c.order.Len() > c.maxEntries || c.bytes > c.maxBytes {
		oldest := c.order.Back()
		ce := oldest.Value.(*cacheEntry)
		c.order.Remove(oldest)
		delete(c.byKey, ce.key)
		c.bytes -= len(ce.key.src)
	}
	return v
}

// stats reports the entries held, their source bytes and the parses done.
func (c *parseCache) stats() (entries, bytes, parses int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len(), c.bytes, c.parses
}
