package store_test

import (
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/store/storetest"
)

func TestConversationState(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		b := setup(t)
		const phone = "+15555550111"
		got, err := b.st.ConversationGet(b.ctx, b.clinic.ID, phone)
		noErr(t, "get none", err)
		equal(t, "none", got, beckon.ConversationState{ClinicID: b.clinic.ID, Phone: phone})

		want := beckon.ConversationState{
			ClinicID: b.clinic.ID, Phone: phone, Question: "which", Choices: []string{"apt-1", "apt-2"},
			Pending: "confirm", MessageID: "msg_1", ExpiresAt: b.now.Add(time.Hour), UpdatedAt: b.now,
		}
		noErr(t, "put", b.st.ConversationPut(b.ctx, want))
		got, err = b.st.ConversationGet(b.ctx, b.clinic.ID, phone)
		noErr(t, "get", err)
		equal(t, "stored", got, want)

		// Another clinic's conversation with the same number is its own.
		other := b.otherClinic(t)
		got, err = b.st.ConversationGet(b.ctx, other.ID, phone)
		noErr(t, "get other clinic", err)
		equal(t, "other clinic", got.Question, "")

		// The next question replaces it; an empty question clears it.
		next := want
		next.Choices, next.Pending, next.MessageID = []string{"apt-3", "apt-1", "apt-2"}, "cancel", "msg_2"
		noErr(t, "replace", b.st.ConversationPut(b.ctx, next))
		got, err = b.st.ConversationGet(b.ctx, b.clinic.ID, phone)
		noErr(t, "get replaced", err)
		equal(t, "replaced", got, next)
		noErr(t, "clear", b.st.ConversationPut(b.ctx, beckon.ConversationState{ClinicID: b.clinic.ID, Phone: phone}))
		got, err = b.st.ConversationGet(b.ctx, b.clinic.ID, phone)
		noErr(t, "get cleared", err)
		equal(t, "cleared", got.Question, "")

		bad := want
		bad.Choices = []string{"apt-1\napt-2"}
		isErr(t, "a choice with a line break", b.st.ConversationPut(b.ctx, bad), beckon.ErrInvalidData)
	})
}

func TestReplyCandidates(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		b := setup(t)
		const phone = "+15555550122"
		ana := storetest.Patient(t, b.st, b.clinic.ID, storetest.PatientOpts{FirstName: "Ana", Phone: phone, Language: "es"})
		leo := storetest.Patient(t, b.st, b.clinic.ID, storetest.PatientOpts{FirstName: "Leo", Phone: phone, TimeZone: "America/Chicago"})
		stranger := storetest.Patient(t, b.st, b.clinic.ID, storetest.PatientOpts{Phone: "+15555550999"})
		sent := func(appointmentID string, at time.Time) {
			s := storetest.Send(t, b.st, b.clinic.ID, storetest.SendOpts{AppointmentID: appointmentID})
			claimed, ok, err := b.st.SendClaim(b.ctx, beckon.SendClaimParams{ClinicID: b.clinic.ID, ID: s.ID, Token: "tok-" + s.ID, Now: at})
			if err != nil || !ok {
				t.Fatalf("claim: %v %v", ok, err)
			}
			noErr(t, "finish", b.st.SendFinish(b.ctx, beckon.SendFinishParams{
				ID: claimed.ID, Token: "tok-" + s.ID, Status: beckon.SendSent, MessageID: "msg-" + s.ID, Now: at,
			}))
		}
		appt := func(id, patientID string, start time.Time, status beckon.AppointmentStatus) {
			storetest.Appointment(t, b.st, b.clinic.ID, storetest.AppointmentOpts{ID: id, PatientID: patientID, Start: start, Status: status})
		}
		since := b.now.Add(-72 * time.Hour)
		appt("ana-tomorrow", ana.ID, b.now.Add(24*time.Hour), "")
		sent("ana-tomorrow", b.now.Add(-time.Hour))
		appt("leo-tomorrow", leo.ID, b.now.Add(24*time.Hour+30*time.Minute), "")
		sent("leo-tomorrow", b.now.Add(-2*time.Hour))
		appt("ana-not-messaged", ana.ID, b.now.Add(48*time.Hour), "")
		appt("ana-messaged-long-ago", ana.ID, b.now.Add(72*time.Hour), "")
		sent("ana-messaged-long-ago", b.now.Add(-96*time.Hour))
		appt("leo-cancelled", leo.ID, b.now.Add(30*time.Hour), beckon.StatusCancelled)
		sent("leo-cancelled", b.now.Add(-time.Hour))
		appt("ana-past", ana.ID, b.now.Add(-time.Hour), "")
		sent("ana-past", b.now.Add(-3*time.Hour))
		appt("stranger", stranger.ID, b.now.Add(24*time.Hour), "")
		sent("stranger", b.now.Add(-time.Hour))

		got, err := b.st.ReplyCandidates(b.ctx, b.clinic.ID, phone, b.now, since, 10)
		noErr(t, "candidates", err)
		want := []beckon.ReplyCandidate{
			{AppointmentID: "ana-tomorrow", PatientID: ana.ID, FirstName: "Ana", Language: "es", Start: b.now.Add(24 * time.Hour)},
			{AppointmentID: "leo-tomorrow", PatientID: leo.ID, FirstName: "Leo", Language: "en", TimeZone: "America/Chicago", Start: b.now.Add(24*time.Hour + 30*time.Minute)},
		}
		equal(t, "candidates", got, want)

		got, err = b.st.ReplyCandidates(b.ctx, b.otherClinic(t).ID, phone, b.now, since, 10)
		noErr(t, "other clinic", err)
		equal(t, "other clinic's candidates", len(got), 0)
	})
}
