package main

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/beckonhealth/beckon/channels"
	"github.com/beckonhealth/beckon/scheduler"
	"github.com/beckonhealth/beckon/store"
	"github.com/beckonhealth/beckon/store/storetest"
)

func TestProviderConfig(t *testing.T) {
	t.Parallel()
	m := &Main{Getenv: func(k string) string {
		return map[string]string{
			"BECKON_TWILIO_ACCOUNT_SID": "AC1", "BECKON_TWILIO_AUTH_TOKEN": "tok123secret",
			"BECKON_SENDGRID_API_KEY": "SG.secret",
		}[k]
	}}
	_, err := m.providerConfig()
	if err == nil || !strings.Contains(err.Error(), "BECKON_TWILIO_FROM") || !strings.Contains(err.Error(), "BECKON_SENDGRID_FROM") {
		t.Fatalf("err = %v, want the missing senders named", err)
	}
	if strings.Contains(err.Error(), "tok123secret") || strings.Contains(err.Error(), "SG.secret") {
		t.Fatal("an error quotes a secret")
	}
	m.Getenv = func(k string) string {
		return map[string]string{"BECKON_CHANNEL": "carrier-pigeon", "BECKON_PUBLIC_URL": "beckon.example.org"}[k]
	}
	if _, err := m.providerConfig(); err == nil || !strings.Contains(err.Error(), "BECKON_CHANNEL") || !strings.Contains(err.Error(), "BECKON_PUBLIC_URL") {
		t.Fatalf("err = %v", err)
	}
	p := ProviderConfig{Mode: modeAuto, TwilioAccountSID: "AC1", TwilioAuthToken: "tok123secret", SendGridAPIKey: "SG.secret"}
	if s := p.String(); strings.Contains(s, "tok123secret") || strings.Contains(s, "SG.secret") {
		t.Fatalf("String() = %s", s)
	}
}

func TestDefaultSMSRate(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		from, msid string
		want       float64
	}{
		{"+14155550100", "", 1},
		{"+18885550100", "", 3},
		{"+18445550100", "", 3},
		{"55555", "", 100},
		{"", "MG1", 1},
	} {
		if got := defaultSMSRate(c.from, c.msid); got != c.want {
			t.Errorf("defaultSMSRate(%q, %q) = %v, want %v", c.from, c.msid, got, c.want)
		}
	}
}

// TestRouterPerClinic: the outbox without settings; a clinic's own settings
// build paced adapters, rebuilt when the settings change.
func TestRouterPerClinic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t)
	m := &Main{Getenv: func(string) string { return "" }, Clock: scheduler.SystemClock{}, store: st}
	m.providers, m.providersErr = m.providerConfig()
	r, err := m.channelRouter()
	if err != nil {
		t.Fatal(err)
	}
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
	if !strings.HasPrefix(key, "twilio:") || strings.Contains(key, "abc123") || math.Abs(rate-3*paceHeadroom) > 1e-9 {
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
	if _, rate := sms.(channels.Paced).Pace(); math.Abs(rate-7*paceHeadroom) > 1e-9 {
		t.Fatalf("rate after the change %v, want 7×headroom", rate)
	}
}
