package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/store/storetest"
)

func TestSendPlanMessage(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		t.Run("IdempotentByIDAndScoped", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			p := storetest.Patient(t, b.st, b.clinic.ID, storetest.PatientOpts{})
			params := beckon.MessageSendParams{
				ID: "snd_ans_msg_1", ClinicID: b.clinic.ID, PatientID: p.ID, AppointmentID: "apt_1",
				Channel: beckon.ChannelSMS, Template: "reply_confirmed", InReplyTo: "msg_1",
				QuietExempt: true, Data: map[string]string{"help": "call us"}, By: "system", DueAt: b.now,
			}
			sd, created, err := b.st.SendPlanMessage(b.ctx, params)
			noErr(t, "plan", err)
			if !created || sd.Status != beckon.SendPlanned || !sd.IsMessage() || sd.AppointmentID != "" {
				t.Fatalf("first plan: created %v, send %+v", created, sd)
			}
			again := params
			again.Template, again.Text = "", "something else"
			sd2, created, err := b.st.SendPlanMessage(b.ctx, again)
			noErr(t, "plan again", err)
			if created || sd2.ID != sd.ID {
				t.Fatalf("second plan: created %v, id %s", created, sd2.ID)
			}
			got, err := b.st.SendMessageGet(b.ctx, b.clinic.ID, params.ID)
			noErr(t, "get", err)
			equal(t, "message send", got, params)

			other := b.otherClinic(t)
			if _, err := b.st.SendMessageGet(b.ctx, other.ID, params.ID); !errors.Is(err, beckon.ErrNotFound) {
				t.Fatalf("another clinic's get: %v", err)
			}
			if _, err := b.st.SendGet(b.ctx, other.ID, params.ID); !errors.Is(err, beckon.ErrNotFound) {
				t.Fatalf("another clinic's send get: %v", err)
			}
			theirs := params
			theirs.ClinicID, theirs.PatientID = other.ID, ""
			theirs.To = "+15555550199"
			if _, _, err := b.st.SendPlanMessage(b.ctx, theirs); !errors.Is(err, beckon.ErrConflict) {
				t.Fatalf("another clinic planning the same id: %v", err)
			}
			// The pump sees it like any planned send.
			due, err := b.st.SendListDue(b.ctx, beckon.SendListDueParams{DueBefore: b.now.Add(time.Second)})
			noErr(t, "list due", err)
			if len(due) != 1 || due[0].ID != params.ID {
				t.Fatalf("due: %+v", due)
			}
		})
		t.Run("InsideATransaction", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			params := beckon.MessageSendParams{
				ID: "snd_msg_tx", ClinicID: b.clinic.ID, To: "+15555550123",
				Channel: beckon.ChannelSMS, Text: "Hello", By: "staff_1",
			}
			boom := errors.New("rolled back")
			err := b.st.InTx(b.ctx, func(q beckon.Querier) error {
				if _, _, err := q.SendPlanMessage(b.ctx, params); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatalf("tx: %v", err)
			}
			if _, err := b.st.SendGet(b.ctx, b.clinic.ID, params.ID); !errors.Is(err, beckon.ErrNotFound) {
				t.Fatalf("a rolled back plan left a send: %v", err)
			}
			noErr(t, "tx", b.st.InTx(b.ctx, func(q beckon.Querier) error {
				_, _, err := q.SendPlanMessage(b.ctx, params)
				return err
			}))
			got, err := b.st.SendMessageGet(b.ctx, b.clinic.ID, params.ID)
			noErr(t, "get", err)
			if got.Text != "Hello" || got.To != params.To || got.DueAt.IsZero() {
				t.Fatalf("got %+v", got)
			}
		})
		t.Run("Invalid", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			base := beckon.MessageSendParams{ID: "snd_x", ClinicID: b.clinic.ID, To: "+15555550123", Channel: beckon.ChannelSMS, Text: "hi"}
			for name, mod := range map[string]func(*beckon.MessageSendParams){
				"no recipient":  func(p *beckon.MessageSendParams) { p.To = "" },
				"both":          func(p *beckon.MessageSendParams) { p.Template = "reply_help" },
				"neither":       func(p *beckon.MessageSendParams) { p.Text = "" },
				"NUL":           func(p *beckon.MessageSendParams) { p.Text = "a\x00b" },
				"too long":      func(p *beckon.MessageSendParams) { p.Text = string(make([]rune, 1601)) },
				"email channel": func(p *beckon.MessageSendParams) { p.Channel = beckon.ChannelEmail },
			} {
				p := base
				mod(&p)
				if _, _, err := b.st.SendPlanMessage(b.ctx, p); !errors.Is(err, beckon.ErrInvalidData) {
					t.Errorf("%s: %v", name, err)
				}
			}
		})
	})
}

