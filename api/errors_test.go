package api_test

import (
	"net/http"
	"reflect"
	"testing"

	"github.com/beckonhealth/beckon/api"
)

// An appointment naming an unknown patient is answered with the whole error
// body naming the field: by its index in a batch (a batch of one too).
func TestUnknownPatientErrorBody(t *testing.T) {
	t.Parallel()
	const why = "no patient with this id; PUT /v1/patients/{id} first"
	want := func(field string) map[string]any {
		return map[string]any{
			"status": float64(http.StatusUnprocessableEntity), "code": api.CodeInvalid,
			"message": field + ": " + why, "field": field,
			"errors": []any{map[string]any{"field": field, "message": why}},
		}
	}
	// item is an appointment of a batch; id "" for a PUT body.
	item := func(id, patientID string) map[string]any {
		a := appointment(future)
		a["patient_id"] = patientID
		if id != "" {
			a["id"] = id
		}
		return a
	}
	b := setup(t)
	b.must(b.keyA, http.MethodPut, "/v1/patients/p1", patient, http.StatusCreated)
	for _, tc := range []struct {
		name, method, path string
		body               any
		field              string
	}{
		{"single", http.MethodPut, "/v1/appointments/x", item("", "nobody"), "patient_id"},
		{"batch", http.MethodPost, "/v1/appointments/batch", map[string]any{"appointments": []any{
			item("a1", "p1"), item("a2", "nobody"), item("a3", "p1"),
		}}, "appointments[1].patient_id"},
		{"batch of one", http.MethodPost, "/v1/appointments/batch", map[string]any{"appointments": []any{
			item("a4", "nobody"),
		}}, "appointments[0].patient_id"},
	} {
		st, got := b.do(b.keyA, tc.method, tc.path, tc.body)
		if st != http.StatusUnprocessableEntity || !reflect.DeepEqual(got, want(tc.field)) {
			t.Fatalf("%s: %d %v, want 422 %v", tc.name, st, got, want(tc.field))
		}
	}
	for _, id := range []string{"x", "a1", "a3", "a4"} {
		if st, _ := b.do(b.keyA, http.MethodGet, "/v1/appointments/"+id, nil); st != http.StatusNotFound {
			t.Fatalf("GET %s = %d after a rejected request, want 404", id, st)
		}
	}
}
