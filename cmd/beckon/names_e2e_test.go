package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// namesSIU is an SIU message for appointment id of patient MRN-77, sent at
// sent, starting at start, with the given segments after the patient.
func namesSIU(trigger, control, id string, sent, start time.Time, extra ...string) string {
	segs := append([]string{
		fmt.Sprintf("MSH|^~\\&|EPIC|NORTHCLINIC|BECKON|BECKON|%s+0000||SIU^%s^SIU_S12|%s|P|2.5.1", sent.UTC().Format("20060102150405"), trigger, control),
		fmt.Sprintf("SCH|PL-%s^EPIC|%s^EPIC|||||CHECKUP^Checkup|NORMAL|30|MIN|||||||||||||Booked", id, id),
		fmt.Sprintf("TQ1|1||||||%s+0000", start.UTC().Format("20060102150405")),
		"PID|1||MRN-77^^^NORTHCLINIC^MR||Rivera^Maria||19850401||||||^PRN^CP^^1^415^5550123||en",
	}, extra...)
	return strings.Join(segs, "\r") + "\r"
}

// TestNamesReachThePatient: the provider's and location's names an EHR sends
// (HL7 AIP/AIL, FHIR participant display) are kept next to their ids, shown
// by the API with the notes, and a reminder names the provider ("with Dr.
// Ana Rivera", not "with 777"); an S14 without AIL, AIP or NTE keeps them;
// the notes never reach the patient or the logs.
func TestNamesReachThePatient(t *testing.T) {
	t.Parallel()
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			a := feedAppClock(t, backend)
			a.mustCall(http.StatusOK, http.MethodPut, "/v1/clinic", map[string]any{
				"name": "Names Clinic", "time_zone": "America/New_York", "quiet_hours": map[string]any{"enabled": false},
			}, nil)
			// A reminder due 15 s before the visit (feedApp's own steps are
			// past due for a visit this close, and skipped).
			a.mustCall(http.StatusCreated, http.MethodPut, "/v1/campaigns/soon", map[string]any{
				"name": "Soon", "steps": []map[string]any{{"id": "remind", "offset": "-15s", "channel": "sms", "template": "appointment_reminder"}},
			}, nil)
			post := func(msg string) string {
				t.Helper()
				req, _ := http.NewRequest(http.MethodPost, a.base+"/hl7/v2", strings.NewReader(msg))
				req.Header.Set("Content-Type", "x-application/hl7-v2+er7")
				req.Header.Set("Authorization", "Bearer "+a.key)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("POST /hl7/v2: %d %s", resp.StatusCode, b)
				}
				return string(b)
			}
			const note = "Patient anxious about needles."
			t0 := a.now().UTC().Truncate(time.Second)
			start := t0.Add(25 * time.Second)
			if got := ackCode(t, post(namesSIU("S12", "N-1", "APT-N", t0, start,
				"NTE|1||"+note,
				"RGS|1|A",
				"AIL|1|A|MAIN^1^^NORTHCLINIC^^^^^Main Street Clinic",
				"AIP|1|A|777^Rivera^Ana^^^Dr.|ATTENDING")), "N-1"); got != "AA" {
				t.Fatalf("S12: ack %s", got)
			}
			// A modification without resource segments or notes keeps them.
			if got := ackCode(t, post(namesSIU("S14", "N-2", "APT-N", t0.Add(time.Second), start, "RGS|1|A")), "N-2"); got != "AA" {
				t.Fatalf("S14: ack %s", got)
			}
			var appt map[string]any
			a.mustCall(http.StatusOK, http.MethodGet, "/v1/appointments/APT-N", nil, &appt)
			for k, want := range map[string]any{"provider": "777", "provider_name": "Dr. Ana Rivera", "location": "MAIN",
				"location_name": "Main Street Clinic", "notes": note, "version": float64(1)} {
				if appt[k] != want {
					t.Fatalf("appointment %s = %v, want %v (%v)", k, appt[k], want, appt)
				}
			}
			var v appointmentView
			a.mustCall(http.StatusOK, http.MethodGet, "/v1/appointments/APT-N", nil, &v)
			t.Cleanup(func() {
				if t.Failed() {
					var v2 appointmentView
					a.mustCall(http.StatusOK, http.MethodGet, "/v1/appointments/APT-N", nil, &v2)
					t.Logf("sends after the failure: %+v", v2.Sends)
				}
			})
			a.advanceTo(v.send("remind", 1).DueAt)
			e := a.waitDelivered(v.send("remind", 1))
			if !strings.Contains(e.Body, "your appointment with Dr. Ana Rivera on ") || strings.Contains(e.Body, "777") || strings.Contains(e.Body, note) {
				t.Fatalf("reminder = %q, want it to name Dr. Ana Rivera, not the id or the notes", e.Body)
			}

			// FHIR: the participant's display is the name, the reference the id.
			st, body, _ := a.fhir(http.MethodPut, "/fhir/r4/Appointment/F-1", []byte(`{"resourceType":"Appointment","id":"F-1","status":"booked",
				"start":"`+t0.Add(72*time.Hour).Format(time.RFC3339)+`","end":"`+t0.Add(73*time.Hour).Format(time.RFC3339)+`",
				"participant":[{"actor":{"reference":"Patient/MRN-77"},"status":"accepted"},
				{"actor":{"reference":"Practitioner/888","display":"Dr. Bo Kim"},"status":"accepted"},
				{"actor":{"reference":"Location/ANNEX","display":"North Annex"},"status":"accepted"}]}`))
			if st != http.StatusCreated {
				t.Fatalf("FHIR PUT: %d %v", st, body)
			}
			a.mustCall(http.StatusOK, http.MethodGet, "/v1/appointments/F-1", nil, &appt)
			if appt["provider"] != "888" || appt["provider_name"] != "Dr. Bo Kim" || appt["location"] != "ANNEX" || appt["location_name"] != "North Annex" {
				t.Fatalf("FHIR appointment: %v", appt)
			}
			st, body, _ = a.fhir(http.MethodGet, "/fhir/r4/Appointment/F-1", nil)
			if s := mustJSON(body); st != http.StatusOK || !strings.Contains(s, `"display":"Dr. Bo Kim"`) || !strings.Contains(s, `"display":"North Annex"`) {
				t.Fatalf("FHIR read: %d %s", st, s)
			}
			assertNoPHI(t, a.logs.String(), note)
		})
	}
}
