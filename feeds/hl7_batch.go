package feeds

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/ehr"
	"github.com/beckonhealth/beckon/scheduler"
)

// errZoneChanged: the clinic's time zone is no longer the one a batch's
// events were mapped in; nothing was applied, map them again.
var errZoneChanged = scheduler.ErrZoneChanged

// hl7Item is one message on its way: parsed and mapped (prepare), applied
// with the others that arrived with it (apply), then acknowledged (answer).
type hl7Item struct {
	in     HL7Input
	now    time.Time
	digest string
	msg    *ehr.Message
	res    HL7Result
	ackErr error
	// warnings are the values the mapping dropped, said in an AA.
	warnings []ehr.Error
	apptID   string
	// done: answered before applying (rejected, or Beckon failed).
	done bool
	// event is what to apply, mapped in the clinic's time zone zone.
	event scheduler.FeedEvent
	zone  string
}

// reject answers the message with code (AE, AR) and err, applying nothing.
func (it *hl7Item) reject(code ehr.AckCode, err error) {
	it.res.Code, it.res.Result, it.res.Internal, it.ackErr = code, beckon.FeedRejected, false, err
	it.done = true
}

// fail answers the message with AE 207: Beckon failed, the sender should
// send it again later. A value the database refuses for what it is
// (beckon.ErrInvalidData) is no failure of Beckon's: sending the message again
// would fail again, so it is refused for good (AE 102).
func (p *HL7Processor) fail(it *hl7Item, err error) {
	if errors.Is(err, beckon.ErrInvalidData) {
		p.Logger.Warn("hl7 message refused by the database", slog.String("clinic_id", it.res.ClinicID), slog.String("error", err.Error()))
		it.reject(ehr.AE, errUnstorable)
		return
	}
	p.Logger.Error("hl7 message failed", slog.String("clinic_id", it.res.ClinicID), slog.String("error", err.Error()))
	it.res.Internal = true
	it.res.Code, it.res.Result = ehr.AE, beckon.FeedError
	it.ackErr = &ehr.Error{Code: ehr.CodeInternalError, Reason: "the message could not be applied now; send it again later"}
	it.done = true
}

// errUnstorable answers a message holding a value the database refuses.
var errUnstorable = &ehr.Error{Code: ehr.CodeDataTypeError, Reason: "a value in the message cannot be stored as text; correct the message, sending it again unchanged will fail again"}

// prepare parses and maps a message: everything that needs no transaction.
func (p *HL7Processor) prepare(ctx context.Context, in HL7Input) *hl7Item {
	sum := sha256.Sum256(in.Raw)
	it := &hl7Item{in: in, now: p.Clock.Now(), digest: hex.EncodeToString(sum[:]), res: HL7Result{ClinicID: in.ClinicID}}
	m, err := ehr.Parse(in.Raw)
	if err != nil {
		it.reject(ehr.AR, err)
		return it
	}
	it.msg = m
	if it.res.ClinicID == "" {
		facility := strings.TrimSpace(m.Get("MSH-4.1"))
		if facility == "" {
			facility = strings.TrimSpace(m.Get("MSH-4.2"))
		}
		if err := m.TextError(); err != nil && !isText(facility) {
			// The facility itself is not text: no clinic can be told.
			it.reject(ehr.AE, err)
			it.res.Unreadable = true
			return it
		}
		id, err := p.Store.FeedClinicByFacility(ctx, facility)
		if errors.Is(err, beckon.ErrNotFound) || (err == nil && facility == "") {
			it.reject(ehr.AR, &ehr.Error{Code: ehr.CodeTableValueNotFound, Segment: "MSH", Sequence: 1, Field: 4,
				Reason: "the sending facility is not on any clinic's allow-list"})
			return it
		}
		if err != nil {
			p.fail(it, err)
			return it
		}
		it.res.ClinicID = id
	}
	z, err := p.zones.get(ctx, p.Store, it.res.ClinicID, it.now)
	if err != nil {
		p.fail(it, err)
		return it
	}
	out := ehr.Mapper{Location: z.loc}.ClassifyMessage(m)
	if out.Code != ehr.AA {
		it.reject(out.Code, out.Err)
		it.res.Unreadable = m.TextError() != nil
		return it
	}
	it.warnings = out.Warnings()
	it.apptID = truncate(out.Event.AppointmentID, 200)
	it.event = EventFromSIU(out.Event, it.digest)
	it.zone = z.name
	return it
}

