package scheduler

import (
	"regexp"
	"testing"
)

var sendIDPattern = regexp.MustCompile(`^snd_[a-z2-7]{26}$`)

type sendIDArgs struct {
	clinic, appointment string
	version             int64
	campaign            string
	revision            int64
	step                string
}

func (a sendIDArgs) id() string {
	return SendID(a.clinic, a.appointment, a.version, a.campaign, a.revision, a.step)
}

func TestSendIDFormatAndStability(t *testing.T) {
	t.Parallel()
	base := sendIDArgs{"cln_1", "apt_1", 3, "cmp_1", 2, "remind-24h"}
	got := base.id()
	if !sendIDPattern.MatchString(got) {
		t.Fatalf("SendID = %q, want snd_ and 26 lowercase base32 characters", got)
	}
	for range 3 {
		if again := base.id(); again != got {
			t.Fatalf("SendID changed between calls: %q then %q", got, again)
		}
	}
	// Pinned (checked independently with Python's hashlib): send ids are asynq TaskIDs and stored keys, so the encoding must
	// never change. If this fails, existing sends would be planned again.
	const want = "snd_mernwcb2otgawetju4gjunxxeu"
	if got != want {
		t.Errorf("SendID = %q, want the pinned %q", got, want)
	}
	if empty := SendID("", "", 0, "", 0, ""); !sendIDPattern.MatchString(empty) {
		t.Errorf("SendID of empty inputs = %q, want a well-formed id", empty)
	}
}

func TestSendIDDiffers(t *testing.T) {
	t.Parallel()
	base := sendIDArgs{"cln_1", "apt_1", 3, "cmp_1", 2, "remind-24h"}
	tests := []struct {
		name string
		a, b sendIDArgs
	}{
		{"clinic", base, sendIDArgs{"cln_2", "apt_1", 3, "cmp_1", 2, "remind-24h"}},
		{"appointment", base, sendIDArgs{"cln_1", "apt_2", 3, "cmp_1", 2, "remind-24h"}},
		{"version", base, sendIDArgs{"cln_1", "apt_1", 4, "cmp_1", 2, "remind-24h"}},
		{"campaign", base, sendIDArgs{"cln_1", "apt_1", 3, "cmp_2", 2, "remind-24h"}},
		{"revision", base, sendIDArgs{"cln_1", "apt_1", 3, "cmp_1", 3, "remind-24h"}},
		{"step", base, sendIDArgs{"cln_1", "apt_1", 3, "cmp_1", 2, "remind-2h"}},
		{"version and revision swapped", sendIDArgs{"c", "a", 1, "m", 2, "s"}, sendIDArgs{"c", "a", 2, "m", 1, "s"}},
		{"negative version", sendIDArgs{"c", "a", -1, "m", 1, "s"}, sendIDArgs{"c", "a", 1, "m", 1, "s"}},
		{"clinic|appointment boundary", sendIDArgs{"ab", "c", 1, "m", 1, "s"}, sendIDArgs{"a", "bc", 1, "m", 1, "s"}},
		{"campaign|step boundary", sendIDArgs{"c", "a", 1, "mx", 1, "s"}, sendIDArgs{"c", "a", 1, "m", 1, "xs"}},
		{"clinic and appointment swapped", sendIDArgs{"x", "y", 1, "m", 1, "s"}, sendIDArgs{"y", "x", 1, "m", 1, "s"}},
		{"separator in value", sendIDArgs{"a\x00", "b", 1, "m", 1, "s"}, sendIDArgs{"a", "\x00b", 1, "m", 1, "s"}},
		{"empty versus filled", sendIDArgs{"", "ab", 1, "m", 1, "s"}, sendIDArgs{"ab", "", 1, "m", 1, "s"}},
		{"string spilling into number", sendIDArgs{"c", "a\x00\x00\x00\x00\x00\x00\x00\x01", 0, "m", 1, "s"}, sendIDArgs{"c", "a", 1, "m", 1, "s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if x, y := tt.a.id(), tt.b.id(); x == y {
				t.Errorf("SendID(%+v) == SendID(%+v) == %q, want different ids", tt.a, tt.b, x)
			}
		})
	}
}

func BenchmarkSendID(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		SendID("cln_1", "apt_1", 3, "cmp_1", 2, "remind-24h")
	}
}
