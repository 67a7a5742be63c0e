package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/beckonhealth/beckon/api"
)

// TestAppointmentNames: a REST PUT stores and returns the provider's and
// location's names and the notes next to the ids; a PUT replaces the
// appointment whole, so one without them clears them.
func TestAppointmentNames(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.must(b.keyA, http.MethodPut, "/v1/patients/p1", patient, http.StatusCreated)
	body := appointment(future)
	body["provider"], body["provider_name"] = "777", "Dr. Ana Rivera"
	body["location"], body["location_name"] = "MAIN", "Main Street Clinic"
	body["notes"] = "Fasting from midnight.\nBring your glucose log."
	got := b.must(b.keyA, http.MethodPut, "/v1/appointments/a1", body, http.StatusCreated)
	read := b.must(b.keyA, http.MethodGet, "/v1/appointments/a1", nil, http.StatusOK)
	for _, out := range []map[string]any{got, read} {
		for k, want := range map[string]string{"provider": "777", "provider_name": "Dr. Ana Rivera", "location": "MAIN",
			"location_name": "Main Street Clinic", "notes": "Fasting from midnight.\nBring your glucose log."} {
			if out[k] != want {
				t.Fatalf("%s = %v, want %q (%v)", k, out[k], want, out)
			}
		}
	}
	// A full replace: what is left out is cleared.
	replaced := b.must(b.keyA, http.MethodPut, "/v1/appointments/a1", appointment(future), http.StatusOK)
	for _, k := range []string{"provider", "provider_name", "location", "location_name", "notes"} {
		if v, ok := replaced[k]; ok {
			t.Fatalf("%s = %v after a PUT without it", k, v)
		}
	}
}

// TestAppointmentNamesRejected: names and notes with control characters,
// only white space, or over their bounds are refused with the field named,
// one at a time and in a batch, and nothing is stored.
func TestAppointmentNamesRejected(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, field string
		value       string
	}{
		{"provider name with a line break", "provider_name", "Dr. Ana\nRivera"},
		{"provider name with NUL", "provider_name", "Dr. Ana\x00"},
		{"location name with an escape", "location_name", "\x1b[2JMain"},
		{"location name only spaces", "location_name", "   "},
		{"provider id with a tab", "provider", "777\t"},
		{"type with a control character", "type", "check\x07up"},
		{"provider name too long", "provider_name", strings.Repeat("é", 201)},
		{"notes with a bell", "notes", "Fasting\x07"},
		{"notes too long", "notes", strings.Repeat("n", 2001)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.must(b.keyA, http.MethodPut, "/v1/patients/p1", patient, http.StatusCreated)
			body := appointment(future)
			body[tc.field] = tc.value
			st, out := b.do(b.keyA, http.MethodPut, "/v1/appointments/x", body)
			checkError(t, st, out, http.StatusUnprocessableEntity, api.CodeInvalid, tc.field)
			item := appointment(future)
			item["id"] = "y"
			item[tc.field] = tc.value
			st, out = b.do(b.keyA, http.MethodPost, "/v1/appointments/batch", map[string]any{"appointments": []any{item}})
			checkError(t, st, out, http.StatusUnprocessableEntity, api.CodeInvalid, "appointments[0]."+tc.field)
			for _, id := range []string{"x", "y"} {
				if st, _ := b.do(b.keyA, http.MethodGet, "/v1/appointments/"+id, nil); st != http.StatusNotFound {
					t.Fatalf("GET %s = %d after a rejected request, want 404", id, st)
				}
			}
		})
	}
	t.Run("notes may hold line breaks and tabs", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.must(b.keyA, http.MethodPut, "/v1/patients/p1", patient, http.StatusCreated)
		body := appointment(future)
		body["notes"] = "Line one\r\n\tLine two"
		b.must(b.keyA, http.MethodPut, "/v1/appointments/x", body, http.StatusCreated)
	})
}
