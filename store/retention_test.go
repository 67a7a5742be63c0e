package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/store"
	"github.com/beckonhealth/beckon/store/storetest"
)

// retentionBundle is a store on a manual clock with one clinic and patient.
type retentionBundle struct {
	ctx   context.Context
	st    beckon.Store
	clock *beckon.ManualClock
	old   time.Time // when the old records were made
	now   time.Time // when the new ones were
}

func forEachDialectClock(t *testing.T, fn func(t *testing.T, b *retentionBundle)) {
	t.Helper()
	for name, dsn := range dialectDSNs() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			old := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
			b := &retentionBundle{ctx: t.Context(), clock: beckon.NewManualClock(old), old: old, now: old.Add(100 * 24 * time.Hour)}
			st, err := store.OpenWith(b.ctx, dsn(t), store.Options{Clock: b.clock})
			noErr(t, "open", err)
			t.Cleanup(func() { _ = st.Close() })
			b.st = st
			storetest.Clinic(t, st, storetest.ClinicOpts{
				ID: "cln_a",
			})
			storetest.Patient(t, st, "cln_a", storetest.PatientOpts{
				ID: "P-1",
			})
			fn(t, b)
		})
	}
}

// messageSend plans a message send with text and, unless status is planned,
// takes it to status (a provider call started under its claim on the way
// when call is set).
func (b *retentionBundle) messageSend(t *testing.T, id string, status beckon.SendStatus, call bool) {
	t.Helper()
	_, _, err := b.st.SendPlanMessage(b.ctx, beckon.MessageSendParams{
		ID:        id,
		ClinicID:  "cln_a",
		PatientID: "P-1",
		Channel:   beckon.ChannelSMS,
		Text:      "Your results are ready, Pat",
		Data:      map[string]string{"choices": "[1,2]"},
		By:        "key:k1",
	})
	noErr(t, "plan message "+id, err)
	if status == beckon.SendPlanned {
		return
	}
	now := b.clock.Now()
	_, claimed, err := b.st.SendClaim(b.ctx, beckon.SendClaimParams{ClinicID: "cln_a", ID: id, Token: "tok-" + id, Now: now})
	noErr(t, "claim "+id, err)
	if !claimed {
		t.Fatalf("send %s not claimed", id)
	}
	if call {
		lost, err := b.st.SendCallStartMany(b.ctx, []beckon.SendCall{{
			SendID: id, ClinicID: "cln_a", ClaimToken: "tok-" + id, Channel: beckon.ChannelSMS,
			To: "+15555550100", Body: "Your results are ready, Pat",
		}}, now)
		noErr(t, "call start "+id, err)
		if len(lost) > 0 {
			t.Fatalf("call %s lost its claim", id)
		}
	}
	if status == beckon.SendClaimed {
		return
	}
	noErr(t, "finish "+id, b.st.SendFinish(b.ctx, beckon.SendFinishParams{
		ID: id, Token: "tok-" + id, Status: status, MessageID: "msg_" + id, Now: now,
	}))
}

func (b *retentionBundle) message(t *testing.T, id, direction, sendID string, at time.Time) {
	t.Helper()
	noErr(t, "message "+id, b.st.MessageInsert(b.ctx, beckon.Message{
		ID: id, ClinicID: "cln_a", PatientID: "P-1", SendID: sendID, Direction: direction,
		Channel: beckon.ChannelSMS, To: "+15555550100", From: "+15555550199",
		Subject: "s", Body: "Hi Pat, see you Tuesday", HTML: "<p>Hi</p>", Status: "delivered",
		Provider: "outbox", ProviderID: "pid-" + id, CreatedAt: at, UpdatedAt: at,
	}))
}

