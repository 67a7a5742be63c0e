package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/api"
)

// namedKey creates a key of the clinic with a known id and returns its secret.
func (b *bundle) namedKey(clinicID, id string, role beckon.Role) string {
	b.t.Helper()
	secret := "bk_test_" + beckon.NewID("")
	if err := b.st.APIKeyCreate(context.Background(), beckon.APIKey{
		ID: id, ClinicID: clinicID, Role: role, Hash: api.HashKey(secret), CreatedAt: time.Now().UTC(),
	}); err != nil {
		b.t.Fatal(err)
	}
	return secret
}

// audit lists the audit trail with the key and query, and returns its entries.
func (b *bundle) audit(key string, q url.Values) []map[string]any {
	b.t.Helper()
	out := b.must(key, http.MethodGet, "/v1/audit?"+q.Encode(), nil, http.StatusOK)
	raw, _ := out["entries"].([]any)
	es := make([]map[string]any, len(raw))
	for i, e := range raw {
		es[i] = e.(map[string]any)
	}
	return es
}

// TestAuditReads: a read of patient data through the API is in the audit
// trail with the key that made it; only an admin key reads the trail, and
// only its own clinic's.
func TestAuditReads(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ehr := b.namedKey(b.clinic.ID, "key_ehr1", beckon.RoleEHR)
	admin := b.namedKey(b.clinic.ID, "key_adm1", beckon.RoleAdmin)
	b.must(b.keyA, http.MethodPut, "/v1/patients/p1", patient, http.StatusCreated)
	b.must(b.keyA, http.MethodPut, "/v1/appointments/a1", appointment(future), http.StatusCreated)

	b.must(ehr, http.MethodGet, "/v1/patients/p1", nil, http.StatusOK)
	b.must(admin, http.MethodGet, "/v1/appointments/a1", nil, http.StatusOK)
	b.must(admin, http.MethodGet, "/v1/patients/p1/consent", nil, http.StatusOK)
	b.must(ehr, http.MethodGet, "/v1/patients/nobody", nil, http.StatusNotFound)

	es := b.audit(b.keyA, url.Values{"key": {"key_ehr1"}})
	if len(es) != 1 {
		t.Fatalf("the EHR key's entries: %v, want its one read (a read that failed is not one)", es)
	}
	e := es[0]
	for k, want := range map[string]string{"key_id": "key_ehr1", "actor": "key:key_ehr1", "action": "patient.read",
		"entity": "patient", "entity_id": "p1", "patient_id": "p1"} {
		if e[k] != want {
			t.Errorf("entry %s = %v, want %q (%v)", k, e[k], want, e)
		}
	}

	// Every entry about p1: its writes and its reads, newest first.
	es = b.audit(b.keyA, url.Values{"patient": {"p1"}})
	var actions []string
	for _, e := range es {
		actions = append(actions, fmt.Sprint(e["action"], " ", e["key_id"]))
	}
	want := []string{"consent.read key_adm1", "appointment.read key_adm1", "patient.read key_ehr1"}
	if len(actions) < len(want) {
		t.Fatalf("p1's trail %v, want it to start with %v", actions, want)
	}
	for i, w := range want {
		if actions[i] != w {
			t.Fatalf("p1's trail %v, want it to start with %v", actions, want)
		}
	}
	if es := b.audit(b.keyA, url.Values{"patient": {"p1"}, "action": {"appointment.read"}}); len(es) != 1 || es[0]["entity_id"] != "a1" {
		t.Fatalf("by action: %v", es)
	}

	// Paging: a page of one, then the next.
	page := b.must(b.keyA, http.MethodGet, "/v1/audit?patient=p1&limit=1", nil, http.StatusOK)
	next, _ := page["next_before"].(string)
	if next == "" {
		t.Fatalf("no cursor: %v", page)
	}
	if es := b.audit(b.keyA, url.Values{"patient": {"p1"}, "limit": {"1"}, "before": {next}}); len(es) != 1 || es[0]["action"] != "appointment.read" {
		t.Fatalf("second page: %v", es)
	}

	// Not an EHR key's to read; another clinic sees none of it.
	st, out := b.do(ehr, http.MethodGet, "/v1/audit", nil)
	checkError(t, st, out, http.StatusForbidden, "forbidden", "")
	if es := b.audit(b.keyB, url.Values{"patient": {"p1"}}); len(es) != 0 {
		t.Fatalf("clinic B sees clinic A's trail: %v", es)
	}
	for _, e := range b.audit(b.keyB, nil) {
		t.Errorf("clinic B sees an entry: %v", e)
	}
	st, out = b.do(b.keyB, http.MethodGet, "/v1/audit?before="+next, nil)
	checkError(t, st, out, http.StatusUnprocessableEntity, "validation_failed", "before")
	st, out = b.do(b.keyA, http.MethodGet, "/v1/audit?since=yesterday", nil)
	checkError(t, st, out, http.StatusUnprocessableEntity, "validation_failed", "since")
}

// TestAuditListReads: a list records one entry per patient whose records it
// returned; reads made at once are all recorded (their writes coalesced).
func TestAuditListReads(t *testing.T) {
	t.Parallel()
	b := setup(t)
	admin := b.namedKey(b.clinic.ID, "key_adm2", beckon.RoleAdmin)
	for i, p := range []string{"p1", "p1", "p2"} {
		if err := b.st.MessageInsert(context.Background(), beckon.Message{
			ID: fmt.Sprintf("msg_%d", i), ClinicID: b.clinic.ID, PatientID: p, Direction: beckon.Outbound,
			Channel: beckon.ChannelSMS, To: "+14155550123", Body: "Hi", Status: "sent", Provider: "outbox",
		}); err != nil {
			t.Fatal(err)
		}
	}
	b.must(admin, http.MethodGet, "/v1/messages", nil, http.StatusOK)
	es := b.audit(b.keyA, url.Values{"action": {"message.list"}})
	got := map[string]string{}
	for _, e := range es {
		got[fmt.Sprint(e["patient_id"])] = fmt.Sprint(e["detail"])
	}
	if len(es) != 2 || got["p1"] != `{"op":"list-messages","count":2}` || got["p2"] != `{"op":"list-messages","count":1}` {
		t.Fatalf("list entries %v", es)
	}

	const n = 24
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if st, out := b.do(admin, http.MethodGet, "/v1/messages/msg_2", nil); st != http.StatusOK {
				t.Errorf("read: %d %v", st, out)
			}
		})
	}
	wg.Wait()
	if es := b.audit(b.keyA, url.Values{"action": {"message.read"}, "limit": {"100"}}); len(es) != n {
		t.Fatalf("%d concurrent reads recorded, want %d", len(es), n)
	}
}
