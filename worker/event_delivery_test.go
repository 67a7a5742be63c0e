package worker_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/egress"
	"github.com/beckonhealth/beckon/store/storetest"
	"github.com/beckonhealth/beckon/tasks"
	"github.com/beckonhealth/beckon/webhooksig"
	"github.com/beckonhealth/beckon/webhooksig/webhooksigtest"
	"github.com/beckonhealth/beckon/worker"
)

type eventBundle struct {
	ctx    context.Context
	st     beckon.Store
	clock  *beckon.ManualClock
	clinic beckon.Clinic
	d      *worker.EventDeliverer
	secret string
}

func setupEvents(t *testing.T) *eventBundle {
	t.Helper()
	st := storetest.Open(t)
	policy, err := egress.ParsePolicy("*") // the receiver listens on 127.0.0.1
	if err != nil {
		t.Fatal(err)
	}
	clock := beckon.NewManualClock(time.Date(2026, 3, 10, 14, 30, 0, 0, time.UTC))
	return &eventBundle{
		ctx: t.Context(), st: st, clock: clock,
		clinic: storetest.Clinic(t, st, storetest.ClinicOpts{}),
		d:      worker.NewEventDeliverer(st, clock, slog.New(slog.DiscardHandler), policy),
		secret: webhooksig.NewSecret(),
	}
}

// endpoint registers the receiver as the clinic's endpoint for every type.
func (b *eventBundle) endpoint(t *testing.T, id string, r *webhooksigtest.Receiver) {
	t.Helper()
	if _, err := b.st.WebhookEndpointPut(b.ctx, beckon.WebhookEndpoint{
		ClinicID: b.clinic.ID, ID: id, URL: r.URL + "/hooks", Secret: b.secret, Enabled: true,
	}); err != nil {
		t.Fatal(err)
	}
}

