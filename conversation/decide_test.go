package conversation_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/conversation"
	"github.com/beckonhealth/beckon/replies"
)

var (
	now = time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)
	ana = conversation.Candidate{AppointmentID: "apt-ana", PatientID: "pat-ana", FirstName: "Ana", Start: now.Add(26 * time.Hour)}
	leo = conversation.Candidate{AppointmentID: "apt-leo", PatientID: "pat-leo", FirstName: "Leo", Start: now.Add(26*time.Hour + 30*time.Minute)}
)

func which(pending replies.Intent, ids ...string) conversation.State {
	return conversation.State{Question: replies.Which, Choices: ids, Pending: pending, MessageID: "msg-1", ExpiresAt: now.Add(time.Hour)}
}

func TestDecide(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   conversation.Input
		want conversation.Outcome
	}{
		{
			name: "yes to the one reminded appointment confirms it",
			in:   conversation.Input{Body: "yes I'll be there", Language: "en", Candidates: []conversation.Candidate{ana}},
			want: conversation.Outcome{AppointmentID: "apt-ana", Response: beckon.ResponseConfirmed, Answer: conversation.TemplateConfirmed},
		},
		{
			name: "Spanish confirmation",
			in:   conversation.Input{Body: "sí, ahí estaré", Language: "es", Candidates: []conversation.Candidate{ana}},
			want: conversation.Outcome{AppointmentID: "apt-ana", Response: beckon.ResponseConfirmed, Answer: conversation.TemplateConfirmed},
		},
		{
			name: "2 from the reminder's menu is a cancel request for a person",
			in:   conversation.Input{Body: "2", Language: "en", Candidates: []conversation.Candidate{ana}},
			want: conversation.Outcome{AppointmentID: "apt-ana", Response: beckon.ResponseCancelRequested, Answer: conversation.TemplateCancelReceived, NeedsAttention: true},
		},
		{
			name: "a reschedule wish",
			in:   conversation.Input{Body: "I need to reschedule", Language: "en", Candidates: []conversation.Candidate{ana}},
			want: conversation.Outcome{AppointmentID: "apt-ana", Response: beckon.ResponseRescheduleRequested, Answer: conversation.TemplateRescheduleReceived, NeedsAttention: true},
		},
		{
			name: "a shared number with two appointments is asked which",
			in:   conversation.Input{Body: "C", Language: "en", Candidates: []conversation.Candidate{ana, leo}},
			want: conversation.Outcome{Answer: conversation.TemplateWhich, Choices: []conversation.Candidate{ana, leo},
				State: conversation.State{Question: replies.Which, Choices: []string{"apt-ana", "apt-leo"}, Pending: replies.Confirm, ExpiresAt: now.Add(conversation.WhichTTL)}},
		},
		{
			name: "the question expires at the first appointment offered",
			in:   conversation.Input{Body: "C", Language: "en", Candidates: []conversation.Candidate{{AppointmentID: "soon", Start: now.Add(time.Hour)}, ana}},
			want: conversation.Outcome{Answer: conversation.TemplateWhich, Choices: []conversation.Candidate{{AppointmentID: "soon", Start: now.Add(time.Hour)}, ana},
				State: conversation.State{Question: replies.Which, Choices: []string{"soon", "apt-ana"}, Pending: replies.Confirm, ExpiresAt: now.Add(time.Hour)}},
		},
		{
			name: "2 answers the which-question: the pending confirmation goes to the second only",
			in:   conversation.Input{Body: "2", Language: "en", State: which(replies.Confirm, "apt-ana", "apt-leo"), Candidates: []conversation.Candidate{ana, leo}},
			want: conversation.Outcome{AppointmentID: "apt-leo", Response: beckon.ResponseConfirmed, Answer: conversation.TemplateConfirmed},
		},
		{
			name: "a pending cancel request applied to the chosen one",
			in:   conversation.Input{Body: "1", Language: "en", State: which(replies.Cancel, "apt-ana", "apt-leo"), Candidates: []conversation.Candidate{ana, leo}},
			want: conversation.Outcome{AppointmentID: "apt-ana", Response: beckon.ResponseCancelRequested, Answer: conversation.TemplateCancelReceived, NeedsAttention: true},
		},
		{
			name: "a choice out of range leaves the question open and goes to a person",
			in:   conversation.Input{Body: "3", Language: "en", State: which(replies.Confirm, "apt-ana", "apt-leo"), Candidates: []conversation.Candidate{ana, leo}},
			want: conversation.Outcome{NeedsAttention: true, Acknowledge: true, State: which(replies.Confirm, "apt-ana", "apt-leo")},
		},
		{
			name: "a chosen appointment no longer upcoming goes to a person",
			in:   conversation.Input{Body: "2", Language: "en", State: which(replies.Confirm, "apt-ana", "apt-leo"), Candidates: []conversation.Candidate{ana}},
			want: conversation.Outcome{NeedsAttention: true, Acknowledge: true},
		},
		{
			name: "an expired question is not answered by a number: 2 is the reminder's menu again",
			in: conversation.Input{Body: "2", Language: "en", Candidates: []conversation.Candidate{ana},
				State: conversation.State{Question: replies.Which, Choices: []string{"apt-ana", "apt-leo"}, Pending: replies.Confirm, ExpiresAt: now}},
			want: conversation.Outcome{AppointmentID: "apt-ana", Response: beckon.ResponseCancelRequested, Answer: conversation.TemplateCancelReceived, NeedsAttention: true},
		},
		{
			name: "a confirmation with nothing recently messaged goes to a person",
			in:   conversation.Input{Body: "yes", Language: "en"},
			want: conversation.Outcome{NeedsAttention: true, Acknowledge: true},
		},
		{
			name: "STOP opts the number out with the single confirmation, and closes the question",
			in:   conversation.Input{Body: "STOP", Language: "en", State: which(replies.Confirm, "apt-ana", "apt-leo"), Candidates: []conversation.Candidate{ana, leo}},
			want: conversation.Outcome{Consent: beckon.ConsentOptedOut, Answer: conversation.TemplateOptedOut, AnswerExempt: true},
		},
		{
			name: "CANCEL alone is an opt-out, never an appointment cancel",
			in:   conversation.Input{Body: "CANCEL", Language: "en", Candidates: []conversation.Candidate{ana}},
			want: conversation.Outcome{Consent: beckon.ConsentOptedOut, Answer: conversation.TemplateOptedOut, AnswerExempt: true},
		},
		{
			name: "Twilio answered the STOP itself: recorded, no second answer",
			in:   conversation.Input{Body: "stop", Language: "en", OptOutType: "STOP", Candidates: []conversation.Candidate{ana}},
			want: conversation.Outcome{Consent: beckon.ConsentOptedOut},
		},
		{
			name: "START opts back in",
			in:   conversation.Input{Body: "START", Language: "en", OptedOut: true},
			want: conversation.Outcome{Consent: beckon.ConsentOptedIn, Answer: conversation.TemplateOptedIn},
		},
		{
			name: "YES after an opt-out opts back in",
			in:   conversation.Input{Body: "YES", Language: "en", OptedOut: true, Candidates: []conversation.Candidate{ana}},
			want: conversation.Outcome{Consent: beckon.ConsentOptedIn, Answer: conversation.TemplateOptedIn},
		},
		{
			name: "Twilio answered the START itself",
			in:   conversation.Input{Body: "START", Language: "en", OptedOut: true, OptOutType: "START"},
			want: conversation.Outcome{Consent: beckon.ConsentOptedIn},
		},
		{
			name: "HELP gets the help text, even opted out",
			in:   conversation.Input{Body: "help", Language: "en", OptedOut: true},
			want: conversation.Outcome{Answer: conversation.TemplateHelp, AnswerExempt: true},
		},
		{
			name: "Twilio answered the HELP itself",
			in:   conversation.Input{Body: "HELP", Language: "en", OptOutType: "HELP"},
			want: conversation.Outcome{},
		},
		{
			name: "free text goes to a person with the daily acknowledgement",
			in:   conversation.Input{Body: "can I bring my son? yes I'll come", Language: "en", Candidates: []conversation.Candidate{ana}},
			want: conversation.Outcome{NeedsAttention: true, Acknowledge: true},
		},
		{
			name: "an unknown sender's text goes to a person",
			in:   conversation.Input{Body: "who is this?"},
			want: conversation.Outcome{NeedsAttention: true, Acknowledge: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.Now = now
			got := conversation.Decide(tt.in)
			got.Reply, got.Note = replies.Reply{}, ""
			if !equal(got, tt.want) {
				t.Fatalf("Decide(%q) =\n%+v\nwant\n%+v", tt.in.Body, got, tt.want)
			}
		})
	}
}

func equal(a, b conversation.Outcome) bool { return reflect.DeepEqual(a, b) }
