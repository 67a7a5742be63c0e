package worker_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/store/storetest"
	"github.com/beckonhealth/beckon/worker"
)

func storeInbound(t *testing.T, st beckon.Store, clinicID, sid string) beckon.InboundSMS {
	t.Helper()
	m, _, err := st.InboundSMSPut(context.Background(), beckon.InboundSMS{
		ClinicID: clinicID, Provider: "twilio", ProviderID: sid, From: "+14155550123", Body: "C", ReceivedAt: t0,
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestInterpretPendingByDefault(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t)
	ctx := context.Background()
	c := storetest.Clinic(t, st, storetest.ClinicOpts{})
	m := storeInbound(t, st, c.ID, "SM1")
	h := worker.NewInterpretHandler(st, nil, beckon.NewManualClock(t0), quiet)
	if err := h.Interpret(ctx, c.ID, m.ID); err != nil {
		t.Fatal(err)
	}
	got, err := st.InboundSMSGet(ctx, c.ID, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Intent != beckon.InterpretationPending || !got.NeedsAttention || !got.InterpretedAt.Equal(t0) {
		t.Fatalf("message %+v, want interpreted pending and needing a person", got)
	}
	// A message no clinic owns is interpreted too.
	u := storeInbound(t, st, "", "SM2")
	if err := h.Interpret(ctx, "", u.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := st.InboundSMSGet(ctx, "", u.ID); err != nil || got.InterpretedAt.IsZero() {
		t.Fatalf("unassigned message %+v, %v", got, err)
	}
}

// The interpreter's effects (here: an answer planned) and the recorded
// interpretation commit together, once, however often the task runs.
func TestInterpretOnce(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t)
	ctx := context.Background()
	c := storetest.Clinic(t, st, storetest.ClinicOpts{})
	other := storetest.Clinic(t, st, storetest.ClinicOpts{})
	m := storeInbound(t, st, c.ID, "SM1")
	var calls atomic.Int32
	in := worker.InterpreterFunc(func(ctx context.Context, q beckon.Querier, m beckon.InboundSMS) (worker.Interpretation, error) {
		calls.Add(1)
		sd, _, err := q.SendPlanMessage(ctx, beckon.MessageSendParams{
			ID: "snd_ans_" + m.ID, ClinicID: m.ClinicID, To: m.From, Channel: beckon.ChannelSMS,
			Text: "Thanks", InReplyTo: m.ID, QuietExempt: true, By: "system",
		})
		return worker.Interpretation{Intent: "confirm", Detail: []byte(`{"n":1}`), Sends: []beckon.Send{sd}}, err
	})
	h := worker.NewInterpretHandler(st, in, beckon.NewManualClock(t0), quiet)
	counted := &countingMetrics{}
	h.Metrics = counted

	// Another clinic's task for the message changes nothing.
	if err := h.Interpret(ctx, other.ID, m.ID); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 0 {
		t.Fatal("the interpreter ran for another clinic's message")
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() { errs <- h.Interpret(ctx, c.ID, m.ID) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := h.Interpret(ctx, c.ID, m.ID); err != nil {
		t.Fatal(err)
	}
	got, err := st.InboundSMSGet(ctx, c.ID, m.ID)
	if err != nil || got.Intent != "confirm" || string(got.Interpretation) != `{"n":1}` || got.NeedsAttention {
		t.Fatalf("message %+v, %v", got, err)
	}
	if _, err := st.SendMessageGet(ctx, c.ID, "snd_ans_"+m.ID); err != nil {
		t.Fatalf("the answer was not planned: %v", err)
	}
	if n := calls.Load(); n < 1 || n > 4 {
		t.Fatalf("interpreter ran %d times", n)
	}
	if got := counted.seen(); !slices.Equal(got, []string{"inbound confirm"}) {
		t.Fatalf("metrics %q, want one inbound confirm", got)
	}
}

func TestInterpretFailureLeavesItPending(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t)
	ctx := context.Background()
	c := storetest.Clinic(t, st, storetest.ClinicOpts{})
	m := storeInbound(t, st, c.ID, "SM1")
	boom := errors.New("boom")
	h := worker.NewInterpretHandler(st, worker.InterpreterFunc(func(ctx context.Context, q beckon.Querier, m beckon.InboundSMS) (worker.Interpretation, error) {
		if _, _, err := q.SendPlanMessage(ctx, beckon.MessageSendParams{
			ID: "snd_ans_" + m.ID, ClinicID: m.ClinicID, To: m.From, Channel: beckon.ChannelSMS, Text: "x", By: "system",
		}); err != nil {
			return worker.Interpretation{}, err
		}
		return worker.Interpretation{}, boom
	}), beckon.NewManualClock(t0), quiet)
	if err := h.Interpret(ctx, c.ID, m.ID); !errors.Is(err, boom) {
		t.Fatalf("err %v, want the interpreter's", err)
	}
	got, err := st.InboundSMSGet(ctx, c.ID, m.ID)
	if err != nil || !got.InterpretedAt.IsZero() {
		t.Fatalf("message %+v, %v: want still to interpret", got, err)
	}
	if _, err := st.SendGet(ctx, c.ID, "snd_ans_"+m.ID); !errors.Is(err, beckon.ErrNotFound) {
		t.Fatalf("a failed interpretation left its answer planned: %v", err)
	}
}
