package api_test

import (
	"net/http"
	"strings"
	"testing"
)

func history(t *testing.T, v map[string]any) []map[string]any {
	t.Helper()
	raw, ok := v["history"].([]any)
	if !ok {
		t.Fatalf("no history in %v", v)
	}
	out := make([]map[string]any, len(raw))
	for i, e := range raw {
		out[i] = e.(map[string]any)
	}
	return out
}

// TestConsent records consent obtained in person, shows it with its history,
// applies an SMS change to everyone sharing the number, and keeps it to the
// clinic.
func TestConsent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.must(b.keyA, http.MethodPut, "/v1/patients/p1", patient, http.StatusCreated)
	sibling := map[string]any{"first_name": "Leo", "phone": patient["phone"]}
	b.must(b.keyA, http.MethodPut, "/v1/patients/p2", sibling, http.StatusCreated)

	v := b.must(b.keyA, http.MethodGet, "/v1/patients/p1/consent", nil, http.StatusOK)
	if v["sms"] != "unknown" || v["email"] != "unknown" || len(history(t, v)) != 0 {
		t.Fatalf("new patient's consent %v", v)
	}

	e := b.must(b.ehrA, http.MethodPost, "/v1/patients/p1/consent", map[string]any{
		"channel": "sms", "state": "opted_out", "by": "staff:front-desk", "text": "asked at the desk not to be texted",
	}, http.StatusCreated)
	if e["how"] != "staff" || e["state"] != "opted_out" || e["by"] != "staff:front-desk" ||
		e["phone"] != patient["phone"] || e["text"] != "asked at the desk not to be texted" || e["at"] == "" {
		t.Fatalf("entry %v", e)
	}
	for _, id := range []string{"p1", "p2"} {
		v = b.must(b.keyA, http.MethodGet, "/v1/patients/"+id+"/consent", nil, http.StatusOK)
		h := history(t, v)
		if v["sms"] != "opted_out" || v["email"] != "unknown" || len(h) != 1 || h[0]["at"] != e["at"] || h[0]["how"] != "staff" {
			t.Fatalf("%s's consent %v", id, v)
		}
	}
	p := b.must(b.keyA, http.MethodGet, "/v1/patients/p2", nil, http.StatusOK)
	if p["consent"].(map[string]any)["sms"] != "opted_out" {
		t.Fatalf("sibling %v", p)
	}

	b.must(b.keyA, http.MethodPost, "/v1/patients/p1/consent", map[string]any{
		"channel": "sms", "state": "opted_in", "how": "api", "by": "portal",
	}, http.StatusCreated)
	v = b.must(b.keyA, http.MethodGet, "/v1/patients/p2/consent", nil, http.StatusOK)
	if h := history(t, v); v["sms"] != "opted_in" || len(h) != 2 || h[1]["how"] != "api" || h[1]["state"] != "opted_in" {
		t.Fatalf("after opt-in %v", v)
	}

	// Another clinic sees neither the patient nor its ledger.
	st, body := b.do(b.keyB, http.MethodGet, "/v1/patients/p1/consent", nil)
	checkError(t, st, body, http.StatusNotFound, "not_found", "")
	st, body = b.do(b.keyB, http.MethodPost, "/v1/patients/p1/consent", map[string]any{
		"channel": "sms", "state": "opted_out", "by": "x",
	})
	checkError(t, st, body, http.StatusNotFound, "not_found", "")
	b.must(b.keyB, http.MethodPut, "/v1/patients/p1", patient, http.StatusCreated)
	v = b.must(b.keyB, http.MethodGet, "/v1/patients/p1/consent", nil, http.StatusOK)
	if v["sms"] != "unknown" || len(history(t, v)) != 0 {
		t.Fatalf("other clinic's patient with the same number %v", v)
	}
}