// TestRetentionPurge: bodies older than the cutoff are blanked and raw
// archives older than theirs deleted, a batch at a time; a newer body, what
// a send under way still needs, an inbound text not yet interpreted, ids,
// statuses, times and the audit trail stay.
func TestRetentionPurge(t *testing.T) {
	t.Parallel()
	forEachDialectClock(t, func(t *testing.T, b *retentionBundle) {
		// Old records.
		const oldMessages = 25
		for i := range oldMessages {
			b.message(t, fmt.Sprintf("msg_old_%02d", i), beckon.Outbound, "", b.old)
		}
		b.messageSend(t, "snd_planned", beckon.SendPlanned, false)
		b.messageSend(t, "snd_claimed", beckon.SendClaimed, true)
		b.messageSend(t, "snd_sent", beckon.SendSent, true)
		b.messageSend(t, "snd_unknown", beckon.SendUnknown, true)
		b.message(t, "msg_snd_sent", beckon.Outbound, "snd_sent", b.old)
		for _, in := range []string{"msg_in_done", "msg_in_pending"} {
			_, _, err := b.st.InboundSMSPut(b.ctx, beckon.InboundSMS{
				ID: in, ClinicID: "cln_a", PatientID: "P-1", Channel: beckon.ChannelSMS, Provider: "twilio",
				ProviderID: "SM" + in, From: "+15555550100", To: "+15555550199", Body: "C please", ReceivedAt: b.old,
			})
			noErr(t, "inbound "+in, err) // in the message log too
		}
		ok, err := b.st.InboundSMSInterpreted(b.ctx, beckon.InboundInterpretParams{ClinicID: "cln_a", ID: "msg_in_done", Intent: "confirm", At: b.old})
		noErr(t, "interpreted", err)
		if !ok {
			t.Fatal("inbound not interpreted")
		}
		_, err = b.st.OutboxPut(b.ctx, beckon.OutboxEntry{ID: "obx_old", ClinicID: "cln_a", SendID: "snd_sent", Channel: beckon.ChannelSMS,
			To: "+15555550100", Body: "Hi Pat", Headers: map[string]string{"X": "y"}, CreatedAt: b.old})
		noErr(t, "outbox old", err)
		noErr(t, "archive old", b.st.InboundInsert(b.ctx, beckon.InboundMessage{ID: "inb_old", ClinicID: "cln_a",
			Transport: "http", Format: "hl7v2", Raw: []byte("MSH|^~\\&|old"), Outcome: "AA", ReceivedAt: b.old}))
		noErr(t, "audit old", b.st.AuditAppend(b.ctx, beckon.AuditEntry{ID: "aud_old", ClinicID: "cln_a", Actor: "key:k1",
			Action: "patient.read", Entity: "patient", EntityID: "P-1", At: b.old}))

		// New records.
		b.clock.Set(b.now)
		b.message(t, "msg_new", beckon.Outbound, "", b.now)
		b.messageSend(t, "snd_new", beckon.SendSent, true)
		_, err = b.st.OutboxPut(b.ctx, beckon.OutboxEntry{ID: "obx_new", ClinicID: "cln_a", SendID: "snd_new", Channel: beckon.ChannelSMS,
			To: "+15555550100", Body: "Hi Pat", CreatedAt: b.now})
		noErr(t, "outbox new", err)
		noErr(t, "archive new", b.st.InboundInsert(b.ctx, beckon.InboundMessage{ID: "inb_new", ClinicID: "cln_a",
			Transport: "http", Format: "hl7v2", Raw: []byte("MSH|^~\\&|new"), Outcome: "AA", ReceivedAt: b.now}))

		p := beckon.RetentionPurgeParams{
			BodiesBefore:   b.now.Add(-90 * 24 * time.Hour),
			ArchivesBefore: b.now.Add(-30 * 24 * time.Hour),
			Limit:          10,
		}
		// 25 old outbound + msg_snd_sent + msg_in_done: 27 message rows, in
		// batches of 10.
		var rounds []beckon.RetentionPurged
		for {
			r, err := b.st.RetentionPurge(b.ctx, p)
			noErr(t, "purge", err)
			rounds = append(rounds, r)
			if r.Max() < p.Limit {
				break
			}
			if len(rounds) > 10 {
				t.Fatalf("purge does not end: %+v", rounds)
			}
		}
		equal(t, "message rows per round", ids(rounds, func(r beckon.RetentionPurged) string { return fmt.Sprint(r.Messages) }),
			[]string{"10", "10", "7"})
		equal(t, "first round but messages", rounds[0], beckon.RetentionPurged{
			Messages: 10, Outbox: 1, SendCalls: 1, SendMessages: 2, InboundSMS: 1, Archives: 1,
		})
		again, err := b.st.RetentionPurge(b.ctx, p)
		noErr(t, "purge again", err)
		equal(t, "purge again", again, beckon.RetentionPurged{})

		// The message log: old bodies blanked, ids, statuses and times kept.
		for _, id := range []string{"msg_old_00", "msg_old_24", "msg_snd_sent", "msg_in_done"} {
			m, err := b.st.MessageGet(b.ctx, "cln_a", id)
			noErr(t, "get "+id, err)
			if m.Body != "" || m.Subject != "" || m.HTML != "" {
				t.Errorf("%s: body kept: %+v", id, m)
			}
			if m.Status == "" || !m.CreatedAt.Equal(b.old) || m.PatientID != "P-1" || m.To == "" {
				t.Errorf("%s: more than the body purged: %+v", id, m)
			}
		}
		for id, want := range map[string]string{"msg_new": "Hi Pat, see you Tuesday", "msg_in_pending": "C please"} {
			m, err := b.st.MessageGet(b.ctx, "cln_a", id)
			noErr(t, "get "+id, err)
			equal(t, id+" body", m.Body, want)
		}
		// Inbound texts: the interpreted one blanked, the pending one kept.
		in, err := b.st.InboundSMSGet(b.ctx, "cln_a", "msg_in_done")
		noErr(t, "inbound done", err)
		equal(t, "interpreted inbound body", in.Body, "")
		equal(t, "interpreted inbound intent", in.Intent, "confirm")
		in, err = b.st.InboundSMSGet(b.ctx, "cln_a", "msg_in_pending")
		noErr(t, "inbound pending", err)
		equal(t, "pending inbound body", in.Body, "C please")

		// Message sends: a planned or claimed send keeps its content.
		for id, want := range map[string]string{"snd_planned": "Your results are ready, Pat", "snd_claimed": "Your results are ready, Pat",
			"snd_sent": "", "snd_unknown": "", "snd_new": "Your results are ready, Pat"} {
			m, err := b.st.SendMessageGet(b.ctx, "cln_a", id)
			noErr(t, "send message "+id, err)
			equal(t, id+" text", m.Text, want)
			equal(t, id+" data kept", len(m.Data) > 0, want != "")
		}
		// Provider calls: a claimed or unknown send's call keeps its body.
		for id, want := range map[string]string{"snd_claimed": "Your results are ready, Pat", "snd_unknown": "Your results are ready, Pat",
			"snd_sent": "", "snd_new": "Your results are ready, Pat"} {
			c, err := b.st.SendCallGet(b.ctx, "cln_a", id)
			noErr(t, "call "+id, err)
			equal(t, id+" call body", c.Body, want)
		}
		sd, err := b.st.SendGet(b.ctx, "cln_a", "snd_sent")
		noErr(t, "send", err)
		equal(t, "sent send's status", sd.Status, beckon.SendSent)

		// The outbox.
		o, err := b.st.OutboxGetBySend(b.ctx, "cln_a", "snd_sent")
		noErr(t, "outbox old", err)
		if o.Body != "" || len(o.Headers) != 0 || o.To == "" {
			t.Errorf("old outbox entry: %+v", o)
		}
		o, err = b.st.OutboxGetBySend(b.ctx, "cln_a", "snd_new")
		noErr(t, "outbox new", err)
		equal(t, "new outbox body", o.Body, "Hi Pat")

		// Raw archives: the old one deleted, the new one kept.
		_, err = b.st.InboundGet(b.ctx, "cln_a", "inb_old")
		isErr(t, "old archive", err, beckon.ErrNotFound)
		a, err := b.st.InboundGet(b.ctx, "cln_a", "inb_new")
		noErr(t, "new archive", err)
		equal(t, "new archive raw", string(a.Raw), "MSH|^~\\&|new")

		// The audit trail.
		trail, err := b.st.AuditList(b.ctx, "cln_a", "patient", "P-1")
		noErr(t, "audit", err)
		equal(t, "audit trail", ids(trail, func(e beckon.AuditEntry) string { return e.ID }), []string{"aud_old"})
	})
}
