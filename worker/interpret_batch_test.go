package worker

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/store/storetest"
)

// batchWorld is a handler whose interpreter records the messages it reads
// (and the transaction each was read in) and can be held on a message
// until released, so that a test lines up the next batch.
type batchWorld struct {
	st      beckon.Store
	h       *InterpretHandler
	clinic  beckon.Clinic
	entered chan string
	release chan struct{}
	fail    map[string]error

	mu   sync.Mutex
	seen []string
	txs  []beckon.Querier
}

func newBatchWorld(t *testing.T, hold string) *batchWorld {
	t.Helper()
	w := &batchWorld{st: storetest.Open(t), entered: make(chan string, 16), release: make(chan struct{}), fail: map[string]error{}}
	w.clinic = storetest.Clinic(t, w.st, storetest.ClinicOpts{})
	in := InterpreterFunc(func(ctx context.Context, q beckon.Querier, m beckon.InboundSMS) (Interpretation, error) {
		w.mu.Lock()
		w.seen = append(w.seen, m.Body)
		w.txs = append(w.txs, q)
		w.mu.Unlock()
		if m.Body == hold {
			w.entered <- m.Body
			<-w.release
		}
		if _, _, err := q.SendPlanMessage(ctx, beckon.MessageSendParams{
			ID: "snd_ans_" + m.ID, ClinicID: m.ClinicID, To: m.From, Channel: beckon.ChannelSMS,
			Text: "ok", InReplyTo: m.ID, QuietExempt: true, By: "system",
		}); err != nil {
			return Interpretation{}, err
		}
		if err := w.fail[m.Body]; err != nil {
			return Interpretation{}, err
		}
		return Interpretation{Intent: "confirm", Detail: []byte(`{}`)}, nil
	})
	w.h = NewInterpretHandler(w.st, in, beckon.NewManualClock(time.Date(2026, 6, 1, 14, 0, 0, 0, time.UTC)), slog.New(slog.DiscardHandler))
	return w
}

// put stores a message from the number with body, received at the minute.
func (w *batchWorld) put(t *testing.T, sid, from, body string, minute int) beckon.InboundSMS {
	t.Helper()
	m, _, err := w.st.InboundSMSPut(context.Background(), beckon.InboundSMS{
		ClinicID: w.clinic.ID, Provider: "twilio", ProviderID: sid, From: from, Body: body,
		ReceivedAt: time.Date(2026, 6, 1, 13, minute, 0, 0, time.UTC),
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// lineUp starts the held message's task and, once its batch is in flight,
// the others' (in the order given), and waits until they all queue for the
// next batch of lane 0; then it releases the held one. It returns each
// task's error, in the order of msgs.
func (w *batchWorld) lineUp(t *testing.T, held beckon.InboundSMS, msgs ...beckon.InboundSMS) []error {
	t.Helper()
	ctx := context.Background()
	heldErr := make(chan error, 1)
	go func() { heldErr <- w.h.Interpret(ctx, w.clinic.ID, held.ID) }()
	<-w.entered
	errs := make([]error, len(msgs))
	var wg sync.WaitGroup
	for i, m := range msgs {
		wg.Go(func() { errs[i] = w.h.Interpret(ctx, w.clinic.ID, m.ID) })
	}
	deadline := time.Now().Add(10 * time.Second)
	for w.h.lanes[0].Pending() < len(msgs) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d tasks queued for the next batch", w.h.lanes[0].Pending(), len(msgs))
		}
		time.Sleep(time.Millisecond)
	}
	close(w.release)
	wg.Wait()
	if err := <-heldErr; err != nil {
		t.Fatal(err)
	}
	return errs
}

func (w *batchWorld) interpreted(t *testing.T, m beckon.InboundSMS) bool {
	t.Helper()
	got, err := w.st.InboundSMSGet(context.Background(), w.clinic.ID, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	return !got.InterpretedAt.IsZero()
}

// Two replies from one number in one batch are read in the order the
// clinic received them, whatever the order of their tasks, in one
// transaction.
func TestInterpretBatchKeepsANumbersOrder(t *testing.T) {
	t.Parallel()
	w := newBatchWorld(t, "hold")
	held := w.put(t, "SM0", "+14155550100", "hold", 0)
	first := w.put(t, "SM1", "+14155550123", "first", 1)
	second := w.put(t, "SM2", "+14155550123", "second", 2)
	other := w.put(t, "SM3", "+14155550199", "other", 3)
	for i, err := range w.lineUp(t, held, second, other, first) {
		if err != nil {
			t.Fatalf("task %d: %v", i, err)
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if got := w.seen[1:]; len(got) != 3 || got[0] != "first" || got[1] != "second" || got[2] != "other" {
		t.Fatalf("read %q after the held one, want first, second, other", got)
	}
	if w.txs[1] != w.txs[2] || w.txs[2] != w.txs[3] {
		t.Fatal("the batch's messages were not interpreted in one transaction")
	}
	for _, m := range []beckon.InboundSMS{held, first, second, other} {
		if !w.interpreted(t, m) {
			t.Fatalf("message %s not interpreted", m.Body)
		}
	}
}

// One message failing in a batch costs the others nothing: they are
// interpreted (each alone), the failing one's task gets its error, its
// effects roll back and it stays to interpret, for asynq to retry.
func TestInterpretBatchFailureKeepsTheOthers(t *testing.T) {
	t.Parallel()
	w := newBatchWorld(t, "hold")
	boom := errors.New("boom")
	w.fail["bad"] = boom
	held := w.put(t, "SM0", "+14155550100", "hold", 0)
	a := w.put(t, "SM1", "+14155550101", "a", 1)
	bad := w.put(t, "SM2", "+14155550102", "bad", 2)
	b := w.put(t, "SM3", "+14155550103", "b", 3)
	errs := w.lineUp(t, held, a, bad, b)
	if errs[0] != nil || errs[2] != nil || !errors.Is(errs[1], boom) {
		t.Fatalf("task errors %v, want only the failing message's", errs)
	}
	if !w.interpreted(t, a) || !w.interpreted(t, b) || w.interpreted(t, bad) {
		t.Fatal("want a and b interpreted, bad still to interpret")
	}
	if _, err := w.st.SendGet(context.Background(), w.clinic.ID, "snd_ans_"+bad.ID); !errors.Is(err, beckon.ErrNotFound) {
		t.Fatalf("the failed message's answer was kept: %v", err)
	}
	// Its retry interprets it.
	w.fail["bad"] = nil
	if err := w.h.Interpret(context.Background(), w.clinic.ID, bad.ID); err != nil || !w.interpreted(t, bad) {
		t.Fatalf("retry: %v", err)
	}
}

// Tasks of one message queued together in one batch interpret it once.
func TestInterpretBatchOneMessageTwice(t *testing.T) {
	t.Parallel()
	w := newBatchWorld(t, "hold")
	held := w.put(t, "SM0", "+14155550100", "hold", 0)
	m := w.put(t, "SM1", "+14155550101", "once", 1)
	for _, err := range w.lineUp(t, held, m, m, m) {
		if err != nil {
			t.Fatal(err)
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.seen) != 2 {
		t.Fatalf("interpreter read %q, want the held message and the other once", w.seen)
	}
}
