package templates

import (
	"sync"

	"github.com/hashicorp/golang-lru/v2/simplelru"
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

// parseCache is a concurrency-safe least-recently-used cache of parsed
// templates keyed by their source, bounded by entries and by source bytes.
// Parsing happens outside the lock; two goroutines missing the same key at
// once both parse it and one result is kept, which is harmless since parsing
// is deterministic.
type parseCache struct {
	maxBytes int

	mu     sync.Mutex
	bytes  int // source bytes held; the eviction callback keeps it
	lru    *simplelru.LRU[cacheKey, parsed]
	parses int // parses performed, for tests
}

func newParseCache(maxEntries, maxBytes int) *parseCache {
	c := &parseCache{maxBytes: maxBytes}
	// NewLRU fails only for a size below 1, which the constants rule out.
	c.lru, _ = simplelru.NewLRU(maxEntries, func(k cacheKey, _ parsed) { c.bytes -= len(k.src) })
	return c
}

// get returns the parsed template of key, parsing it with parse on a miss.
func (c *parseCache) get(key cacheKey, parse func(kind, string) parsed) parsed {
	c.mu.Lock()
	if v, ok := c.lru.Get(key); ok {
		c.mu.Unlock()
		return v
	}
	c.mu.Unlock()

	v := parse(key.kind, key.src)

	c.mu.Lock()
	defer c.mu.Unlock()
	c.parses++
	if old, ok := c.lru.Get(key); ok { // another goroutine got here first
		return old
	}
	size := len(key.src)
	if size > c.maxBytes {
		return v
	}
	c.bytes += size
	c.lru.Add(key, v) // evicts the oldest past maxEntries
	for c.bytes > c.maxBytes {
		c.lru.RemoveOldest()
	}
	return v
}

// stats reports the entries held, their source bytes and the parses done.
func (c *parseCache) stats() (entries, bytes, parses int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len(), c.bytes, c.parses
}
