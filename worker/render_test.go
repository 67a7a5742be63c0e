package worker_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
)

// TestDeliverRenderFailureEndsSend: content that cannot render for this
// patient (saved before the rules, or failing on this patient's data) ends
// that send as failed with the reason, at once: no retry, no provider call,
// and the worker goes on.
func TestDeliverRenderFailureEndsSend(t *testing.T) {
	t.Parallel()
	bomb, err := os.ReadFile("../templates/testdata/bomb.tmpl") // issue 9's 391 bytes
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		text   string
		clinic string // the clinic's name, if set
		reason string // in the send's reason
	}{
		{
			name:   "the issue's bomb behind a patient field",
			text:   `{{if eq .Patient.FirstName "Ana"}}` + string(bomb) + `{{end}}Hi`,
			reason: `function "printf" is not allowed in message templates`,
		},
		{
			name:   "slice that fails on a short name",
			text:   `Hi {{slice .Patient.FirstName 0 4}}`,
			reason: `function "slice" is not allowed in message templates`,
		},
		{
			name:   "a value too large for this clinic's data",
			text:   `{{if eq .Patient.FirstName "Ana"}}{{upper .Clinic.Name}}{{end}}Hi`,
			clinic: strings.Repeat("Bay ", 2000),
			reason: "value too large",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, setupOpts{step: &beckon.Step{
				ID:      "remind",
				Timing:  beckon.Timing{Kind: beckon.TimingOffset, Offset: -24 * time.Hour},
				Channel: beckon.ChannelSMS,
				Content: beckon.Contents{"en": {Text: tc.text}},
			}})
			if tc.clinic != "" {
				c := b.clinic
				c.Name = tc.clinic
				if err := b.st.ClinicUpdate(context.Background(), c); err != nil {
					t.Fatal(err)
				}
			}
			for attempt := range 2 {
				if err := b.deliver(t); err != nil {
					t.Fatalf("attempt %d: a render failure must not ask for a retry: %v", attempt+1, err)
				}
				s := b.reload(t)
				if s.Status != beckon.SendFailed || !strings.Contains(s.Reason, tc.reason) || s.Attempts != 1 {
					t.Fatalf("attempt %d: send = %s after %d attempts (%q), want failed after 1 with %q",
						attempt+1, s.Status, s.Attempts, s.Reason, tc.reason)
				}
			}
			if c, n := b.ch.calls.Load(), b.outboxCount(t); c != 0 || n != 0 {
				t.Fatalf("channel called %d times, outbox has %d; want nothing sent", c, n)
			}
		})
	}
}
