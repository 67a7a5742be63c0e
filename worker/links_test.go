package worker_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/links"
)

// TestDeliverEmailLinks: an appointment email carries signed confirm,
// cancel and unsubscribe links under the public base URL, shown by the
// built-in template, and the List-Unsubscribe headers; an SMS carries none.
func TestDeliverEmailLinks(t *testing.T) {
	t.Parallel()
	linkRE := regexp.MustCompile(`https://beckon\.example\.org/l/[A-Za-z0-9_.\-]+`)
	t.Run("Email", func(t *testing.T) {
		t.Parallel()
		b, e := deliverReminder(t, beckon.ChannelEmail)
		found := linkRE.FindAllString(e.Body, -1)
		if len(found) != 3 {
			t.Fatalf("text has %d links, want confirm, cancel, unsubscribe: %q", len(found), e.Body)
		}
		signer, err := (&links.Keys{Store: b.st}).Signer(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		now := b.clock.Now()
		for i, action := range []string{links.Confirm, links.Cancel, links.Unsubscribe} {
			if !strings.Contains(e.HTML, `href="`+found[i]+`"`) {
				t.Errorf("HTML lacks the %s link", action)
			}
			l, err := signer.Verify(found[i][strings.LastIndex(found[i], "/")+1:], now)
			want := links.Link{ClinicID: b.clinic.ID, AppointmentID: b.appt.ID, SendID: b.send.ID, Action: action,
				Expires: links.Expiry(action, b.appt.Start, now)}
			if err != nil || l != want {
				t.Errorf("link %d = %+v, %v; want %+v", i, l, err, want)
			}
		}
		if e.Headers["List-Unsubscribe"] != "<"+found[2]+">" || e.Headers["List-Unsubscribe-Post"] != "List-Unsubscribe=One-Click" {
			t.Fatalf("headers %v, want List-Unsubscribe <%s> and one-click", e.Headers, found[2])
		}
	})
	t.Run("SMS", func(t *testing.T) {
		t.Parallel()
		_, e := deliverReminder(t, beckon.ChannelSMS)
		if strings.Contains(e.Body, "/l/") || e.Headers != nil {
			t.Fatalf("SMS carries links or headers: %q %v", e.Body, e.Headers)
		}
	})
}

// deliverReminder delivers the built-in appointment_reminder_confirm by
// kind, with links on, and returns what the outbox got.
func deliverReminder(t *testing.T, kind beckon.Channel) (*bundle, beckon.OutboxEntry) {
	t.Helper()
	b := setup(t, setupOpts{links: true, step: &beckon.Step{
		ID:       "remind",
		Timing:   beckon.Timing{Kind: beckon.TimingOffset, Offset: -24 * time.Hour},
		Channel:  kind,
		Template: "appointment_reminder_confirm",
	}})
	if err := b.deliver(t); err != nil {
		t.Fatal(err)
	}
	e, err := b.st.OutboxGetBySend(context.Background(), b.clinic.ID, b.send.ID)
	if err != nil {
		t.Fatal(err)
	}
	return b, e
}
