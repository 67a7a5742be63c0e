package worker_test

import (
	"context"
	"errors"
	"testing"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/tasks"
	"github.com/beckonhealth/beckon/worker"
)

// stored puts the status in the inbox, as the webhook does before its 2xx.
func (sb *statusBundle) stored(t *testing.T, p tasks.StatusPayload) tasks.StatusPayload {
	t.Helper()
	task, err := tasks.NewStatusTask(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.st.StatusInboxPut(context.Background(), []beckon.StatusInboxEntry{{
		ClinicID: p.ClinicID, Provider: p.Provider, Key: p.Key, Payload: task.Payload(), ReceivedAt: sb.clock.Now(),
	}}); err != nil {
		t.Fatal(err)
	}
	return p
}

func (sb *statusBundle) inbox(t *testing.T, p tasks.StatusPayload) beckon.StatusInboxEntry {
	t.Helper()
	e, err := sb.st.StatusInboxGet(context.Background(), p.ClinicID, p.Provider, p.Key)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (sb *statusBundle) payload(key, event string) tasks.StatusPayload {
	return tasks.StatusPayload{
		Provider: sb.msg.Provider, ClinicID: sb.clinic.ID, Key: key, ProviderID: sb.msg.ProviderID, SendID: sb.send.ID,
		Event: event, At: sb.clock.Now(),
	}
}

// TestStatusInboxDoneWhenHandled: the inbox entry of a status is done once the
// status is applied, found a duplicate, or ignored (another clinic's send, an
// installation-verified status of a clinic with its own account); it stays
// pending while its message is not recorded, so that it is handed out again.
func TestStatusInboxDoneWhenHandled(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sb := setupStatus(t, tasks.ProviderTwilio, nil)

	applied := sb.stored(t, sb.payload("SM:delivered", "delivered"))
	if err := sb.apply.Apply(ctx, applied); err != nil {
		t.Fatal(err)
	}
	if e := sb.inbox(t, applied); e.Pending() || !e.DoneAt.Equal(sb.clock.Now()) {
		t.Fatalf("applied status: inbox %+v, want done now", e)
	}
	if m := sb.message(t); m.Status != beckon.MessageDelivered {
		t.Fatalf("message %s, want delivered", m.Status)
	}

	// Applied before it was stored (a task queued before the inbox existed):
	// the stored copy is a duplicate, and done.
	early := sb.payload("SM:sent", "sent")
	if err := sb.apply.Apply(ctx, early); err != nil {
		t.Fatal(err)
	}
	sb.stored(t, early)
	events := len(sb.message(t).Events)
	if err := sb.apply.Apply(ctx, early); err != nil {
		t.Fatal(err)
	}
	if e := sb.inbox(t, early); e.Pending() {
		t.Fatal("duplicate status: inbox entry still pending")
	}
	if n := len(sb.message(t).Events); n != events {
		t.Fatalf("duplicate added events: %d, want %d", n, events)
	}

	notYet := sb.stored(t, tasks.StatusPayload{Provider: tasks.ProviderTwilio, ClinicID: sb.clinic.ID,
		Key: "SM-later:delivered", ProviderID: "SM-later", Event: "delivered", At: sb.clock.Now()})
	if err := sb.apply.Apply(ctx, notYet); !errors.Is(err, worker.ErrMessageNotYetRecorded) {
		t.Fatalf("unknown message: %v, want ErrMessageNotYetRecorded", err)
	}
	if e := sb.inbox(t, notYet); !e.Pending() {
		t.Fatal("a status whose message is not recorded yet was marked done")
	}

	theirs := sb.stored(t, tasks.StatusPayload{Provider: tasks.ProviderTwilio, ClinicID: sb.clinic.ID,
		Key: "SM-x:failed", SendID: "snd_of_another_clinic", Event: "failed", At: sb.clock.Now()})
	if err := sb.apply.Apply(ctx, theirs); err != nil {
		t.Fatal(err)
	}
	if e := sb.inbox(t, theirs); e.Pending() {
		t.Fatal("a status ignored as another clinic's stays pending")
	}

	if _, err := sb.st.ChannelSettingsPut(ctx, beckon.ChannelSettings{ClinicID: sb.clinic.ID, TwilioAuthToken: "own", UpdatedAt: sb.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	forged := sb.payload("SM:failed", "failed")
	forged.ViaInstallation = true
	sb.stored(t, forged)
	if err := sb.apply.Apply(ctx, forged); err != nil {
		t.Fatal(err)
	}
	if e := sb.inbox(t, forged); e.Pending() {
		t.Fatal("an installation-verified status of a clinic with its own account stays pending")
	}
	if m := sb.message(t); m.Status != beckon.MessageDelivered {
		t.Fatalf("message %s after ignored statuses, want delivered", m.Status)
	}
}

// rollbackStore runs every transaction's work, then rolls it back.
type rollbackStore struct{ beckon.Store }

var errRolledBack = errors.New("rolled back")

func (s rollbackStore) InTx(ctx context.Context, fn func(q beckon.Querier) error) error {
	return s.Store.InTx(ctx, func(q beckon.Querier) error {
		if err := fn(q); err != nil {
			return err
		}
		return errRolledBack
	})
}

// TestStatusInboxDoneInTheApplyingTransaction: a status whose application
// does not commit stays pending in the inbox, and is applied (once) later.
func TestStatusInboxDoneInTheApplyingTransaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sb := setupStatus(t, tasks.ProviderTwilio, nil)
	p := sb.stored(t, sb.payload("SM:delivered", "delivered"))
	failing := worker.NewStatusApplier(rollbackStore{sb.st}, sb.clock, quiet)
	if err := failing.Apply(ctx, p); !errors.Is(err, errRolledBack) {
		t.Fatalf("apply: %v, want the rollback", err)
	}
	if e := sb.inbox(t, p); !e.Pending() {
		t.Fatal("inbox entry done although its status was rolled back")
	}
	if m := sb.message(t); m.Status != beckon.MessageQueued {
		t.Fatalf("message %s after a rollback, want queued", m.Status)
	}
	if err := sb.apply.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	if e, m := sb.inbox(t, p), sb.message(t); e.Pending() || m.Status != beckon.MessageDelivered || len(m.Events) != 2 {
		t.Fatalf("after the retry: inbox pending=%v, message %s with %d events; want done, delivered, 2", e.Pending(), m.Status, len(m.Events))
	}
}
