package api

import (
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// Inbound messages arrive in bursts to a few senders: which clinic a
// sender is, its channel settings and whether a clinic exists are kept for
// inboundLookupTTL, so that a burst reads them once a moment instead of
// once a message. A changed sender or auth token applies within it.
const (
	inboundLookupTTL  = 2 * time.Second
	inboundLookupSize = 10_000
)

// lookupCache keeps values for inboundLookupTTL (wall clock: freshness
// only, nothing a patient's messages are timed by). Only successful
// lookups are kept.
type lookupCache[K comparable, V any] struct {
	mu  sync.Mutex
	lru *simplelru.LRU[K, lookup[V]]
}

type lookup[V any] struct {
	v  V
	at time.Time
}

// get returns the value under key if it is fresh, else reads it (and
// keeps it when read without error).
func (c *lookupCache[K, V]) get(key K, read func() (V, error)) (V, error) {
	c.mu.Lock()
	if c.lru == nil {
		// NewLRU fails only for a size below 1.
		c.lru, _ = simplelru.NewLRU[K, lookup[V]](inboundLookupSize, nil)
	}
	l, ok := c.lru.Get(key)
	c.mu.Unlock()
	if ok && time.Since(l.at) < inboundLookupTTL {
		return l.v, nil
	}
	v, err := read()
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	c.lru.Add(key, lookup[V]{v: v, at: time.Now()})
	c.mu.Unlock()
	return v, nil
}
