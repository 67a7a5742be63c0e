package conversation_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/conversation"
	"github.com/beckonhealth/beckon/scheduler"
	"github.com/beckonhealth/beckon/store/storetest"
	"github.com/beckonhealth/beckon/worker"
)

type fixture struct {
	t      *testing.T
	ctx    context.Context
	st     beckon.Store
	clock  *beckon.ManualClock
	clinic beckon.Clinic
	h      *worker.InterpretHandler
	seq    int
	// last is what the interpreter's last run applied; runs counts them.
	last conversation.Result
	runs int
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, ctx: t.Context(), st: storetest.Open(t)}
	f.clock = beckon.NewManualClock(time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC))
	f.clinic = storetest.Clinic(t, f.st, storetest.ClinicOpts{TimeZone: "America/New_York"})
	it := &conversation.Interpreter{Confirm: &scheduler.Service{Store: f.st, Clock: f.clock}, Clock: f.clock}
	// As the app wires it: the worker's interpretation task runs Apply in
	// its transaction and records the result.
	f.h = worker.NewInterpretHandler(f.st, worker.InterpreterFunc(func(ctx context.Context, q beckon.Querier, m beckon.InboundSMS) (worker.Interpretation, error) {
		r, err := it.Apply(ctx, q, m)
		f.last, f.runs = r, f.runs+1
		return worker.Interpretation{Intent: r.Interpretation.Intent, Detail: r.Detail, NeedsAttention: r.NeedsAttention, Sends: r.Sends}, err
	}), f.clock, slog.New(slog.DiscardHandler))
	return f
}

// reminded creates an appointment of the patient starting in, with a
// reminder sent an hour ago.
func (f *fixture) reminded(patientID, id string, in time.Duration) beckon.Appointment {
	f.t.Helper()
	a := storetest.Appointment(f.t, f.st, f.clinic.ID, storetest.AppointmentOpts{ID: id, PatientID: patientID, Start: f.clock.Now().Add(in)})
	s := storetest.Send(f.t, f.st, f.clinic.ID, storetest.SendOpts{AppointmentID: id, PatientID: patientID})
	sent := f.clock.Now().Add(-time.Hour)
	if _, ok, err := f.st.SendClaim(f.ctx, beckon.SendClaimParams{ClinicID: f.clinic.ID, ID: s.ID, Token: "t" + s.ID, Now: sent}); err != nil || !ok {
		f.t.Fatalf("claim: %v %v", ok, err)
	}
	if err := f.st.SendFinish(f.ctx, beckon.SendFinishParams{ID: s.ID, Token: "t" + s.ID, Status: beckon.SendSent, MessageID: "m" + s.ID, Now: sent}); err != nil {
		f.t.Fatal(err)
	}
	return a
}

// reply stores an inbound SMS from the number and interprets it.
func (f *fixture) reply(from, body, optOutType string) (beckon.InboundSMS, conversation.Interpretation) {
	f.t.Helper()
	f.seq++
	patients, err := f.st.PatientListByPhone(f.ctx, f.clinic.ID, from, 2)
	if err != nil {
		f.t.Fatal(err)
	}
	m := beckon.InboundSMS{
		ID: beckon.NewID("msg_"), ClinicID: f.clinic.ID, Channel: beckon.ChannelSMS, Provider: "twilio",
		ProviderID: "SM" + strings.Repeat("0", 30) + string(rune('a'+f.seq)), From: from, To: "+15555550000",
		Body: body, OptOutType: optOutType, ReceivedAt: f.clock.Now(), QueuedAt: f.clock.Now(),
	}
	if len(patients) == 1 {
		m.PatientID = patients[0]
	}
	m, _, err = f.st.InboundSMSPut(f.ctx, m)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.h.Interpret(f.ctx, f.clinic.ID, m.ID); err != nil {
		f.t.Fatalf("interpret %q: %v", body, err)
	}
	return m, f.last.Interpretation
}

