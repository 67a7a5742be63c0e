package app

import (
	"strings"
	"testing"
)

// TestProviderConfig: the provider settings' errors name the variables at
// fault and never quote a secret; they do not fail ConfigFromEnv (the API
// runs with what is valid) but are kept for the worker.
func TestProviderConfig(t *testing.T) {
	t.Parallel()
	parse := func(env map[string]string) error {
		c, err := ConfigFromEnv(func(k string) string { return env[k] })
		if err != nil {
			t.Fatalf("provider settings failed the whole configuration: %v", err)
		}
		return c.ProvidersErr()
	}
	err := parse(map[string]string{
		"BECKON_TWILIO_ACCOUNT_SID": "AC1", "BECKON_TWILIO_AUTH_TOKEN": "tok123secret",
		"BECKON_SENDGRID_API_KEY": "SG.secret",
	})
	if err == nil || !strings.Contains(err.Error(), "BECKON_TWILIO_FROM") || !strings.Contains(err.Error(), "BECKON_SENDGRID_FROM") {
		t.Fatalf("err = %v, want the missing senders named", err)
	}
	if strings.Contains(err.Error(), "tok123secret") || strings.Contains(err.Error(), "SG.secret") {
		t.Fatal("an error quotes a secret")
	}
	err = parse(map[string]string{"BECKON_CHANNEL": "carrier-pigeon", "BECKON_PUBLIC_URL": "beckon.example.org"})
	if err == nil || !strings.Contains(err.Error(), "BECKON_CHANNEL") || !strings.Contains(err.Error(), "BECKON_PUBLIC_URL") {
		t.Fatalf("err = %v", err)
	}
	if err := parse(map[string]string{"BECKON_TWILIO_PER_SECOND": "fast"}); err == nil || !strings.Contains(err.Error(), "BECKON_TWILIO_PER_SECOND") {
		t.Fatalf("err = %v", err)
	}
	c, _ := ConfigFromEnv(func(string) string { return "" })
	if c.ProvidersErr() != nil || c.Providers.Mode != "auto" || c.Providers.HTTPTimeout.String() != "10s" || c.Providers.SendGridEventWait.String() != "10m0s" {
		t.Fatalf("defaults: %v %+v", c.ProvidersErr(), c.Providers)
	}
}
