package api

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/apikeys"
	"github.com/beckonhealth/beckon/ratelimit"
)

// How API keys are checked on every request (authorize):
//
//  1. A client address with too many failed authentications in the window
//     (Limits.AuthFailures) is answered 429 before its key is looked at.
//  2. The key is read through keyCache: a key read from the store is
//     trusted for KeyCacheTTL (default 2 s), so a revocation or an expiry
//     written by any process is seen by every process within that time.
//  3. An unknown, revoked or expired key is a failed authentication: 401,
//     logged at warn with the key's prefix (never the key) and the client
//     address, and counted against the address.
//  4. The key's use is written (LastUsedAt) at most once a minute per key
//     and process, not on every request.
//  5. The key's role, then its rate limit for the route's class.

// touchEvery is how often a key's last use is written at most.
const touchEvery = time.Minute

// keyCacheMax bounds the cache; when full it is emptied (keys are few, a
// flood of distinct keys is unknown keys, which are not cached).
const keyCacheMax = 10_000

// keyCache holds the keys read from the store for a short time, by hash.
type keyCache struct {
	ttl time.Duration

	mu      sync.Mutex
	keys    map[string]cachedKey
	touched map[string]time.Time // key id → the last use written
}

type cachedKey struct {
	key  beckon.APIKey
	read time.Time // wall time, for the TTL only
}

func newKeyCache(ttl time.Duration) *keyCache {
	return &keyCache{ttl: ttl, keys: map[string]cachedKey{}, touched: map[string]time.Time{}}
}

// get returns the key with this hash, from the cache or the store.
func (c *keyCache) get(ctx context.Context, st beckon.Store, hash string) (beckon.APIKey, error) {
	if c.ttl > 0 {
		c.mu.Lock()
		e, ok := c.keys[hash]
		c.mu.Unlock()
		if ok && time.Since(e.read) < c.ttl {
			return e.key, nil
		}
	}
	k, err := st.APIKeyGetByHash(ctx, hash)
	if err != nil || c.ttl <= 0 {
		return k, err
	}
	c.mu.Lock()
	if len(c.keys) >= keyCacheMax {
		clear(c.keys)
	}
	c.keys[hash] = cachedKey{key: k, read: time.Now()}
	c.mu.Unlock()
	return k, nil
}

// forget drops a key this process changed (revoked), so that this process
// refuses it at once.
func (c *keyCache) forget(hash string) {
	c.mu.Lock()
	delete(c.keys, hash)
	c.mu.Unlock()
}

// touchDue reports whether the key's use at now should be written, and if
// so notes it as written.
func (c *keyCache) touchDue(k beckon.APIKey, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	last, ok := c.touched[k.ID]
	if !ok {
		last = k.LastUsedAt
	}
	if !last.IsZero() && now.Sub(last) < touchEvery && !now.Before(last) {
		return false
	}
	if len(c.touched) >= keyCacheMax {
		clear(c.touched)
	}
	c.touched[k.ID] = now
	return true
}

// authorize checks the request's bearer key for roles and takes one request
// from the key's limit for the route's class; on failure the error to answer
// (with its headers). The RateLimit headers of an allowed request are set on w.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, roles []beckon.Role) (beckon.APIKey, *Error) {
	secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	secret = strings.TrimSpace(secret)
	if !ok || secret == "" {
		return beckon.APIKey{}, newError(http.StatusUnauthorized, CodeUnauthorized, "missing bearer API key in the Authorization header")
	}
	ctx := r.Context()
	addr := clientAddr(r)
	lim := s.cfg.Limits
	if d := lim.Limiter.Exhausted(ctx, "authfail:"+addr, lim.AuthFailures); !d.Allowed {
		e := newError(http.StatusTooManyRequests, CodeRateLimited, "too many failed authentications from this address; retry later")
		e.header = http.Header{}
		d.SetHeaders(e.header)
		return beckon.APIKey{}, e
	}
	key, err := s.keys.get(ctx, s.store, HashKey(secret))
	if errors.Is(err, beckon.ErrNotFound) {
		return beckon.APIKey{}, s.refuseKey(ctx, secret, addr, "unknown")
	}
	if err != nil {
		s.logger.Error("api key lookup failed", slog.String("error", err.Error()))
		return beckon.APIKey{}, newError(http.StatusServiceUnavailable, CodeUnavailable, "cannot check the API key now")
	}
	now := s.cfg.Clock.Now()
	if why := key.Usable(now); why != "" {
		return beckon.APIKey{}, s.refuseKey(ctx, secret, addr, why)
	}
	if s.keys.touchDue(key, now) {
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		if err := s.store.APIKeyTouch(tctx, key.ID, now); err != nil {
			s.logger.Warn("api key last use not recorded", slog.String("key_id", key.ID), slog.String("error", err.Error()))
		}
		cancel()
	}
	if !slices.Contains(roles, key.Role) {
		return beckon.APIKey{}, newError(http.StatusForbidden, CodeForbidden, "this API key's role ("+string(key.Role)+") may not do this")
	}
	class := routeClass(r.URL.Path)
	d := lim.Limiter.Allow(ctx, key.ID+":"+class, lim.forClass(class))
	if !d.Allowed {
		e := newError(http.StatusTooManyRequests, CodeRateLimited, "this API key is over its "+class+" rate limit ("+lim.forClass(class).String()+"); retry after the Retry-After seconds")
		e.header = http.Header{}
		d.SetHeaders(e.header)
		return beckon.APIKey{}, e
	}
	d.SetHeaders(w.Header())
	return key, nil
}