// event records an event now and returns its delivery's id to the endpoint.
func (b *eventBundle) event(t *testing.T, id, endpointID string) string {
	t.Helper()
	err := b.st.EventAppend(b.ctx, beckon.Event{
		ID: id, ClinicID: b.clinic.ID, Type: beckon.EventAppointmentConfirmed,
		Data: json.RawMessage(`{"appointment_id":"apt_1"}`), At: b.clock.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return beckon.WebhookDeliveryID(id, endpointID)
}

func (b *eventBundle) delivery(t *testing.T, id string) beckon.WebhookDelivery {
	t.Helper()
	d, err := b.st.WebhookDeliveryGet(b.ctx, b.clinic.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// A receiver that fails three times then succeeds gets the event once more
// after each failure, at increasing gaps (asynq's retry delays, driven here
// by the injected clock), and once delivered it is never sent again.
func TestEventDeliveryRetriesWithIncreasingGaps(t *testing.T) {
	t.Parallel()
	b := setupEvents(t)
	const failures = 3
	r := webhooksigtest.NewReceiver(t, b.secret, b.clock.Now, func(n int) int {
		if n < failures {
			return http.StatusServiceUnavailable
		}
		return http.StatusNoContent
	})
	b.endpoint(t, "ehr", r)
	id := b.event(t, "evt_retry", "ehr")
	counted := &countingMetrics{}
	b.d.Metrics = counted

	for attempt := 1; ; attempt++ {
		err := b.d.Deliver(b.ctx, b.clinic.ID, id)
		d := b.delivery(t, id)
		if err == nil {
			if d.Status != beckon.DeliveryDelivered {
				t.Fatalf("attempt %d: nil error with the delivery %s", attempt, d.Status)
			}
			break
		}
		if attempt > failures {
			t.Fatalf("attempt %d failed: %v", attempt, err)
		}
		want := b.clock.Now().Add(tasks.EventRetryDelay(attempt-1, id))
		if d.Status != beckon.DeliveryPending || !d.NextAttemptAt.Equal(want) {
			t.Fatalf("after attempt %d: %s, next at %v, want pending at %v", attempt, d.Status, d.NextAttemptAt, want)
		}
		b.clock.Set(d.NextAttemptAt)
	}
	if err := b.d.Deliver(b.ctx, b.clinic.ID, id); err != nil {
		t.Fatalf("a delivered event's task run again: %v", err)
	}
	if got, want := counted.seen(), []string{"event retrying", "event retrying", "event retrying", "event delivered"}; !slices.Equal(got, want) {
		t.Fatalf("metrics %q, want %q", got, want)
	}

	got := r.Requests()
	if len(got) != failures+1 {
		t.Fatalf("%d requests, want %d", len(got), failures+1)
	}
	var prevGap time.Duration
	for i, q := range got {
		if q.Err != nil || q.ID != "evt_retry" {
			t.Fatalf("request %d: id %q, signature %v", i, q.ID, q.Err)
		}
		var body struct {
			ID, Type, Timestamp string
			Data                map[string]string
		}
		if err := json.Unmarshal(q.Body, &body); err != nil || body.ID != "evt_retry" ||
			body.Type != beckon.EventAppointmentConfirmed || body.Data["appointment_id"] != "apt_1" || body.Timestamp == "" {
			t.Fatalf("request %d body %s (%v)", i, q.Body, err)
		}
		if i > 0 {
			gap := q.At.Sub(got[i-1].At)
			if gap <= prevGap {
				t.Fatalf("gap %d is %v, not longer than the one before (%v)", i, gap, prevGap)
			}
			prevGap = gap
		}
	}
	d := b.delivery(t, id)
	if d.Attempts != failures+1 || len(d.AttemptLog) != failures+1 || d.LastStatusCode != http.StatusNoContent {
		t.Fatalf("delivery %+v", d)
	}
	for i, a := range d.AttemptLog {
		want := http.StatusServiceUnavailable
		if i == failures {
			want = http.StatusNoContent
		}
		if a.StatusCode != want || (want == http.StatusServiceUnavailable) != (a.Error != "") || !a.At.Equal(got[i].At) {
			t.Fatalf("attempt %d: %+v, want status %d at %v", i, a, want, got[i].At)
		}
	}
	if ep, _ := b.st.WebhookEndpointGet(b.ctx, b.clinic.ID, "ehr"); !ep.FailingSince.IsZero() || !ep.Enabled {
		t.Fatalf("endpoint after a success: %+v", ep)
	}
}

// An endpoint that fails every attempt for a day is disabled with the
// reason; its pending deliveries end failed; new events make no delivery
// for it; enabling it again clears the reason.
func TestEventEndpointDisabledAfterADayOfFailures(t *testing.T) {
	t.Parallel()
	b := setupEvents(t)
	r := webhooksigtest.NewReceiver(t, b.secret, b.clock.Now, func(int) int { return http.StatusInternalServerError })
	b.endpoint(t, "ehr", r)
	start := b.clock.Now()
	first := b.event(t, "evt_1", "ehr")
	second := b.event(t, "evt_2", "ehr")

	for attempt := 1; ; attempt++ {
		err := b.d.Deliver(b.ctx, b.clinic.ID, first)
		if err == nil {
			break
		}
		if attempt >= tasks.EventMaxAttempts {
			t.Fatalf("still retrying after %d attempts", attempt)
		}
		b.clock.Set(b.delivery(t, first).NextAttemptAt)
	}
	elapsed := b.clock.Now().Sub(start)
	if elapsed < beckon.WebhookFailingLimit || elapsed > beckon.WebhookFailingLimit+2*tasks.EventRetryCap {
		t.Fatalf("disabled after %v of failures, want a day (and at most two retry intervals more)", elapsed)
	}
	ep, err := b.st.WebhookEndpointGet(b.ctx, b.clinic.ID, "ehr")
	if err != nil {
		t.Fatal(err)
	}
	if ep.Enabled || !strings.Contains(ep.DisabledReason, "every attempt failed") || !ep.DisabledAt.Equal(b.clock.Now()) {
		t.Fatalf("endpoint after a day of failures: %+v", ep)
	}
	for _, id := range []string{first, second} {
		d := b.delivery(t, id)
		if d.Status != beckon.DeliveryFailed || d.LastError != ep.DisabledReason {
			t.Fatalf("delivery %s: %s %q, want failed with the endpoint's reason", id, d.Status, d.LastError)
		}
	}
	if n := len(b.delivery(t, second).AttemptLog); n != 0 {
		t.Fatalf("the second event was attempted %d times; want it ended with the endpoint", n)
	}
	before := len(r.Requests())
	// The second delivery's task, still in asynq, changes nothing now.
	if err := b.d.Deliver(b.ctx, b.clinic.ID, second); err != nil || len(r.Requests()) != before {
		t.Fatalf("a failed delivery's task: %v, %d requests (want %d)", err, len(r.Requests()), before)
	}
	b.event(t, "evt_3", "ehr")
	ds, _ := b.st.WebhookDeliveryList(b.ctx, beckon.WebhookDeliveryListParams{ClinicID: b.clinic.ID, EndpointID: "ehr"})
	if len(ds) != 2 {
		t.Fatalf("%d deliveries while disabled, want 2", len(ds))
	}

	ep.Enabled, ep.Secret = true, ""
	if _, err := b.st.WebhookEndpointPut(b.ctx, ep); err != nil {
		t.Fatal(err)
	}
	if ep, _ := b.st.WebhookEndpointGet(b.ctx, b.clinic.ID, "ehr"); !ep.Enabled || ep.DisabledReason != "" || !ep.FailingSince.IsZero() {
		t.Fatalf("re-enabled: %+v", ep)
	}
}

// A task naming another clinic's delivery changes nothing and sends nothing.
func TestEventDeliveryScopedToTheTasksClinic(t *testing.T) {
	t.Parallel()
	b := setupEvents(t)
	r := webhooksigtest.NewReceiver(t, b.secret, b.clock.Now, nil)
	b.endpoint(t, "ehr", r)
	id := b.event(t, "evt_1", "ehr")
	other := storetest.Clinic(t, b.st, storetest.ClinicOpts{})
	task, _ := tasks.NewEventDeliveryTask(other.ID, id)
	if err := b.d.ProcessTask(b.ctx, task); err != nil {
		t.Fatalf("another clinic's task: %v", err)
	}
	if len(r.Requests()) != 0 || b.delivery(t, id).Attempts != 0 {
		t.Fatal("another clinic's task delivered the event")
	}
	task, _ = tasks.NewEventDeliveryTask(b.clinic.ID, id)
	if err := b.d.ProcessTask(b.ctx, task); err != nil || len(r.Requests()) != 1 {
		t.Fatalf("own task: %v, %d requests", err, len(r.Requests()))
	}
}
