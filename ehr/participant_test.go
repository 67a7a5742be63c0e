package ehr_test

import (
	"testing"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/ehr"
)

func TestParticipantStatus(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ confirmation, want string }{
		{beckon.Confirmed, "accepted"},
		{beckon.ResponseConfirmed, "accepted"},
		{beckon.ResponseCancelRequested, "declined"},
		{beckon.ResponseRescheduleRequested, "declined"},
		{"", "needs-action"},
		{"something-new", "needs-action"},
	} {
		if got := ehr.ParticipantStatus(tc.confirmation); got != tc.want {
			t.Errorf("ParticipantStatus(%q) = %q, want %q", tc.confirmation, got, tc.want)
		}
	}
}