func (f *fixture) confirmation(id string) string {
	f.t.Helper()
	a, err := f.st.AppointmentGet(f.ctx, f.clinic.ID, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return a.Confirmation
}

func (f *fixture) answer(sendID string) beckon.MessageSendParams {
	f.t.Helper()
	p, err := f.st.SendMessageGet(f.ctx, f.clinic.ID, sendID)
	if err != nil {
		f.t.Fatalf("answer %s: %v", sendID, err)
	}
	return p
}

func TestInterpreterConfirmsOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const phone = "+15555550101"
	ana := storetest.Patient(t, f.st, f.clinic.ID, storetest.PatientOpts{FirstName: "Ana", Phone: phone, Language: "es"})
	f.reminded(ana.ID, "apt-ana", 26*time.Hour)

	m, res := f.reply(phone, "sí, ahí estaré", "")
	if res.Intent != "confirm" || res.AppointmentID != "apt-ana" || res.Answer != conversation.TemplateConfirmed {
		t.Fatalf("interpretation = %+v", res)
	}
	if got := f.confirmation("apt-ana"); got != beckon.Confirmed {
		t.Fatalf("appointment confirmation = %q, want confirmed", got)
	}
	ans := f.answer(res.AnswerSendID)
	if ans.Template != conversation.TemplateConfirmed || ans.PatientID != ana.ID || ans.InReplyTo != m.ID || ans.AppointmentID != "apt-ana" || ans.ConsentExempt {
		t.Fatalf("answer = %+v", ans)
	}
	cs, err := f.st.ConfirmationList(f.ctx, f.clinic.ID, "apt-ana")
	if err != nil || len(cs) != 1 || cs[0].By != "patient" || cs[0].Method != "sms" {
		t.Fatalf("confirmations = %+v, %v", cs, err)
	}
	stored, err := f.st.InboundSMSGet(f.ctx, f.clinic.ID, m.ID)
	if err != nil || stored.InterpretedAt.IsZero() || stored.Intent != "confirm" || stored.NeedsAttention {
		t.Fatalf("stored message = %+v, %v", stored, err)
	}
	var detail conversation.Interpretation
	if err := json.Unmarshal(stored.Interpretation, &detail); err != nil || detail.AnswerSendID != res.AnswerSendID {
		t.Fatalf("stored interpretation %s: %v", stored.Interpretation, err)
	}
	if _, err := f.st.EventGet(f.ctx, f.clinic.ID, beckon.EventID(f.clinic.ID, beckon.EventMessageReceived, m.ID)); err != nil {
		t.Fatalf("message.received event: %v", err)
	}

	// The task runs again: nothing more happens.
	if err := f.h.Interpret(f.ctx, f.clinic.ID, m.ID); err != nil || f.runs != 1 {
		t.Fatalf("second run: %v, interpreter ran %d times; want once", err, f.runs)
	}
	cs, _ = f.st.ConfirmationList(f.ctx, f.clinic.ID, "apt-ana")
	if len(cs) != 1 {
		t.Fatalf("after a second run: %d confirmations", len(cs))
	}
}

func TestInterpreterAsksWhichOnASharedNumber(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const phone = "+15555550102"
	ana := storetest.Patient(t, f.st, f.clinic.ID, storetest.PatientOpts{FirstName: "Ana", Phone: phone})
	leo := storetest.Patient(t, f.st, f.clinic.ID, storetest.PatientOpts{FirstName: "Leo", Phone: phone})
	f.reminded(ana.ID, "apt-ana", 26*time.Hour)
	f.reminded(leo.ID, "apt-leo", 26*time.Hour+30*time.Minute)

	_, res := f.reply(phone, "C", "")
	if res.Question != "which" || res.AppointmentID != "" || res.Answer != conversation.TemplateWhich {
		t.Fatalf("first reply: %+v, want the which question", res)
	}
	q := f.answer(res.AnswerSendID)
	if q.To != phone || q.PatientID != "" || q.Data[beckon.MessageDataChoices] != "apt-ana\napt-leo" {
		t.Fatalf("which question = %+v", q)
	}
	if f.confirmation("apt-ana") != beckon.Unconfirmed || f.confirmation("apt-leo") != beckon.Unconfirmed {
		t.Fatal("an appointment was confirmed before the patient chose")
	}

	f.clock.Advance(2 * time.Minute)
	_, res = f.reply(phone, "2", "")
	if res.Intent != "choice" || res.AppointmentID != "apt-leo" || res.Answer != conversation.TemplateConfirmed {
		t.Fatalf("the choice: %+v", res)
	}
	if f.confirmation("apt-ana") != beckon.Unconfirmed || f.confirmation("apt-leo") != beckon.Confirmed {
		t.Fatalf("after 2: ana %s, leo %s; want only leo confirmed", f.confirmation("apt-ana"), f.confirmation("apt-leo"))
	}
	if p := f.answer(res.AnswerSendID); p.PatientID != leo.ID {
		t.Fatalf("the confirmation answer goes to %q, want Leo", p.PatientID)
	}
	st, err := f.st.ConversationGet(f.ctx, f.clinic.ID, phone)
	if err != nil || st.Question != "" {
		t.Fatalf("conversation after the choice = %+v, %v; want closed", st, err)
	}
	// A later "1" is no choice any more: the reminder's menu, and the number
	// has two appointments, so it asks again rather than guess.
	_, res = f.reply(phone, "1", "")
	if res.Question != "which" {
		t.Fatalf("a later 1: %+v, want the question again", res)
	}
}

