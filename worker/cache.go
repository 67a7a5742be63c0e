package worker

import (
	"context"
	"sync"
	"time"

	"github.com/beckonhealth/beckon/store"
)

// snapshots keeps clinics and campaigns for a moment: every send of a wave
// reads the same few, and they change rarely. A campaign is used only at the
// revision the send was planned for (a changed campaign supersedes its planned
// sends in the same transaction, so a newer one is always read afresh).
// Appointments and patients — cancellations, opt-outs — are always read.
type snapshots struct {
	st  store.Store
	ttl time.Duration // 0: no caching

	mu        sync.Mutex
	clinics   map[string]snapshot[store.Clinic]
	campaigns map[[2]string]snapshot[store.Campaign]
}

type snapshot[T any] struct {
	v  T
	at time.Time // wall clock, for freshness only
}

// maxSnapshots bounds each map; past it the map starts over.
const maxSnapshots = 10_000

func newSnapshots(st store.Store, ttl time.Duration) *snapshots {
	return &snapshots{
		st:        st,
		ttl:       ttl,
		clinics:   map[string]snapshot[store.Clinic]{},
		campaigns: map[[2]string]snapshot[store.Campaign]{},
	}
}

func (s *snapshots) clinic(ctx context.Context, id string) (store.Clinic, error) {
	s.mu.Lock()
	c, ok := s.clinics[id]
	s.mu.Unlock()
	if ok && time.Since(c.at) < s.ttl {
		return c.v, nil
	}
	v, err := s.st.ClinicGet(ctx, id)
	if err != nil || s.ttl <= 0 {
		return v, err
	}
	s.mu.Lock()
	if len(s.clinics) >= maxSnapshots {
		s.clinics = map[string]snapshot[store.Clinic]{}
	}
	s.clinics[id] = snapshot[store.Clinic]{v: v, at: time.Now()}
	s.mu.Unlock()
	return v, nil
}

func (s *snapshots) campaign(ctx context.Context, clinicID, id string, revision int64) (store.Campaign, error) {
	key := [2]string{clinicID, id}
	s.mu.Lock()
	c, ok := s.campaigns[key]
	s.mu.Unlock()
	if ok && c.v.Revision == revision && time.Since(c.at) < s.ttl {
		return c.v, nil
	}
	v, err := s.st.CampaignGet(ctx, clinicID, id)
	if err != nil || s.ttl <= 0 {
		return v, err
	}
	s.mu.Lock()
	if len(s.campaigns) >= maxSnapshots {
		s.campaigns = map[[2]string]snapshot[store.Campaign]{}
	}
	s.campaigns[key] = snapshot[store.Campaign]{v: v, at: time.Now()}
	s.mu.Unlock()
	return v, nil
}
