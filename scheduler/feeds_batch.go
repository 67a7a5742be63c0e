package scheduler

import (
	"context"
	"errors"
	"sync"

	"github.com/beckonhealth/beckon"
)

// FeedBatch is feed events of one clinic that arrived together (on several
// MLLP connections), to apply in one transaction, each on its own: an event
// that cannot be applied is left out and the others go through.
type FeedBatch struct {
	ClinicID string
	Events   []FeedEvent
	Actor    string
	// TimeZone, when set, is the clinic's time zone the events were mapped
	// in: when the clinic's is another now, nothing is applied and the
	// error is ErrZoneChanged (map them again).
	TimeZone string
	// Plans, when set, keeps the clinic and its campaigns between batches;
	// the writes check they are still the stored ones (and the batch is run
	// again with them read afresh if not).
	Plans *PlanCache
	// Inbound are the messages to archive in the same transaction: rows,
	// not a callback, so that a run repeated after a lost version race
	// writes them as the first would have.
	Inbound []FeedInbound
}

// ErrZoneChanged: the clinic's time zone is no longer the one a batch's
// events were mapped in (FeedBatch.TimeZone); nothing was applied.
var ErrZoneChanged = errors.New("the clinic's time zone changed since the messages were mapped")

// FeedInbound is a message to archive with a batch. Event is the index of
// the event it carried, or -1 for a message answered without applying
// (archived as Applied is). For an event, Applied is archived with the
// event's Result when it applied, Refused when it could not be applied
// (ErrUnknownPatient, ErrIncompleteEvent).
type FeedInbound struct {
	Event   int
	Applied beckon.InboundMessage
	Refused beckon.InboundMessage
}

// inboundRows are the archive rows of in once every event is decided.
func inboundRows(in []FeedInbound, out []FeedOutcome) []beckon.InboundMessage {
	rows := make([]beckon.InboundMessage, len(in))
	for i, m := range in {
		switch {
		case m.Event < 0:
			rows[i] = m.Applied
		case out[m.Event].Err != nil:
			rows[i] = m.Refused
		default:
			rows[i] = m.Applied
			rows[i].Result = out[m.Event].Result.Result
		}
	}
	return rows
}

// FeedOutcome is what became of one event of a batch: Err is why it was
// not applied (ErrUnknownPatient, ErrIncompleteEvent), else Result holds
// what ApplyEvent would have returned.
type FeedOutcome struct {
	Result FeedResult
	Err    error
}

