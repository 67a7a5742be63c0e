package store_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/store/storetest"
)

const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func putEndpoint(t *testing.T, b *bundle, clinicID, id string, types ...string) beckon.WebhookEndpoint {
	t.Helper()
	e := beckon.WebhookEndpoint{
		ClinicID:   clinicID,
		ID:         id,
		URL:        "https://ehr.example/hooks/" + id,
		EventTypes: types,
		Secret:     testSecret,
		Enabled:    true,
		CreatedAt:  b.now,
		UpdatedAt:  b.now,
	}
	created, err := b.st.WebhookEndpointPut(b.ctx, e)
	noErr(t, "put endpoint", err)
	if !created {
		t.Fatalf("put endpoint %s: not created", id)
	}
	return e
}

func TestWebhookEndpoints(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		t.Run("RoundTripAndScope", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			other := storetest.Clinic(t, b.st, storetest.ClinicOpts{ID: "cln_other"})
			want := putEndpoint(t, b, b.clinic.ID, "ehr", beckon.EventAppointmentConfirmed, beckon.EventMessageFailed)
			got, err := b.st.WebhookEndpointGet(b.ctx, b.clinic.ID, "ehr")
			noErr(t, "get", err)
			equal(t, "endpoint", got, want)
			_, err = b.st.WebhookEndpointGet(b.ctx, other.ID, "ehr")
			isErr(t, "get of another clinic", err, beckon.ErrNotFound)
			isErr(t, "delete of another clinic", b.st.WebhookEndpointDelete(b.ctx, other.ID, "ehr"), beckon.ErrNotFound)

			// Replace without a secret: the secret and CreatedAt are kept.
			upd := want
			upd.URL, upd.EventTypes, upd.Secret, upd.UpdatedAt = "https://ehr.example/v2", nil, "", b.now.Add(time.Hour)
			created, err := b.st.WebhookEndpointPut(b.ctx, upd)
			noErr(t, "replace", err)
			if created {
				t.Fatal("replace reported created")
			}
			got, err = b.st.WebhookEndpointGet(b.ctx, b.clinic.ID, "ehr")
			noErr(t, "get", err)
			upd.Secret = testSecret
			equal(t, "replaced endpoint", got, upd)

			all, err := b.st.WebhookEndpointList(b.ctx, b.clinic.ID)
			noErr(t, "list", err)
			equal(t, "list ids", ids(all, func(e beckon.WebhookEndpoint) string { return e.ID }), []string{"ehr"})
			none, err := b.st.WebhookEndpointList(b.ctx, other.ID)
			noErr(t, "list other", err)
			equal(t, "other clinic's list", len(none), 0)

			noErr(t, "delete", b.st.WebhookEndpointDelete(b.ctx, b.clinic.ID, "ehr"))
			_, err = b.st.WebhookEndpointGet(b.ctx, b.clinic.ID, "ehr")
			isErr(t, "get deleted", err, beckon.ErrNotFound)
		})
		t.Run("NewEndpointNeedsSecret", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			_, err := b.st.WebhookEndpointPut(b.ctx, beckon.WebhookEndpoint{ClinicID: b.clinic.ID, ID: "x", URL: "https://x.example", Enabled: true})
			isErr(t, "put without secret", err, beckon.ErrInvalidData)
		})
	})
}