// settle records what applying the item's event did.
func (it *hl7Item) settle(o scheduler.FeedOutcome) {
	switch {
	case errors.Is(o.Err, scheduler.ErrUnknownPatient), errors.Is(o.Err, scheduler.ErrIncompleteEvent):
		it.res.Code, it.res.Result, it.res.Internal = ehr.AE, beckon.FeedRejected, false
		it.ackErr = &ehr.Error{Code: ehr.CodeRequiredFieldMissing, Segment: "PID", Sequence: 1, Field: 3,
			Reason: "the appointment is not known and the message does not carry the patient and start a booking needs"}
	case errors.Is(o.Err, beckon.ErrInvalidData):
		it.res.Code, it.res.Result, it.res.Internal, it.ackErr = ehr.AE, beckon.FeedRejected, false, errUnstorable
	case o.Err != nil:
		// ApplyFeedBatch gives no other error per event; be safe.
		it.res.Code, it.res.Result, it.res.Internal = ehr.AE, beckon.FeedError, true
		it.ackErr = &ehr.Error{Code: ehr.CodeInternalError, Reason: "the message could not be applied now; send it again later"}
	default:
		it.res.Code, it.res.Result, it.res.Internal, it.ackErr = ehr.AA, o.Result.Result, false, nil
	}
}

// apply applies the prepared items that arrived together: those of one
// clinic (and actor) in one transaction with their archive rows, each on
// its own (a message the feed cannot take gets its AE, the others go
// through). When a transaction fails as a whole, its messages are applied
// one by one, so that one bad message cannot fail the others.
func (p *HL7Processor) apply(ctx context.Context, items []*hl7Item) {
	type groupKey struct{ clinic, actor, zone string }
	var (
		keys   []groupKey
		groups = map[groupKey][]*hl7Item{}
		alone  []*hl7Item // answered already: only to archive
	)
	for _, it := range items {
		if it.done {
			if it.in.Archive {
				alone = append(alone, it)
			}
			continue
		}
		k := groupKey{it.res.ClinicID, it.in.Actor, it.zone}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], it)
	}
	for _, k := range keys {
		g := groups[k]
		extra := alone // archived in the first transaction that commits
		alone = nil
		err := p.applyGroup(ctx, k.clinic, k.actor, k.zone, g, extra)
		if errors.Is(err, errZoneChanged) {
			// Map them again in the clinic's time zone as it is now.
			p.zones.forget(k.clinic)
			for _, it := range g {
				*it = *p.prepare(ctx, it.in)
			}
			p.apply(ctx, g)
			alone = extra
			continue
		}
		if err == nil {
			continue
		}
		alone = extra
		if len(g) > 1 || len(extra) > 0 {
			// One of them (or an archive row) is at fault: each on its own.
			for _, it := range g {
				p.apply(ctx, []*hl7Item{it})
			}
			continue
		}
		p.fail(g[0], err)
		if g[0].in.Archive {
			alone = append(alone, g[0])
		}
	}
	if len(alone) == 0 {
		return
	}
	rows := make([]beckon.InboundMessage, len(alone))
	for i, it := range alone {
		rows[i] = it.archiveRow()
	}
	p.archive(context.WithoutCancel(ctx), rows)
}

// archive keeps messages answered without applying; when they cannot be
// kept together, each is tried on its own.
func (p *HL7Processor) archive(ctx context.Context, rows []beckon.InboundMessage) {
	err := p.Store.Write(ctx, beckon.Writes{Inbound: rows})
	if err != nil && len(rows) > 1 {
		for _, r := range rows {
			p.archive(ctx, []beckon.InboundMessage{r})
		}
		return
	}
	if err != nil {
		p.Logger.Error("inbound archive failed", slog.String("clinic_id", rows[0].ClinicID), slog.String("error", err.Error()))
	}
}

// applyGroup applies items of one clinic in one transaction that also
// archives them and extra (messages answered before applying).
func (p *HL7Processor) applyGroup(ctx context.Context, clinicID, actor, zone string, g, extra []*hl7Item) error {
	evs := make([]scheduler.FeedEvent, len(g))
	for i, it := range g {
		evs[i] = it.event
	}
	inbound := make([]scheduler.FeedInbound, 0, len(g)+len(extra))
	for i, it := range g {
		if it.in.Archive {
			// The row as it will be answered, applied or refused.
			applied, refused := *it, *it
			applied.settle(scheduler.FeedOutcome{})
			refused.settle(scheduler.FeedOutcome{Err: scheduler.ErrIncompleteEvent})
			inbound = append(inbound, scheduler.FeedInbound{Event: i, Applied: applied.archiveRow(), Refused: refused.archiveRow()})
		}
	}
	for _, it := range extra {
		inbound = append(inbound, scheduler.FeedInbound{Event: -1, Applied: it.archiveRow()})
	}
	out, err := p.Service.ApplyFeedBatch(ctx, scheduler.FeedBatch{
		ClinicID: clinicID,
		Events:   evs,
		Actor:    actor,
		Plans:    &p.plans,
		TimeZone: zone,
		Inbound:  inbound,
	})
	if err != nil {
		return err
	}
	for i, it := range g {
		it.settle(out[i])
	}
	return nil
}