// refuseKey answers a key that is presented but not valid: logged with its
// prefix and the client's address, and counted against the address.
func (s *Server) refuseKey(ctx context.Context, secret, addr, why string) *Error {
	s.logger.Warn("api key refused",
		slog.String("reason", why),
		slog.String("key_prefix", keyPrefix(secret)),
		slog.String("client", addr))
	s.cfg.Limits.Limiter.Allow(ctx, "authfail:"+addr, s.cfg.Limits.AuthFailures)
	msg := "unknown API key"
	if why != "unknown" {
		msg = "this API key is " + why
	}
	return newError(http.StatusUnauthorized, CodeUnauthorized, msg)
}

// keyPrefix is apikeys.Prefix of a presented secret for a log line: shorter
// than that of a real key when the secret is short, and only the characters
// a key is made of.
func keyPrefix(secret string) string {
	p := apikeys.Prefix(secret)
	if len(secret) <= beckon.APIKeyPrefixLen {
		p = p[:len(p)/2] // a short secret is not a key: keep half at most
	}
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '?'
	}, p)
}

// clientAddr is the request's remote IP address (the connection's: a proxy
// in front of Beckon is seen as one client).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Route classes, each with its own rate limit.
const (
	classAPI      = "api"
	classFeeds    = "feeds"
	classWebhooks = "webhooks"
)

// routeClass is the rate-limit class of a path: feeds (HL7 v2, FHIR R4 and
// the REST batch ingest), webhooks (the providers'), else api.
func routeClass(path string) string {
	switch {
	case path == "/hl7/v2", path == "/fhir/r4", strings.HasPrefix(path, "/fhir/r4/"), path == "/v1/appointments/batch":
		return classFeeds
	case strings.HasPrefix(path, "/webhooks/"):
		return classWebhooks
	}
	return classAPI
}

// Limits are the API's request limits.
type Limits struct {
	// Limiter checks them; nil: nothing is limited.
	Limiter *ratelimit.Limiter
	// API, Feeds: requests per API key to the REST API and to the EHR feeds
	// (HL7 v2, FHIR R4, the REST batch).
	API, Feeds ratelimit.Limit
	// Webhooks: provider webhook requests per client address.
	Webhooks ratelimit.Limit
	// AuthFailures: failed authentications per client address before the
	// address is answered 429 without its key being checked.
	AuthFailures ratelimit.Limit
}

func (l Limits) forClass(class string) ratelimit.Limit {
	switch class {
	case classFeeds:
		return l.Feeds
	case classWebhooks:
		return l.Webhooks
	}
	return l.API
}

// limitWebhook takes one request from the client address's webhook limit;
// false when it has answered 429.
func (s *Server) limitWebhook(w http.ResponseWriter, r *http.Request) bool {
	lim := s.cfg.Limits
	d := lim.Limiter.Allow(r.Context(), "addr:"+clientAddr(r)+":"+classWebhooks, lim.Webhooks)
	if d.Allowed {
		d.SetHeaders(w.Header())
		return true
	}
	e := newError(http.StatusTooManyRequests, CodeRateLimited, "too many webhook requests from this address; retry after the Retry-After seconds")
	e.header = http.Header{}
	d.SetHeaders(e.header)
	writeError(w, e)
	return false
}
