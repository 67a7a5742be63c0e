package worker

import (
	"context"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"

	"github.com/beckonhealth/beckon"
)

// snapshots keeps clinics and campaigns for a moment: every send of a wave
// reads the same few, and they change rarely. A campaign is used only at the
// revision the send was planned for (a changed campaign supersedes its planned
// sends in the same transaction, so a newer one is always read afresh).
// Appointments and patients — cancellations, opt-outs — are always read.
type snapshots struct {
	st  DeliveryStore
	ttl time.Duration // 0: no caching

	mu        sync.Mutex
	clinics   *simplelru.LRU[string, snapshot[beckon.Clinic]]
	campaigns *simplelru.LRU[[2]string, snapshot[beckon.Campaign]]
}

type snapshot[T any] struct {
	v  T
	at time.Time // wall clock, for freshness only
}

// maxSnapshots bounds each cache; past it the least recently used goes.
const maxSnapshots = 10_000

func newSnapshots(st DeliveryStore, ttl time.Duration) *snapshots {
	// NewLRU fails only for a size below 1.
	clinics, _ := simplelru.NewLRU[string, snapshot[beckon.Clinic]](maxSnapshots, nil)
	campaigns, _ := simplelru.NewLRU[[2]string, snapshot[beckon.Campaign]](maxSnapshots, nil)
	return &snapshots{st: st, ttl: ttl, clinics: clinics, campaigns: campaigns}
}

func (s *snapshots) clinic(ctx context.Context, id string) (beckon.Clinic, error) {
	return cached(s, s.clinics, id, func(beckon.Clinic) bool { return true }, func() (beckon.Clinic, error) {
		return s.st.ClinicGet(ctx, id)
	})
}

func (s *snapshots) campaign(ctx context.Context, clinicID, id string, revision int64) (beckon.Campaign, error) {
	return cached(s, s.campaigns, [2]string{clinicID, id}, func(c beckon.Campaign) bool { return c.Revision == revision }, func() (beckon.Campaign, error) {
		return s.st.CampaignGet(ctx, clinicID, id)
	})
}

// cached returns the value under key if it is fresh and usable, else reads
// it and keeps it.
func cached[K comparable, T any](s *snapshots, c *simplelru.LRU[K, snapshot[T]], key K, usable func(T) bool, read func() (T, error)) (T, error) {
	s.mu.Lock()
	sn, ok := c.Get(key)
	s.mu.Unlock()
	if ok && usable(sn.v) && time.Since(sn.at) < s.ttl {
		return sn.v, nil
	}
	v, err := read()
	if err != nil || s.ttl <= 0 {
		return v, err
	}
	s.mu.Lock()
	c.Add(key, snapshot[T]{v: v, at: time.Now()})
	s.mu.Unlock()
	return v, nil
}
