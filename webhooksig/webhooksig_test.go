package webhooksig_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/beckonhealth/beckon/webhooksig"
	"github.com/beckonhealth/beckon/webhooksig/webhooksigtest"
)

// The example of the Standard Webhooks specification
// (github.com/standard-webhooks/standard-webhooks, spec/standard-webhooks.md).
func TestSpecExample(t *testing.T) {
	key, err := webhooksig.Key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	webhooksig.SetHeaders(h, key, "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0),
		[]byte(`{"test": 2432232314}`))
	if got, want := h.Get("webhook-signature"), "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("signature %s, want %s", got, want)
	}
	if h.Get("webhook-id") != "msg_p5jXN8AQM9LWM0D4loKWxJek" || h.Get("webhook-timestamp") != "1614265330" {
		t.Fatalf("headers %v", h)
	}
}

func TestSecrets(t *testing.T) {
	for _, s := range []string{"", "whsec_", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_c2hvcnQ=", "whsec_not base64!"} {
		if webhooksig.Valid(s) {
			t.Errorf("Valid(%q) = true", s)
		}
	}
	a, b := webhooksig.NewSecret(), webhooksig.NewSecret()
	if !webhooksig.Valid(a) || a == b {
		t.Fatalf("NewSecret: %q, %q", a, b)
	}
}

func TestSignedHeadersVerifyPerSpec(t *testing.T) {
	secret := webhooksig.NewSecret()
	key, _ := webhooksig.Key(secret)
	at := time.Date(2026, 3, 10, 14, 30, 0, 0, time.UTC)
	body := []byte(`{"id":"evt_1","type":"appointment.confirmed"}`)
	h := http.Header{}
	webhooksig.SetHeaders(h, key, "evt_1", at, body)
	if err := webhooksigtest.Verify(secret, h, body, at.Add(time.Minute)); err != nil {
		t.Fatalf("verify: %v", err)
	}
	for name, check := range map[string]func() error{
		"other body":   func() error { return webhooksigtest.Verify(secret, h, []byte(`{}`), at) },
		"other secret": func() error { return webhooksigtest.Verify(webhooksig.NewSecret(), h, body, at) },
		"stale":        func() error { return webhooksigtest.Verify(secret, h, body, at.Add(time.Hour)) },
	} {
		if check() == nil {
			t.Errorf("%s verified", name)
		}
	}
}
