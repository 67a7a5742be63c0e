package worker_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/channels"
	"github.com/beckonhealth/beckon/channels/twilio"
	"github.com/beckonhealth/beckon/channels/twilio/twiliotest"
	"github.com/beckonhealth/beckon/worker"
)

// logBuffer collects log output; it is safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// lines returns the log lines that contain every one of parts.
func (l *logBuffer) lines(parts ...string) []string {
	var out []string
	for line := range strings.Lines(l.String()) {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(line, p)
		}
		if ok {
			out = append(out, line)
		}
	}
	return out
}

func newLogBuffer() (*logBuffer, *slog.Logger) {
	lb := &logBuffer{}
	return lb, slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// noPHI fails the test when the log holds the patient's phone number, email or
// the message text.
func (b *bundle) noPHI(t *testing.T, lb *logBuffer) {
	t.Helper()
	for _, s := range []string{b.patient.Phone, strings.TrimPrefix(b.patient.Phone, "+1"), b.patient.Email, "Hi Ana", "hello"} {
		if strings.Contains(lb.String(), s) {
			t.Fatalf("the log holds %q:\n%s", s, lb)
		}
	}
}

// A provider lookup that fails while resolving a stale claim (Twilio answering
// 501) is a warning with the send and clinic ids and the error's kind.
func TestFailedLookupIsLogged(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	fake := twiliotest.New()
	t.Cleanup(fake.Close)
	fake.SetNow(b.clock.Now)
	tw, err := twilio.New(twilio.Options{
		AccountSID:  twiliotest.AccountSID,
		AuthToken:   twiliotest.AuthToken,
		From:        "+15550001111",
		BaseURL:     fake.URL,
		HTTPTimeout: 5 * time.Second,
		Now:         b.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	lb, logger := newLogBuffer()
	d := worker.NewDeliverer(b.st, channels.Static{beckon.ChannelSMS: tw}, b.clock, logger, worker.Config{ClaimTimeout: 2 * time.Minute})
	b.abandonClaim(t, callNotReceived)
	fake.FailNext(4, twiliotest.Failure{Status: 501, Message: "Not Implemented"})

	if err := d.Deliver(context.Background(), b.clinic.ID, b.send.ID, false); err == nil {
		t.Fatal("want an error: the provider could not be asked")
	}
	if s := b.reload(t); s.Status != beckon.SendClaimed {
		t.Fatalf("send = %s, want still claimed until the provider answers", s.Status)
	}
	if len(fake.Messages()) != 0 {
		t.Fatal("a send whose lookup failed must not be sent")
	}
	got := lb.lines("level=WARN", "provider lookup failed", "send_id="+b.send.ID, "clinic_id="+b.clinic.ID, "kind="+channels.KindTransient, "code=")
	if len(got) != 1 {
		t.Fatalf("want one warning with the ids and the error kind, log:\n%s", lb)
	}
	b.noPHI(t, lb)
}

// Every send ended unknown is an error line with its id and reason.
func TestSendEndedUnknownIsLogged(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		before func(b *bundle, t *testing.T)
	}{
		{"abandoned claim, provider cannot be asked", func(b *bundle, t *testing.T) { b.abandonClaim(t, callReceived) }},
		{"ambiguous answer, provider cannot be asked", func(b *bundle, _ *testing.T) {
			b.ch.after = []error{&channels.Error{Kind: channels.KindAmbiguous, Code: "timeout", Reason: "no response"}}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, setupOpts{blind: true})
			lb, logger := newLogBuffer()
			d := worker.NewDeliverer(b.st, channels.Static{beckon.ChannelSMS: blindChannel{b.ch}}, b.clock, logger, worker.Config{ClaimTimeout: 2 * time.Minute})
			tc.before(b, t)
			if err := d.Deliver(context.Background(), b.clinic.ID, b.send.ID, false); err != nil {
				t.Fatal(err)
			}
			s := b.reload(t)
			if s.Status != beckon.SendUnknown {
				t.Fatalf("send = %s, want unknown", s.Status)
			}
			got := lb.lines("level=ERROR", "send ended", "status="+string(beckon.SendUnknown), "send_id="+b.send.ID, "clinic_id="+b.clinic.ID, "reason=")
			if len(got) != 1 || !strings.Contains(got[0], s.Reason[:10]) {
				t.Fatalf("want one error line with the send id and reason %q, log:\n%s", s.Reason, lb)
			}
			b.noPHI(t, lb)
		})
	}
}

// TestTaskErrorHandler runs a real asynq server with the handler: a failing
// task logs a warning per retry and an error when the retries are exhausted; a
// task that skips retry logs an error at once. Ids only, never the payload.
func TestTaskErrorHandler(t *testing.T) {
	t.Parallel()
	rdb := testRedis(t)
	queue := fmt.Sprintf("eq-%d", time.Now().UnixNano())
	lb, logger := newLogBuffer()
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency:              2,
		Queues:                   map[string]int{queue: 1},
		TaskCheckInterval:        50 * time.Millisecond,
		DelayedTaskCheckInterval: 50 * time.Millisecond,
		RetryDelayFunc:           func(int, error, *asynq.Task) time.Duration { return 0 },
		LogLevel:                 asynq.FatalLevel,
		ErrorHandler:             worker.TaskErrorHandler(logger),
	})
	mux := asynq.NewServeMux()
	mux.HandleFunc("test:fail", func(context.Context, *asynq.Task) error { return errors.New("provider down") })
	mux.HandleFunc("test:skip", func(context.Context, *asynq.Task) error {
		return fmt.Errorf("bad payload: %w", asynq.SkipRetry)
	})
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	client := asynq.NewClientFromRedisClient(rdb)
	payload := []byte(`{"to":"+14155550123","text":"Hi Ana"}`)
	for _, e := range []struct{ typ, id string }{{"test:fail", "snd_fail"}, {"test:skip", "snd_skip"}} {
		if _, err := client.Enqueue(asynq.NewTask(e.typ, payload), asynq.Queue(queue), asynq.TaskID(e.id), asynq.MaxRetry(1)); err != nil {
			t.Fatal(err)
		}
	}

	exhausted := []string{"level=ERROR", "task_type=test:fail", "task_id=snd_fail", "retried=1", "max_retry=1", "provider down"}
	skipped := []string{"level=ERROR", "task_type=test:skip", "task_id=snd_skip", "retried=0", "bad payload"}
	deadline := time.Now().Add(30 * time.Second)
	for len(lb.lines(exhausted...)) == 0 || len(lb.lines(skipped...)) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no error lines for the exhausted and skipped tasks; log:\n%s", lb)
		}
		time.Sleep(20 * time.Millisecond) // poll
	}
	if len(lb.lines("level=WARN", "task_type=test:fail", "task_id=snd_fail", "retried=0", "max_retry=1", "provider down")) != 1 {
		t.Fatalf("want one warning for the retried attempt; log:\n%s", lb)
	}
	if strings.Contains(lb.String(), "4155550123") || strings.Contains(lb.String(), "Hi Ana") {
		t.Fatalf("the log holds the payload:\n%s", lb)
	}
}
