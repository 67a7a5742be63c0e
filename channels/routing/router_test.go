package routing_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/channels"
	"github.com/beckonhealth/beckon/channels/outbox"
	"github.com/beckonhealth/beckon/channels/routing"
	"github.com/beckonhealth/beckon/store/storetest"
)

// TestRouterPerClinic: the outbox without settings; a clinic's own settings
// build paced adapters, rebuilt when the settings change.
func TestRouterPerClinic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t)
	r := routing.New(routing.Options{
		Settings: routing.Settings{Mode: routing.ModeAuto},
		Store:    st,
		Outbox:   outbox.New(st, time.Now),
		Now:      time.Now,
	})
	c := storetest.Clinic(t, st, storetest.ClinicOpts{})
	ch, err := r.Channel(ctx, c.ID, beckon.ChannelSMS)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ch.(channels.Paced); ok {
		t.Fatal("the outbox is not paced")
	}
	if _, err := st.ChannelSettingsPut(ctx, beckon.ChannelSettings{
		ClinicID: c.ID, TwilioAccountSID: "AC00000000000000000000000000000001", TwilioAuthToken: "abc123",
		TwilioFrom: "+18885550100", SendGridAPIKey: "SG.k", SendGridFrom: "a@example.org",
	}); err != nil {
		t.Fatal(err)
	}
	sms, err := r.Channel(ctx, c.ID, beckon.ChannelSMS)
	if err != nil {
		t.Fatal(err)
	}
	p, ok := sms.(channels.Paced)
	if _, looks := sms.(channels.Looker); !ok || !looks {
		t.Fatalf("twilio channel %T: want paced and a looker", sms)
	}
	key, rate := p.Pace()
	if !strings.HasPrefix(key, "twilio:") || strings.Contains(key, "abc123") || math.Abs(rate-3*routing.PaceHeadroom) > 1e-9 {
		t.Fatalf("pace %q %v", key, rate)
	}
	email, err := r.Channel(ctx, c.ID, beckon.ChannelEmail)
	if err != nil {
		t.Fatal(err)
	}
	if key, _ := email.(channels.Paced).Pace(); strings.Contains(key, "SG.k") {
		t.Fatalf("pacing key %q holds the API key", key)
	}
	if _, err := st.ChannelSettingsPut(ctx, beckon.ChannelSettings{ClinicID: c.ID, TwilioAccountSID: "AC00000000000000000000000000000001", TwilioAuthToken: "abc123", TwilioFrom: "+14155550100", TwilioPerSecond: 7}); err != nil {
		t.Fatal(err)
	}
	sms, _ = r.Channel(ctx, c.ID, beckon.ChannelSMS)
	if _, rate := sms.(channels.Paced).Pace(); math.Abs(rate-7*routing.PaceHeadroom) > 1e-9 {
		t.Fatalf("rate after the change %v, want 7×headroom", rate)
	}
}

// TestRouterModes: outbox mode sends everything to the outbox even with a
// provider configured; providers mode fails a kind without a provider.
func TestRouterModes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t)
	c := storetest.Clinic(t, st, storetest.ClinicOpts{})
	ob := outbox.New(st, time.Now)
	installation := routing.Settings{
		TwilioAccountSID: "AC00000000000000000000000000000001", TwilioAuthToken: "abc123", TwilioFrom: "+14155550100",
	}
	newRouter := func(mode string) *routing.Router {
		s := installation
		s.Mode = mode
		return routing.New(routing.Options{Settings: s, Store: st, Outbox: ob, Now: time.Now})
	}
	ch, err := newRouter(routing.ModeOutbox).Channel(ctx, c.ID, beckon.ChannelSMS)
	if err != nil || ch != channels.Channel(ob) {
		t.Fatalf("outbox mode: %T, %v; want the outbox", ch, err)
	}
	r := newRouter(routing.ModeProviders)
	if ch, err := r.Channel(ctx, c.ID, beckon.ChannelSMS); err != nil || ch == channels.Channel(ob) {
		t.Fatalf("providers mode, SMS: %T, %v; want Twilio", ch, err)
	}
	_, err = r.Channel(ctx, c.ID, beckon.ChannelEmail)
	var ce *channels.Error
	if !errors.As(err, &ce) || ce.Kind != channels.KindPermanent || ce.Code != "no_channel" {
		t.Fatalf("providers mode, email without SendGrid: %v; want a permanent no_channel error", err)
	}
}

// countingReader counts the settings reads that reach the store.
type countingReader struct {
	routing.SettingsReader
	n atomic.Int64
}

func (c *countingReader) ChannelSettingsGet(ctx context.Context, clinicID string) (beckon.ChannelSettings, error) {
	c.n.Add(1)
	return c.SettingsReader.ChannelSettingsGet(ctx, clinicID)
}

// TestRouterSettingsTTL: with a TTL, sends reuse a clinic's settings without
// reading them, and a change the clinic makes applies once the TTL has
// passed since the last read, not later.
func TestRouterSettingsTTL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t)
	c := storetest.Clinic(t, st, storetest.ClinicOpts{})
	put := func(rate float64) {
		t.Helper()
		if _, err := st.ChannelSettingsPut(ctx, beckon.ChannelSettings{ClinicID: c.ID, TwilioAccountSID: "AC00000000000000000000000000000001",
			TwilioAuthToken: "abc123", TwilioFrom: "+14155550100", TwilioPerSecond: rate}); err != nil {
			t.Fatal(err)
		}
	}
	put(7)
	const ttl = 2 * time.Second
	var (
		mu   sync.Mutex
		wall = time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	)
	advance := func(d time.Duration) { mu.Lock(); wall = wall.Add(d); mu.Unlock() }
	reads := &countingReader{SettingsReader: st}
	r := routing.New(routing.Options{
		Settings: routing.Settings{Mode: routing.ModeAuto}, Store: reads, Outbox: outbox.New(st, time.Now), Now: time.Now,
		SettingsTTL: ttl, Wall: func() time.Time { mu.Lock(); defer mu.Unlock(); return wall },
	})
	rate := func() float64 {
		t.Helper()
		ch, err := r.Channel(ctx, c.ID, beckon.ChannelSMS)
		if err != nil {
			t.Fatal(err)
		}
		_, rate := ch.(channels.Paced).Pace()
		return rate / routing.PaceHeadroom
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if got := rate(); math.Abs(got-7) > 1e-9 {
				t.Errorf("rate %v, want 7", got)
			}
		})
	}
	wg.Wait()
	before := reads.n.Load()
	put(9)
	advance(ttl - time.Millisecond)
	if got := rate(); math.Abs(got-7) > 1e-9 || reads.n.Load() != before {
		t.Fatalf("within the TTL: rate %v after %d more reads; want the snapshot (7), no read", got, reads.n.Load()-before)
	}
	advance(time.Millisecond)
	if got := rate(); math.Abs(got-9) > 1e-9 {
		t.Fatalf("once the TTL has passed: rate %v, want the change (9)", got)
	}
	// The new read starts a new TTL.
	put(11)
	advance(ttl - time.Millisecond)
	if got := rate(); math.Abs(got-9) > 1e-9 {
		t.Fatalf("within the second TTL: rate %v, want 9", got)
	}
	advance(time.Millisecond)
	if got := rate(); math.Abs(got-11) > 1e-9 {
		t.Fatalf("after the second TTL: rate %v, want 11", got)
	}
}
