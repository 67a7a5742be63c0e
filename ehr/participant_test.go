package ehr_test

import (
	"testing"

	"github.com/beckonhealth/beckon/ehr"
	"github.com/beckonhealth/beckon/store"
)

func TestParticipantStatus(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ confirmation, want string }{
		{store.Confirmed, "accepted"},
		{store.ResponseConfirmed, "accepted"},
		{store.ResponseCancelRequested, "declined"},
		{store.ResponseRescheduleRequested, "declined"},
		{"", "needs-action"},
		{"something-new", "needs-action"},
	} {
		if got := ehr.ParticipantStatus(tc.confirmation); got != tc.want {
			t.Errorf("ParticipantStatus(%q) = %q, want %q", tc.confirmation, got, tc.want)
		}
	}
}
