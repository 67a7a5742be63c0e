package routing

import "testing"

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
		if got := DefaultSMSRate(c.from, c.msid); got != c.want {
			t.Errorf("DefaultSMSRate(%q, %q) = %v, want %v", c.from, c.msid, got, c.want)
		}
	}
}

func TestSettingsStringHidesSecrets(t *testing.T) {
	t.Parallel()
	s := Settings{Mode: ModeAuto, TwilioAccountSID: "AC1", TwilioAuthToken: "tok123secret", SendGridAPIKey: "SG.secret"}
	if got := s.String(); got != "providers(mode=auto twilio=true sendgrid=true)" {
		t.Fatalf("String() = %s", got)
	}
}