func TestEventAppend(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		t.Run("DeliveriesPerSubscribedEnabledEndpoint", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			other := storetest.Clinic(t, b.st, storetest.ClinicOpts{ID: "cln_other"})
			putEndpoint(t, b, b.clinic.ID, "all")
			putEndpoint(t, b, b.clinic.ID, "confirmed-only", beckon.EventAppointmentConfirmed)
			putEndpoint(t, b, b.clinic.ID, "failed-only", beckon.EventMessageFailed)
			off := putEndpoint(t, b, b.clinic.ID, "off")
			off.Enabled = false
			_, err := b.st.WebhookEndpointPut(b.ctx, off)
			noErr(t, "disable", err)
			putEndpoint(t, b, other.ID, "theirs")

			ev := beckon.Event{
				ID: beckon.EventID(b.clinic.ID, "confirmation", "cnf_1"), ClinicID: b.clinic.ID,
				Type: beckon.EventAppointmentConfirmed, Data: json.RawMessage(`{"appointment_id":"apt_1"}`), At: b.now,
			}
			noErr(t, "append", b.st.EventAppend(b.ctx, ev))
			noErr(t, "append again", b.st.EventAppend(b.ctx, ev)) // skipped
			got, err := b.st.EventGet(b.ctx, b.clinic.ID, ev.ID)
			noErr(t, "event get", err)
			equal(t, "event", got, ev)
			_, err = b.st.EventGet(b.ctx, other.ID, ev.ID)
			isErr(t, "event of another clinic", err, beckon.ErrNotFound)

			for _, c := range []struct {
				endpoint string
				n        int
			}{{"all", 1}, {"confirmed-only", 1}, {"failed-only", 0}, {"off", 0}} {
				ds, err := b.st.WebhookDeliveryList(b.ctx, beckon.WebhookDeliveryListParams{ClinicID: b.clinic.ID, EndpointID: c.endpoint})
				noErr(t, "list deliveries", err)
				if len(ds) != c.n {
					t.Fatalf("endpoint %s: %d deliveries, want %d", c.endpoint, len(ds), c.n)
				}
				if c.n == 1 {
					equal(t, "delivery", ds[0], beckon.WebhookDelivery{
						ID: beckon.WebhookDeliveryID(ev.ID, c.endpoint), ClinicID: b.clinic.ID, EventID: ev.ID,
						EndpointID: c.endpoint, EventType: ev.Type, Status: beckon.DeliveryPending,
						NextAttemptAt: b.now, CreatedAt: b.now, UpdatedAt: b.now,
					})
				}
			}
			theirs, err := b.st.WebhookDeliveryList(b.ctx, beckon.WebhookDeliveryListParams{ClinicID: other.ID, EndpointID: "theirs"})
			noErr(t, "list theirs", err)
			equal(t, "other clinic's deliveries", len(theirs), 0)
		})
		t.Run("OnlyIfTheTransactionCommits", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			putEndpoint(t, b, b.clinic.ID, "all")
			boom := errors.New("the change failed")
			ev := beckon.Event{ID: "evt_rolled_back", ClinicID: b.clinic.ID, Type: beckon.EventMessageDelivered, At: b.now}
			err := b.st.InTx(b.ctx, func(q beckon.Querier) error {
				if err := q.EventAppend(b.ctx, ev); err != nil {
					return err
				}
				return boom
			})
			isErr(t, "tx", err, boom)
			_, err = b.st.EventGet(b.ctx, b.clinic.ID, ev.ID)
			isErr(t, "rolled-back event", err, beckon.ErrNotFound)
			ds, err := b.st.WebhookDeliveryList(b.ctx, beckon.WebhookDeliveryListParams{ClinicID: b.clinic.ID, EndpointID: "all"})
			noErr(t, "list", err)
			equal(t, "deliveries", len(ds), 0)

			noErr(t, "tx", b.st.InTx(b.ctx, func(q beckon.Querier) error { return q.EventAppend(b.ctx, ev) }))
			ds, err = b.st.WebhookDeliveryList(b.ctx, beckon.WebhookDeliveryListParams{ClinicID: b.clinic.ID, EndpointID: "all"})
			noErr(t, "list", err)
			equal(t, "deliveries after commit", len(ds), 1)
		})
	})
}