func TestInterpreterOptOut(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const phone = "+15555550103"
	ana := storetest.Patient(t, f.st, f.clinic.ID, storetest.PatientOpts{FirstName: "Ana", Phone: phone})
	f.reminded(ana.ID, "apt-ana", 26*time.Hour)

	m, res := f.reply(phone, "STOP", "")
	if res.Consent != beckon.ConsentOptedOut || res.Answer != conversation.TemplateOptedOut {
		t.Fatalf("STOP: %+v", res)
	}
	if p := f.answer(res.AnswerSendID); !p.ConsentExempt {
		t.Fatalf("the opt-out confirmation is not exempt: %+v", p)
	}
	state, err := f.st.ConsentPhoneState(f.ctx, f.clinic.ID, phone)
	if err != nil || state != beckon.ConsentOptedOut {
		t.Fatalf("number's consent = %q, %v", state, err)
	}
	h, err := f.st.ConsentHistory(f.ctx, f.clinic.ID, ana.ID)
	if err != nil || len(h) != 1 || h[0].Text != "STOP" || h[0].MessageID != m.ID || h[0].How != beckon.ConsentKeyword {
		t.Fatalf("ledger = %+v, %v", h, err)
	}
	if _, err := f.st.EventGet(f.ctx, f.clinic.ID, beckon.EventID(f.clinic.ID, beckon.EventPatientOptedOut, h[0].ID)); err != nil {
		t.Fatalf("patient.opted_out event: %v", err)
	}

	// Twilio's Advanced Opt-Out answered START itself: recorded, no answer.
	_, res = f.reply(phone, "START", "START")
	if res.Consent != beckon.ConsentOptedIn || res.Answer != "" || res.AnswerSendID != "" {
		t.Fatalf("START with OptOutType: %+v", res)
	}
	if state, _ := f.st.ConsentPhoneState(f.ctx, f.clinic.ID, phone); state != beckon.ConsentOptedIn {
		t.Fatalf("number's consent after START = %q", state)
	}
}

func TestInterpreterAcknowledgesOnceADay(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const phone = "+15555550104"
	storetest.Patient(t, f.st, f.clinic.ID, storetest.PatientOpts{Phone: phone})
	m1, r1 := f.reply(phone, "what should I bring to the visit?", "")
	if !r1.Acknowledged || r1.Intent != "other" {
		t.Fatalf("first free text: %+v", r1)
	}
	f.clock.Advance(time.Hour)
	m2, r2 := f.reply(phone, "also, is parking free?", "")
	if r2.Acknowledged || r2.AnswerSendID != "" {
		t.Fatalf("second free text the same day: %+v, want no second acknowledgement", r2)
	}
	for _, m := range []beckon.InboundSMS{m1, m2} {
		got, err := f.st.InboundSMSGet(f.ctx, f.clinic.ID, m.ID)
		if err != nil || !got.NeedsAttention {
			t.Fatalf("message %s needs attention = %v, %v", m.ID, got.NeedsAttention, err)
		}
	}
	f.clock.Advance(24 * time.Hour)
	if _, r3 := f.reply(phone, "hello?", ""); !r3.Acknowledged {
		t.Fatalf("free text the next day: %+v, want an acknowledgement", r3)
	}
}

func TestInterpreterUnknownNumber(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const phone = "+15555550105"
	_, res := f.reply(phone, "STOP", "")
	if res.Consent != beckon.ConsentOptedOut {
		t.Fatalf("STOP from an unknown number: %+v", res)
	}
	if p := f.answer(res.AnswerSendID); p.To != phone || p.PatientID != "" {
		t.Fatalf("the confirmation to an unknown number = %+v", p)
	}
	// A patient created later with that number is opted out.
	p := storetest.Patient(t, f.st, f.clinic.ID, storetest.PatientOpts{Phone: phone})
	got, err := f.st.PatientGet(f.ctx, f.clinic.ID, p.ID)
	if err != nil || got.SMSConsent != beckon.ConsentOptedOut {
		t.Fatalf("a later patient with the number: consent %q, %v", got.SMSConsent, err)
	}
}
