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

// A missing required property is named by itself, under its parent's path,
// in huma's validation errors as in Beckon's own.
func TestMissingRequiredPropertyField(t *testing.T) {
	t.Parallel()
	// with is m with key set to v; v nil: without key.
	with := func(m map[string]any, key string, v any) map[string]any {
		out := map[string]any{key: v}
		for k, v := range m {
			if k != key {
				out[k] = v
			}
		}
		if v == nil {
			delete(out, key)
		}
		return out
	}
	b := setup(t)
	for _, tc := range []struct {
		name, method, path string
		body               any
		field              string
	}{
		{"appointment", http.MethodPut, "/v1/appointments/x", with(appointment(future), "start", nil), "start"},
		{"batch", http.MethodPost, "/v1/appointments/batch", map[string]any{"appointments": []any{
			with(appointment(future), "id", "a1"), with(with(appointment(future), "id", "a2"), "patient_id", nil),
		}}, "appointments[1].patient_id"},
		{"batch without appointments", http.MethodPost, "/v1/appointments/batch", map[string]any{}, "appointments"},
		{"patient", http.MethodPut, "/v1/patients/x", with(patient, "first_name", nil), "first_name"},
	} {
		st, got := b.do(b.keyA, tc.method, tc.path, tc.body)
		checkError(t, st, got, http.StatusUnprocessableEntity, api.CodeInvalid, tc.field)
		errs, _ := got["errors"].([]any)
		if len(errs) != 1 || errs[0].(map[string]any)["field"] != tc.field {
			t.Fatalf("%s: errors %v, want one naming %s", tc.name, got["errors"], tc.field)
		}
	}
}
