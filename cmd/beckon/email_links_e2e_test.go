package main

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// linkRE finds an email link in a message's text.
var linkRE = regexp.MustCompile(`https?://[^\s<>"]+/l/[A-Za-z0-9_.\-]+`)

// TestEmailConfirmLink: a reminder email asking for confirmation carries
// confirm, cancel and unsubscribe links and the List-Unsubscribe headers;
// opening the confirm link changes nothing, pressing its button confirms
// the appointment (a later only_if_unconfirmed step is skipped), and
// pressing it again is refused as used.
func TestEmailConfirmLink(t *testing.T) {
	t.Parallel()
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			a := startAppClock(t, backend, nil)
			a.mustCall(http.StatusOK, http.MethodPut, "/v1/clinic", map[string]any{
				"name": "Link Clinic", "time_zone": "America/New_York", "quiet_hours": map[string]any{"enabled": false},
			}, nil)
			a.mustCall(http.StatusCreated, http.MethodPut, "/v1/campaigns/links", map[string]any{
				"name": "Links",
				"steps": []map[string]any{
					{"id": "ask", "offset": "-30s", "channel": "email", "template": "appointment_reminder_confirm"},
					{"id": "nudge", "offset": "-15s", "channel": "email", "only_if_unconfirmed": true, "content": map[string]any{
						"en": map[string]any{"subject": "Still coming?", "text": "Hi {{.Patient.FirstName}}, please confirm."},
					}},
				},
			}, nil)
			a.mustCall(http.StatusCreated, http.MethodPut, "/v1/patients/pat-1", map[string]any{
				"first_name": "Ana", "last_name": "Lopez", "email": email,
			}, nil)
			start := a.now().Add(40 * time.Second).Truncate(time.Second)
			var appt appointmentView
			a.mustCall(http.StatusCreated, http.MethodPut, "/v1/appointments/apt-1", map[string]any{
				"patient_id": "pat-1", "start": rfc(start), "type": "checkup",
			}, &appt)

			a.advanceTo(appt.send("ask", 1).DueAt)
			e := a.waitDelivered(appt.send("ask", 1))
			found := map[string]string{}
			for _, line := range strings.Split(e.Body, "\n") {
				for _, label := range []string{"Confirm: ", "Cancel: ", "Unsubscribe from these emails: "} {
					if rest, ok := strings.CutPrefix(line, label); ok {
						found[label] = linkRE.FindString(rest)
					}
				}
			}
			confirm, unsub := found["Confirm: "], found["Unsubscribe from these emails: "]
			if confirm == "" || found["Cancel: "] == "" || unsub == "" || !strings.HasPrefix(confirm, a.base+"/l/") {
				t.Fatalf("email text lacks its links under %s: %q", a.base, e.Body)
			}
			if !strings.Contains(e.HTML, `href="`+confirm+`"`) || !strings.Contains(e.HTML, `href="`+unsub+`"`) {
				t.Fatalf("email HTML lacks the confirm and unsubscribe links:\n%s", e.HTML)
			}
			if e.Headers["List-Unsubscribe"] != "<"+unsub+">" || e.Headers["List-Unsubscribe-Post"] != "List-Unsubscribe=One-Click" {
				t.Fatalf("email headers %v, want List-Unsubscribe <%s> and one-click", e.Headers, unsub)
			}

			confirmation := func() string {
				var v struct {
					Confirmation string `json:"confirmation"`
				}
				a.mustCall(http.StatusOK, http.MethodGet, "/v1/appointments/apt-1", nil, &v)
				return v.Confirmation
			}
			open := func(method string) (int, string) {
				t.Helper()
				var resp *http.Response
				var err error
				if method == http.MethodGet {
					resp, err = http.Get(confirm)
				} else {
					tok := confirm[strings.LastIndex(confirm, "/")+1:]
					resp, err = http.PostForm(confirm, url.Values{"token": {tok}})
				}
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}
			if code, page := open(http.MethodGet); code != http.StatusOK || !strings.Contains(page, "Link Clinic") || !strings.Contains(page, "<button") {
				t.Fatalf("GET confirm link: %d\n%s", code, page)
			}
			if got := confirmation(); got != "unconfirmed" {
				t.Fatalf("after GET: confirmation %q, want unconfirmed", got)
			}
			if code, page := open(http.MethodPost); code != http.StatusOK || !strings.Contains(page, "confirmed") {
				t.Fatalf("POST confirm link: %d\n%s", code, page)
			}
			if got := confirmation(); got != "confirmed" {
				t.Fatalf("after POST: confirmation %q, want confirmed", got)
			}

			// The confirmation re-plans: the current version's nudge is
			// skipped, and once its time comes nothing of it is delivered.
			now := a.appointment("apt-1")
			nudge := now.send("nudge", now.Version)
			if now.Version < 2 || nudge.Status != "skipped" {
				t.Fatalf("only_if_unconfirmed step after confirming (v%d): %+v, want skipped", now.Version, nudge)
			}
			a.advanceTo(appt.send("nudge", 1).DueAt.Add(time.Second))
			a.waitTasksGone(appt.send("nudge", 1).ID, nudge.ID)
			for _, s := range a.appointment("apt-1").Sends {
				if _, ok := entryFor(a.outbox(), s.ID); ok && s.StepID == "nudge" {
					t.Fatalf("the nudge (v%d) was delivered after the patient confirmed", s.AppointmentVersion)
				}
			}

			if code, page := open(http.MethodPost); code != http.StatusGone || !strings.Contains(page, "already been used") {
				t.Fatalf("POST confirm link again: %d, want 410\n%s", code, page)
			}
			assertNoPHI(t, a.logs.String(), email, "Lopez", confirm[strings.LastIndex(confirm, "/")+1:])
		})
	}
}