// detail is the error's location and reason for the archive, or for an
// accepted message the values it dropped (no PHI: locations and reasons).
func (it *hl7Item) detail() string {
	var e *ehr.Error
	if errors.As(it.ackErr, &e) {
		return e.Error()
	}
	if it.res.Code != ehr.AA || len(it.warnings) == 0 {
		return ""
	}
	parts := make([]string, len(it.warnings))
	for i := range it.warnings {
		parts[i] = it.warnings[i].Error()
	}
	return truncate("warnings: "+strings.Join(parts, "; "), 2000)
}

func (it *hl7Item) archiveRow() beckon.InboundMessage {
	controlID := ""
	if it.msg != nil {
		controlID = truncate(it.msg.ControlID(), 200)
	}
	return beckon.InboundMessage{
		ClinicID:      it.res.ClinicID,
		Transport:     it.in.Transport,
		Format:        beckon.FormatHL7v2,
		ControlID:     controlID,
		Digest:        it.digest,
		Raw:           it.in.Raw,
		Outcome:       string(it.res.Code),
		Result:        it.res.Result,
		Detail:        it.detail(),
		AppointmentID: it.apptID,
		ReceivedAt:    it.now,
	}
}

// answer writes the item's acknowledgement and logs the outcome (ids and
// sizes only).
func (p *HL7Processor) answer(it *hl7Item) HL7Result {
	msg := it.msg
	if msg == nil {
		// Refused by the parser: echo what its MSH says, if it can be read.
		msg, _ = ehr.ParseHeader(it.in.Raw)
	}
	res := it.res
	res.Ack = ehr.Ack(msg, res.Code, it.ackErr, it.now, beckon.NewID("ACK"), it.warnings...)
	if it.in.Transport != beckon.TransportReplay {
		count(p.Metrics, SourceHL7, res.Result)
	}
	p.Logger.Info("hl7 message",
		slog.String("clinic_id", res.ClinicID),
		slog.String("transport", it.in.Transport),
		slog.String("ack", string(res.Code)),
		slog.String("result", res.Result),
		slog.String("appointment_id", it.apptID),
		slog.Int("warnings", len(it.warnings)),
		slog.Int("size", len(it.in.Raw)))
	return res
}

// zoneCache keeps clinics' time zones for a moment: every message needs its
// clinic's to be mapped, and they rarely change. A batch is applied only if
// the clinic's zone is still the one its events were mapped in
// (scheduler.FeedBatch.TimeZone), so a stale entry costs a second mapping,
// never a wrong time.
type zoneCache struct {
	mu sync.Mutex
	m  map[string]clinicZone
}

type clinicZone struct {
	name string
	loc  *time.Location
	at   time.Time
}

// zoneTTL bounds how long a time zone is used without reading the clinic;
// maxZones bounds the cache (past it, it starts over).
const (
	zoneTTL  = time.Minute
	maxZones = 10_000
)

func (c *zoneCache) get(ctx context.Context, st beckon.Store, clinicID string, now time.Time) (clinicZone, error) {
	c.mu.Lock()
	z, ok := c.m[clinicID]
	c.mu.Unlock()
	if ok && now.Sub(z.at) < zoneTTL && now.Sub(z.at) >= 0 {
		return z, nil
	}
	clinic, err := st.ClinicGet(ctx, clinicID)
	if err != nil {
		return clinicZone{}, err
	}
	loc, err := time.LoadLocation(clinic.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	z = clinicZone{name: clinic.TimeZone, loc: loc, at: now}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxZones {
		c.m = map[string]clinicZone{}
	}
	c.m[clinicID] = z
	c.mu.Unlock()
	return z, nil
}

func (c *zoneCache) forget(clinicID string) {
	c.mu.Lock()
	delete(c.m, clinicID)
	c.mu.Unlock()
}
