package ehr

import (
	"testing"
	"time"
)

func TestNormalizePhone(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, region, want string }{
		{"(617)555-0142", "", "+16175550142"},
		{"617.555.0142", "US", "+16175550142"},
		{"+1 617 555 0142", "GB", "+16175550142"},
		{"020 7946 0958", "GB", "+442079460958"},
		{"020 7946 0958", "gb", "+442079460958"},
		{"555-1234", "", ""},
		{"not a number", "", ""},
		{"", "", ""},
		{"1234567890123456789012345678901234567890123456789012345678901234567890", "", ""},
	} {
		if got := NormalizePhone(tc.in, tc.region); got != tc.want {
			t.Errorf("NormalizePhone(%q, %q) = %q, want %q", tc.in, tc.region, got, tc.want)
		}
	}
}

func TestPatientPhoneChoice(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, pid13, pid14, pid40 string
		want                      string
		mobile                    bool
		email                     string
	}{
		{"legacy XTN-1", "(617)555-0142X22", "", "", "+16175550142", false, ""},
		{"mobile in second repetition", "^PRN^PH^^1^617^5550100~^PRN^CP^^1^857^5550177", "", "", "+18575550177", true, ""},
		{"home beats work", "", "^WPN^PH^^1^617^5550199", "", "+16175550199", false, ""},
		{"home in PID-13 beats plain work", "^PRN^PH^^^617^5550100", "^WPN^PH^^1^617^5550199", "", "+16175550100", false, ""},
		{"business cell beats home", "^PRN^PH^^1^617^5550100", "^WPN^CP^^1^617^5550199", "", "+16175550199", true, ""},
		{"fax and beeper skipped", "^PRN^FX^^1^617^5550100~^BPN^BP^^1^617^5550101", "", "", "", false, ""},
		{"unformatted XTN-12", "^PRN^CP^^^^^^^^^+1 617 555 0142", "", "", "+16175550142", true, ""},
		{"invalid mobile falls back", "^PRN^CP^^1^555^1~^ORN^PH^^1^617^5550142", "", "", "+16175550142", false, ""},
		{"PID-40", "", "", "^PRN^CP^^1^617^5550142~^NET^Internet^a@example.org", "+16175550142", true, "a@example.org"},
		{"email only", "^NET^Internet^a@example.org", "", "", "", false, "a@example.org"},
		{"email in XTN-1", "a@example.org^NET", "", "", "", false, "a@example.org"},
		{"not an email", "^NET^Internet^nobody", "", "", "", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := "MSH|^~\\&|A|F|||20240314||SIU^S12|C1|P|2.5.1\rSCH||F1\rTQ1|1||||||202403150930\r" +
				"PID|1||M1^^^A^MR||Doe^Jo||||||||" + tc.pid13 + "|" + tc.pid14 + strings40(tc.pid40) + "\r"
			ev, err := MapSIU(mustParse(t, msg), time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Patient.Phone != tc.want || ev.Patient.PhoneMobile != tc.mobile || ev.Patient.Email != tc.email {
				t.Errorf("phone %q mobile %v email %q; want %q %v %q", ev.Patient.Phone, ev.Patient.PhoneMobile, ev.Patient.Email, tc.want, tc.mobile, tc.email)
			}
		})
	}
}

// strings40 places v in PID-40, counting from PID-14.
func strings40(v string) string {
	if v == "" {
		return ""
	}
	s := ""
	for i := 15; i <= 40; i++ {
		s += "|"
	}
	return s + v
}