func TestInboundSMS(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		t.Run("StoredOnceWithItsLogEntry", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			p := storetest.Patient(t, b.st, b.clinic.ID, storetest.PatientOpts{Phone: "+15555550142"})
			in := beckon.InboundSMS{
				ID: "msg_in_1", ClinicID: b.clinic.ID, PatientID: p.ID, Provider: "twilio", ProviderID: "SM1",
				From: p.Phone, To: "+15555550000", Body: "C", OptOutType: "", NumSegments: 1, ReceivedAt: b.now,
			}
			got, created, err := b.st.InboundSMSPut(b.ctx, in)
			noErr(t, "put", err)
			if !created || got.ID != in.ID {
				t.Fatalf("put: %v %+v", created, got)
			}
			retry := in
			retry.ID, retry.Body = "msg_in_2", "changed"
			got, created, err = b.st.InboundSMSPut(b.ctx, retry)
			noErr(t, "put again", err)
			if created || got.ID != in.ID || got.Body != "C" {
				t.Fatalf("retry: %v %+v", created, got)
			}
			msgs, err := b.st.MessageList(b.ctx, beckon.MessageFilter{ClinicID: b.clinic.ID, PatientID: p.ID})
			noErr(t, "list", err)
			if len(msgs) != 1 || msgs[0].ID != in.ID || msgs[0].Direction != beckon.Inbound || msgs[0].Status != beckon.MessageReceived {
				t.Fatalf("message log: %+v", msgs)
			}
			other := b.otherClinic(t)
			if _, err := b.st.InboundSMSGet(b.ctx, other.ID, in.ID); !errors.Is(err, beckon.ErrNotFound) {
				t.Fatalf("another clinic's get: %v", err)
			}
			if ok, err := b.st.InboundSMSInterpreted(b.ctx, beckon.InboundInterpretParams{ClinicID: other.ID, ID: in.ID, Intent: "x"}); ok || err != nil {
				t.Fatalf("another clinic interpreting: %v %v", ok, err)
			}
			last, err := b.st.InboundSMSLastFrom(b.ctx, b.clinic.ID, p.ID)
			noErr(t, "last", err)
			equal(t, "last from", last, b.now)
		})
		t.Run("UnassignedKept", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			in := beckon.InboundSMS{Provider: "twilio", ProviderID: "SM2", From: "+15555550143", To: "+15555559999", Body: "hi", ReceivedAt: b.now}
			got, created, err := b.st.InboundSMSPut(b.ctx, in)
			noErr(t, "put", err)
			if !created || got.ID == "" {
				t.Fatalf("put: %v %+v", created, got)
			}
			back, err := b.st.InboundSMSGet(b.ctx, "", got.ID)
			noErr(t, "get unassigned", err)
			if back.Body != "hi" || back.ClinicID != "" {
				t.Fatalf("got %+v", back)
			}
		})
		t.Run("PendingInterpretedAttentionHandled", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			a, _, err := b.st.InboundSMSPut(b.ctx, beckon.InboundSMS{ClinicID: b.clinic.ID, Provider: "twilio", ProviderID: "SMa", Body: "a", ReceivedAt: b.now})
			noErr(t, "put a", err)
			c, _, err := b.st.InboundSMSPut(b.ctx, beckon.InboundSMS{ClinicID: b.clinic.ID, Provider: "twilio", ProviderID: "SMc", Body: "c", ReceivedAt: b.now.Add(time.Second)})
			noErr(t, "put c", err)
			pending, err := b.st.InboundSMSListPending(b.ctx, b.now.Add(time.Minute), 10)
			noErr(t, "pending", err)
			if len(pending) != 2 || pending[0].ID != a.ID {
				t.Fatalf("pending: %+v", pending)
			}
			noErr(t, "mark", b.st.InboundSMSMarkQueued(b.ctx, []string{a.ID}, b.now.Add(2*time.Minute)))
			pending, err = b.st.InboundSMSListPending(b.ctx, b.now.Add(time.Minute), 10)
			noErr(t, "pending", err)
			if len(pending) != 1 || pending[0].ID != c.ID {
				t.Fatalf("pending after mark: %+v", pending)
			}
			ok, err := b.st.InboundSMSInterpreted(b.ctx, beckon.InboundInterpretParams{
				ClinicID: b.clinic.ID, ID: c.ID, Intent: "free_text", Interpretation: []byte(`{"k":1}`), NeedsAttention: true, At: b.now,
			})
			noErr(t, "interpret", err)
			if !ok {
				t.Fatal("first interpretation not recorded")
			}
			ok, err = b.st.InboundSMSInterpreted(b.ctx, beckon.InboundInterpretParams{ClinicID: b.clinic.ID, ID: c.ID, Intent: "confirm", At: b.now})
			noErr(t, "interpret again", err)
			if ok {
				t.Fatal("a second interpretation was recorded")
			}
			att, err := b.st.InboundSMSListNeedsAttention(b.ctx, b.clinic.ID, 0)
			noErr(t, "attention", err)
			if len(att) != 1 || att[0].ID != c.ID || att[0].Intent != "free_text" || string(att[0].Interpretation) != `{"k":1}` {
				t.Fatalf("attention: %+v", att)
			}
			if other, err := b.st.InboundSMSListNeedsAttention(b.ctx, b.otherClinic(t).ID, 0); err != nil || len(other) != 0 {
				t.Fatalf("another clinic's inbox: %v %+v", err, other)
			}
			h, err := b.st.InboundSMSHandled(b.ctx, b.clinic.ID, c.ID, "staff_1", b.now.Add(time.Hour))
			noErr(t, "handled", err)
			if h.HandledBy != "staff_1" || !h.HandledAt.Equal(b.now.Add(time.Hour)) {
				t.Fatalf("handled: %+v", h)
			}
			att, err = b.st.InboundSMSListNeedsAttention(b.ctx, b.clinic.ID, 0)
			noErr(t, "attention", err)
			if len(att) != 0 {
				t.Fatalf("handled still listed: %+v", att)
			}
			if _, err := b.st.InboundSMSHandled(b.ctx, "nope", c.ID, "x", b.now); !errors.Is(err, beckon.ErrNotFound) {
				t.Fatalf("handled in another clinic: %v", err)
			}
		})
		t.Run("ClinicAndPatientLookups", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			other := b.otherClinic(t)
			_, err := b.st.ChannelSettingsPut(b.ctx, beckon.ChannelSettings{ClinicID: b.clinic.ID, TwilioAccountSID: "AC1", TwilioAuthToken: "t", TwilioFrom: "+15555550001"})
			noErr(t, "settings", err)
			_, err = b.st.ChannelSettingsPut(b.ctx, beckon.ChannelSettings{ClinicID: other.ID, TwilioMessagingServiceSID: "MG1"})
			noErr(t, "settings", err)
			ids, err := b.st.ClinicBySender(b.ctx, "+15555550001", "")
			noErr(t, "by from", err)
			equal(t, "by from", ids, []string{b.clinic.ID})
			ids, err = b.st.ClinicBySender(b.ctx, "+15555550002", "MG1")
			noErr(t, "by service", err)
			equal(t, "by service", ids, []string{other.ID})
			ids, err = b.st.ClinicBySender(b.ctx, "", "")
			noErr(t, "by nothing", err)
			if len(ids) != 0 {
				t.Fatalf("empty sender matched %v", ids)
			}
			ids, err = b.st.ClinicListWithoutTwilioAccount(b.ctx)
			noErr(t, "without account", err)
			equal(t, "without account", ids, []string{other.ID})

			p1 := storetest.Patient(t, b.st, b.clinic.ID, storetest.PatientOpts{Phone: "+15555550150"})
			p2 := storetest.Patient(t, b.st, b.clinic.ID, storetest.PatientOpts{Phone: "+15555550150"})
			storetest.Patient(t, b.st, other.ID, storetest.PatientOpts{Phone: "+15555550150"})
			got, err := b.st.PatientListByPhone(b.ctx, b.clinic.ID, "+15555550150", 0)
			noErr(t, "by phone", err)
			want := []string{p1.ID, p2.ID}
			if want[0] > want[1] {
				want[0], want[1] = want[1], want[0]
			}
			equal(t, "by phone", got, want)
		})
	})
}
