package main

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// A patient's reply entered through the outbox takes the inbound path of
// the Twilio webhook: stored, interpreted by the worker's task, shown in
// the patient's conversation; and a staff member's answer to it goes out
// through the worker like any send.
func TestOutboxReplyInterpretedAndAnswered(t *testing.T) {
	t.Parallel()
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			a := startApp(t, backend)
			const phone, body = "+14155550177", "yes I'll be there"
			a.mustCall(http.StatusCreated, http.MethodPut, "/v1/patients/p-77", map[string]any{
				"first_name": "Rosa", "last_name": "Diaz", "phone": phone, "language": "en",
			}, nil)
			var in struct {
				ID        string `json:"id"`
				PatientID string `json:"patient_id"`
			}
			a.mustCall(http.StatusAccepted, http.MethodPost, "/v1/outbox/replies", map[string]any{"from": phone, "body": body}, &in)
			if in.PatientID != "p-77" {
				t.Fatalf("reply stored for patient %q, want p-77", in.PatientID)
			}
			type entry struct {
				ID        string `json:"id"`
				Direction string `json:"direction"`
				Body      string `json:"body"`
				Status    string `json:"status"`
				Inbound   *struct {
					Interpreted bool   `json:"interpreted"`
					Intent      string `json:"intent"`
				} `json:"inbound"`
			}
			conversation := func() []entry {
				var out struct {
					Messages []entry `json:"messages"`
				}
				a.mustCall(http.StatusOK, http.MethodGet, "/v1/patients/p-77/conversation", nil, &out)
				return out.Messages
			}
			// Once interpreted, the acknowledgement may follow at once: look
			// for the reply, not for a conversation of one message.
			waitFor(t, 20*time.Second, "the reply interpreted", func() bool {
				c := conversation()
				return len(c) >= 1 && c[0].ID == in.ID && c[0].Inbound != nil && c[0].Inbound.Interpreted
			})
			// A confirmation with no appointment Beckon reminded the patient
			// of: a person reads it, and the patient gets the day's
			// acknowledgement.
			if c := conversation(); c[0].Direction != "inbound" || c[0].Body != body || c[0].Inbound.Intent != "confirm" {
				t.Fatalf("conversation %+v", c)
			}
			waitFor(t, 20*time.Second, "the acknowledgement", func() bool { return len(conversation()) == 2 })
			if c := conversation(); c[1].Direction != "outbound" || !strings.Contains(c[1].Body, "If this is an emergency, call 911.") {
				t.Fatalf("conversation after the acknowledgement %+v", c)
			}
			var inbox struct {
				Messages []struct {
					ID string `json:"id"`
				} `json:"messages"`
			}
			a.mustCall(http.StatusOK, http.MethodGet, "/v1/inbox?needs_attention=true", nil, &inbox)
			if len(inbox.Messages) != 1 || inbox.Messages[0].ID != in.ID {
				t.Fatalf("inbox %+v", inbox)
			}

			var sent struct {
				ID          string `json:"id"`
				QuietExempt bool   `json:"quiet_exempt"`
			}
			a.mustCall(http.StatusAccepted, http.MethodPost, "/v1/patients/p-77/messages", map[string]any{"text": "See you then.", "by": "nurse_1"}, &sent)
			if !sent.QuietExempt {
				t.Fatal("an answer to the patient's message of a moment ago is not quiet-exempt")
			}
			waitFor(t, 20*time.Second, "the answer in the outbox", func() bool {
				_, ok := entryFor(a.outbox(), sent.ID)
				return ok
			})
			if e, _ := entryFor(a.outbox(), sent.ID); e.To != phone || e.Body != "See you then." {
				t.Fatalf("outbox entry %+v", e)
			}
			c := conversation()
			if len(c) != 3 || c[2].Direction != "outbound" || c[2].Body != "See you then." {
				t.Fatalf("conversation after the answer %+v", c)
			}
			assertNoPHI(t, a.logs.String(), phone, body, "See you then.")
		})
	}
}