// ApplyFeedBatch applies the events in order as ApplyEvent would apply each
// in its own transaction, all of them together with a few set-at-a-time
// statements. An error is the whole batch's (a database failure): nothing
// was applied, and the caller may apply the events one by one to find the
// one at fault.
//
// On PostgreSQL, a batch whose writes fit one statement (each appointment
// once, no patient's time zone moved) runs without an explicit
// transaction: its reads see what was committed when each ran, as they
// would in a READ COMMITTED transaction, and its one write statement
// commits all or nothing, checking the appointments' versions (and the
// cached clinic and campaigns) as it goes. That saves the BEGIN and COMMIT
// round trips of every batch.
func (s *Service) ApplyFeedBatch(ctx context.Context, b FeedBatch) ([]FeedOutcome, error) {
	changes := make([]Change, len(b.Events))
	for i := range b.Events {
		changes[i] = Change{Event: &b.Events[i]}
	}
	rounds := Rounds(changes, maxFeedRound)
	var out []FeedOutcome
	apply := func(q beckon.Querier, oneStatement bool) error {
		st, verify, err := s.feedState(ctx, q, b)
		if err != nil {
			return err
		}
		out = make([]FeedOutcome, len(b.Events))
		for _, rg := range rounds {
			start, end := rg[0], rg[1]
			d, err := s.decideRound(ctx, q, st, changes[start:end], b.Actor)
			if err != nil {
				return err
			}
			if oneStatement && len(d.ZoneMoved) > 0 {
				return errNeedsTx
			}
			for i, o := range d.Outcomes {
				out[start+i] = FeedOutcome{Result: o.feedResult(), Err: o.Err}
			}
			w := d.Writes()
			if end == len(b.Events) {
				w.Inbound = inboundRows(b.Inbound, out) // every event is decided now
			}
			if verify {
				w.PlanRevision = st.Clinic.PlanRevision
				verify = false // the first round checks it for all
			}
			if err := write(ctx, q, w); err != nil {
				if errors.Is(err, beckon.ErrConflict) {
					b.Plans.forget(b.ClinicID) // run again with them read afresh
				}
				return err
			}
			s.logger().Debug("feed events applied",
				"clinic_id", b.ClinicID,
				"appointments", len(w.Appointments),
				"sends", len(w.Sends))
		}
		return nil
	}
	var err error
	if s.Store.Dialect() == beckon.DialectPostgres && len(rounds) == 1 {
		for range maxConflictRetries {
			if err = apply(s.Store, true); !errors.Is(err, beckon.ErrConflict) {
				break
			}
		}
		if errors.Is(err, errNeedsTx) {
			err = s.retryConflicts(ctx, func(q beckon.Querier) error { return apply(q, false) })
		}
	} else {
		err = s.retryConflicts(ctx, func(q beckon.Querier) error { return apply(q, false) })
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// errNeedsTx: a batch's writes do not fit one statement.
var errNeedsTx = errors.New("the batch needs a transaction")

// maxFeedRound bounds the events of a round (its read names at most
// three ids per event).
const maxFeedRound = 150

// feedState is the clinic and its campaigns for a batch: a cached copy
// when the batch has a cache (verify: the writes check it is current),
// else read; ErrZoneChanged when the clinic's time zone is not b.TimeZone.
func (s *Service) feedState(ctx context.Context, q beckon.Querier, b FeedBatch) (st *State, verify bool, err error) {
	zoneMoved := func(c beckon.Clinic) bool { return b.TimeZone != "" && c.TimeZone != b.TimeZone }
	st, cached := b.Plans.get(b.ClinicID)
	if cached && zoneMoved(st.Clinic) {
		cached = false // the copy may be stale: check the stored clinic
	}
	if !cached {
		if st, err = newState(ctx, q, b.ClinicID); err != nil {
			return nil, false, err
		}
		b.Plans.put(st)
	}
	if zoneMoved(st.Clinic) {
		return nil, false, ErrZoneChanged
	}
	return st, cached, nil
}

// PlanCache keeps clinics and their campaigns between feed batches: every
// batch needs them and they rarely change. A batch planned with a cached
// copy has its writes check that copy against the store (in the same
// statement on PostgreSQL) and runs again, reading them afresh, if it is
// stale. The zero value is ready to use; a nil cache keeps nothing.
type PlanCache struct {
	mu sync.Mutex
	m  map[string]planSnapshot // by clinic
}

type planSnapshot struct {
	clinic    beckon.Clinic
	campaigns []beckon.Campaign // shared: never modified
}

// maxCachedPlans bounds the cache; past it, it starts over.
const maxCachedPlans = 10_000

func (c *PlanCache) get(clinicID string) (*State, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	p, ok := c.m[clinicID]
	c.mu.Unlock()
	if !ok {
		return nil, false
	}
	return &State{Clinic: p.clinic, Campaigns: p.campaigns, Patients: map[string]beckon.Patient{}}, true
}

func (c *PlanCache) put(st *State) {
	if c == nil {
		return
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedPlans {
		c.m = map[string]planSnapshot{}
	}
	c.m[st.Clinic.ID] = planSnapshot{clinic: st.Clinic, campaigns: st.Campaigns}
	c.mu.Unlock()
}

func (c *PlanCache) forget(clinicID string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	delete(c.m, clinicID)
	c.mu.Unlock()
}