func TestWebhookDeliveries(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		t.Run("ClaimFinishAttemptsAndDue", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			putEndpoint(t, b, b.clinic.ID, "ehr")
			ev := beckon.Event{ID: "evt_1", ClinicID: b.clinic.ID, Type: beckon.EventMessageDelivered, At: b.now}
			noErr(t, "append", b.st.EventAppend(b.ctx, ev))
			id := beckon.WebhookDeliveryID(ev.ID, "ehr")

			due := func(at, enqueuedBefore time.Time) []string {
				ds, err := b.st.WebhookDeliveryListDue(b.ctx, beckon.WebhookDeliveryDueParams{DueBefore: at, EnqueuedBefore: enqueuedBefore})
				noErr(t, "list due", err)
				return ids(ds, func(d beckon.WebhookDelivery) string { return d.ID })
			}
			equal(t, "due before its time", due(b.now.Add(-time.Second), b.now), []string{})
			equal(t, "due, never enqueued", due(b.now, b.now.Add(-time.Minute)), []string{id})
			noErr(t, "mark", b.st.WebhookDeliveryMarkEnqueued(b.ctx, []string{id}, b.now))
			equal(t, "due, enqueued since", due(b.now, b.now.Add(-time.Minute)), []string{})
			equal(t, "due, enqueued long ago", due(b.now, b.now), []string{id})

			claim := func(now time.Time) bool {
				_, ok, err := b.st.WebhookDeliveryClaim(b.ctx, beckon.WebhookDeliveryClaimParams{
					ClinicID: b.clinic.ID, ID: id, Now: now, StaleBefore: now.Add(-time.Minute),
				})
				noErr(t, "claim", err)
				return ok
			}
			_, ok, err := b.st.WebhookDeliveryClaim(b.ctx, beckon.WebhookDeliveryClaimParams{ClinicID: "cln_other", ID: id, Now: b.now})
			isErr(t, "claim of another clinic", err, beckon.ErrNotFound)
			equal(t, "claimed by another clinic", ok, false)
			equal(t, "first claim", claim(b.now), true)
			equal(t, "second claim", claim(b.now.Add(time.Second)), false)
			equal(t, "stale claim taken over", claim(b.now.Add(2*time.Minute)), true)

			t1 := b.now.Add(2 * time.Minute)
			noErr(t, "finish failed attempt", b.st.WebhookDeliveryFinish(b.ctx, beckon.WebhookDeliveryFinishParams{
				ClinicID: b.clinic.ID, ID: id, Status: beckon.DeliveryPending, NextAttemptAt: t1.Add(10 * time.Second),
				Attempt: beckon.WebhookAttempt{At: t1, StatusCode: 503, Error: "answered 503", Duration: 120 * time.Millisecond},
			}))
			equal(t, "claim after finish", claim(t1.Add(10*time.Second)), true)
			t2 := t1.Add(10 * time.Second)
			noErr(t, "finish delivered", b.st.WebhookDeliveryFinish(b.ctx, beckon.WebhookDeliveryFinishParams{
				ClinicID: b.clinic.ID, ID: id, Status: beckon.DeliveryDelivered,
				Attempt: beckon.WebhookAttempt{At: t2, StatusCode: 204, Duration: 5 * time.Millisecond},
			}))
			isErr(t, "finish when no longer pending", b.st.WebhookDeliveryFinish(b.ctx, beckon.WebhookDeliveryFinishParams{
				ClinicID: b.clinic.ID, ID: id, Status: beckon.DeliveryDelivered, Attempt: beckon.WebhookAttempt{At: t2},
			}), beckon.ErrConflict)
			equal(t, "claim delivered", claim(t2.Add(time.Hour)), false)

			d, err := b.st.WebhookDeliveryGet(b.ctx, b.clinic.ID, id)
			noErr(t, "get", err)
			equal(t, "status", d.Status, beckon.DeliveryDelivered)
			equal(t, "attempts", d.Attempts, 2)
			equal(t, "last status", d.LastStatusCode, 204)
			equal(t, "attempt log", d.AttemptLog, []beckon.WebhookAttempt{
				{At: t1, StatusCode: 503, Error: "answered 503", Duration: 120 * time.Millisecond},
				{At: t2, StatusCode: 204, Duration: 5 * time.Millisecond},
			})
			equal(t, "due after delivery", due(t2.Add(time.Hour), t2.Add(time.Hour)), []string{})
			_, err = b.st.WebhookDeliveryGet(b.ctx, "cln_other", id)
			isErr(t, "get of another clinic", err, beckon.ErrNotFound)
		})
		t.Run("DisableFailsPendingAndHealth", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			ep := putEndpoint(t, b, b.clinic.ID, "ehr")
			noErr(t, "append", b.st.EventAppend(b.ctx,
				beckon.Event{ID: "evt_1", ClinicID: b.clinic.ID, Type: beckon.EventMessageDelivered, At: b.now},
				beckon.Event{ID: "evt_2", ClinicID: b.clinic.ID, Type: beckon.EventMessageFailed, At: b.now.Add(time.Second)}))

			got, err := b.st.WebhookEndpointHealth(b.ctx, b.clinic.ID, "ehr", false, b.now)
			noErr(t, "health", err)
			equal(t, "failing since", got.FailingSince, b.now)
			got, err = b.st.WebhookEndpointHealth(b.ctx, b.clinic.ID, "ehr", false, b.now.Add(time.Hour))
			noErr(t, "health", err)
			equal(t, "failing since kept", got.FailingSince, b.now)
			got, err = b.st.WebhookEndpointHealth(b.ctx, b.clinic.ID, "ehr", true, b.now.Add(2*time.Hour))
			noErr(t, "health", err)
			equal(t, "failing since after success", got.FailingSince, time.Time{})
			_, err = b.st.WebhookEndpointHealth(b.ctx, b.clinic.ID, "ehr", false, b.now.Add(3*time.Hour))
			noErr(t, "health", err)

			at := b.now.Add(27 * time.Hour)
			const reason = "failed every attempt for 24h"
			ok, err := b.st.WebhookEndpointDisable(b.ctx, b.clinic.ID, "ehr", reason, at)
			noErr(t, "disable", err)
			equal(t, "disabled", ok, true)
			ok, err = b.st.WebhookEndpointDisable(b.ctx, b.clinic.ID, "ehr", reason, at)
			noErr(t, "disable again", err)
			equal(t, "disabled again", ok, false)
			got, err = b.st.WebhookEndpointGet(b.ctx, b.clinic.ID, "ehr")
			noErr(t, "get", err)
			equal(t, "enabled", got.Enabled, false)
			equal(t, "reason", got.DisabledReason, reason)
			equal(t, "disabled at", got.DisabledAt, at)
			ds, err := b.st.WebhookDeliveryList(b.ctx, beckon.WebhookDeliveryListParams{ClinicID: b.clinic.ID, EndpointID: "ehr"})
			noErr(t, "list", err)
			equal(t, "newest first", ids(ds, func(d beckon.WebhookDelivery) string { return d.EventID }), []string{"evt_2", "evt_1"})
			for _, d := range ds {
				if d.Status != beckon.DeliveryFailed || d.LastError != reason {
					t.Fatalf("delivery %s: %s %q, want failed with the reason", d.ID, d.Status, d.LastError)
				}
			}
			// No new deliveries while disabled.
			noErr(t, "append", b.st.EventAppend(b.ctx, beckon.Event{ID: "evt_3", ClinicID: b.clinic.ID, Type: beckon.EventMessageFailed, At: at}))
			ds, _ = b.st.WebhookDeliveryList(b.ctx, beckon.WebhookDeliveryListParams{ClinicID: b.clinic.ID, EndpointID: "ehr"})
			equal(t, "deliveries while disabled", len(ds), 2)

			// Enabling again clears the reason and the failing time.
			ep.Secret, ep.UpdatedAt = "", at.Add(time.Hour)
			_, err = b.st.WebhookEndpointPut(b.ctx, ep)
			noErr(t, "enable", err)
			got, err = b.st.WebhookEndpointGet(b.ctx, b.clinic.ID, "ehr")
			noErr(t, "get", err)
			if !got.Enabled || got.DisabledReason != "" || !got.DisabledAt.IsZero() || !got.FailingSince.IsZero() {
				t.Fatalf("re-enabled endpoint: %+v", got)
			}
			noErr(t, "delete", b.st.WebhookEndpointDelete(b.ctx, b.clinic.ID, "ehr"))
			ds, _ = b.st.WebhookDeliveryList(b.ctx, beckon.WebhookDeliveryListParams{ClinicID: b.clinic.ID, EndpointID: "ehr"})
			equal(t, "deliveries after delete", len(ds), 0)
		})
	})
}
