package routing_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/beckonhealth/beckon/channels"
	"github.com/beckonhealth/beckon/channels/outbox"
	"github.com/beckonhealth/beckon/channels/routing"
	"github.com/beckonhealth/beckon/store"
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
	ch, err := r.Channel(ctx, c.ID, store.ChannelSMS)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ch.(channels.Paced); ok {
		t.Fatal("the outbox is not paced")
	}
	if _, err := st.ChannelSettingsPut(ctx, store.ChannelSettings{
		ClinicID: c.ID, TwilioAccountSID: "AC00000000000000000000000000000001", TwilioAuthToken: "abc123",
		TwilioFrom: "+18885550100", SendGridAPIKey: "SG.k", SendGridFrom: "a@example.org",
	}); err != nil {
		t.Fatal(err)
	}
	sms, err := r.Channel(ctx, c.ID, store.ChannelSMS)
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
	email, err := r.Channel(ctx, c.ID, store.ChannelEmail)
	if err != nil {
		t.Fatal(err)
	}
	if key, _ := email.(channels.Paced).Pace(); strings.Contains(key, "SG.k") {
		t.Fatalf("pacing key %q holds the API key", key)
	}
	if _, err := st.ChannelSettingsPut(ctx, store.ChannelSettings{ClinicID: c.ID, TwilioAccountSID: "AC00000000000000000000000000000001", TwilioAuthToken: "abc123", TwilioFrom: "+14155550100", TwilioPerSecond: 7}); err != nil {
		t.Fatal(err)
	}
	sms, _ = r.Channel(ctx, c.ID, store.ChannelSMS)
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
	ch, err := newRouter(routing.ModeOutbox).Channel(ctx, c.ID, store.ChannelSMS)
	if err != nil || ch != channels.Channel(ob) {
		t.Fatalf("outbox mode: %T, %v; want the outbox", ch, err)
	}
	r := newRouter(routing.ModeProviders)
	if ch, err := r.Channel(ctx, c.ID, store.ChannelSMS); err != nil || ch == channels.Channel(ob) {
		t.Fatalf("providers mode, SMS: %T, %v; want Twilio", ch, err)
	}
	_, err = r.Channel(ctx, c.ID, store.ChannelEmail)
	var ce *channels.Error
	if !errors.As(err, &ce) || ce.Kind != channels.KindPermanent || ce.Code != "no_channel" {
		t.Fatalf("providers mode, email without SendGrid: %v; want a permanent no_channel error", err)
	}
}