func TestConsentInvalid(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.must(b.keyA, http.MethodPut, "/v1/patients/p1", patient, http.StatusCreated)
	b.must(b.keyA, http.MethodPut, "/v1/patients/mailonly", map[string]any{"first_name": "Mo", "email": "mo@example.com"}, http.StatusCreated)
	for _, tc := range []struct {
		name, path string
		body       map[string]any
		field      string
	}{
		{"bad channel", "p1", map[string]any{"channel": "fax", "state": "opted_out", "by": "x"}, "channel"},
		{"unknown is no decision", "p1", map[string]any{"channel": "sms", "state": "unknown", "by": "x"}, "state"},
		{"no by", "p1", map[string]any{"channel": "sms", "state": "opted_out"}, "by"},
		{"blank by", "p1", map[string]any{"channel": "sms", "state": "opted_out", "by": "  "}, "by"},
		{"bad how", "p1", map[string]any{"channel": "sms", "state": "opted_out", "by": "x", "how": "keyword"}, "how"},
		{"no phone", "mailonly", map[string]any{"channel": "sms", "state": "opted_out", "by": "x"}, "channel"},
		{"text too long", "p1", map[string]any{"channel": "sms", "state": "opted_out", "by": "x", "text": strings.Repeat("a", 1001)}, "text"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, body := b.do(b.keyA, http.MethodPost, "/v1/patients/"+tc.path+"/consent", tc.body)
			checkError(t, st, body, http.StatusUnprocessableEntity, "validation_failed", tc.field)
		})
	}
	v := b.must(b.keyA, http.MethodGet, "/v1/patients/p1/consent", nil, http.StatusOK)
	if v["sms"] != "unknown" || len(history(t, v)) != 0 {
		t.Fatalf("refused requests changed consent: %v", v)
	}
	st, body := b.do(b.keyA, http.MethodPost, "/v1/patients/nobody/consent", map[string]any{"channel": "sms", "state": "opted_out", "by": "x"})
	checkError(t, st, body, http.StatusNotFound, "not_found", "")
}

// TestPutPatientConsent: the PUT's consent field goes to the ledger (how
// api, by the key) only when it changes the recorded state.
func TestPutPatientConsent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	withConsent := func(sms, email string) map[string]any {
		p := map[string]any{"consent": map[string]any{"sms": sms, "email": email}}
		for k, v := range patient {
			p[k] = v
		}
		return p
	}
	out := b.must(b.keyA, http.MethodPut, "/v1/patients/p1", withConsent("opted_in", "unknown"), http.StatusCreated)
	if c := out["consent"].(map[string]any); c["sms"] != "opted_in" || c["email"] != "unknown" {
		t.Fatalf("put answered consent %v", c)
	}
	b.must(b.keyA, http.MethodPut, "/v1/patients/p1", withConsent("opted_in", "unknown"), http.StatusOK)
	v := b.must(b.keyA, http.MethodGet, "/v1/patients/p1/consent", nil, http.StatusOK)
	h := history(t, v)
	if len(h) != 1 || h[0]["how"] != "api" || h[0]["channel"] != "sms" || !strings.HasPrefix(h[0]["by"].(string), "key:") {
		t.Fatalf("history after two identical PUTs %v", h)
	}
	// unknown never undoes a recorded decision; an omitted consent keeps it.
	b.must(b.keyA, http.MethodPut, "/v1/patients/p1", withConsent("unknown", "opted_out"), http.StatusOK)
	b.must(b.keyA, http.MethodPut, "/v1/patients/p1", patient, http.StatusOK)
	v = b.must(b.keyA, http.MethodGet, "/v1/patients/p1/consent", nil, http.StatusOK)
	if h := history(t, v); v["sms"] != "opted_in" || v["email"] != "opted_out" || len(h) != 2 || h[1]["channel"] != "email" {
		t.Fatalf("consent %v", v)
	}
	st, body := b.do(b.keyA, http.MethodPut, "/v1/patients/p3", map[string]any{
		"first_name": "Mo", "email": "mo@example.com", "consent": map[string]any{"sms": "opted_out"},
	})
	checkError(t, st, body, http.StatusUnprocessableEntity, "validation_failed", "consent.sms")
}
