package ehr

// ParticipantStatus is the R4 Appointment.participant.status that a patient's
// confirmation means (Beckon's beckon.Confirmation responses): "confirmed" is
// accepted, a request to cancel or reschedule is declined, and anything else
// (no answer yet) is needs-action. The FHIR write-back, the signed webhook
// and Beckon's own FHIR read all use it.
func ParticipantStatus(confirmation string) string {
	switch confirmation {
	case "confirmed":
		return "accepted"
	case "cancel_requested", "reschedule_requested":
		return "declined"
	}
	return "needs-action"
}
