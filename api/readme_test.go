package api_test

import (
	"net/http"
	"os"
	"regexp"
	"testing"
)

// The README's example bodies stay valid as the input rules tighten: every
// `curl … -X PUT|POST $B/v1/… -d '{…}'` of the README is accepted (bodies
// with placeholders such as "AC…" are left out).
func TestReadmeBodies(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	b := setup(t)
	curl := regexp.MustCompile(`(?s)-X (PUT|POST) \$B(/v1/[^ ]+) \\?\s*-d '(\{.*?\})'`)
	found := 0
	for _, m := range curl.FindAllStringSubmatch(string(raw), -1) {
		method, path, body := m[1], m[2], m[3]
		if regexp.MustCompile(`…`).MatchString(body) && path != "/v1/clinic/feeds" {
			continue
		}
		if path == "/v1/appointments/a-1/confirmation" {
			b.must(b.keyA, http.MethodPut, "/v1/appointments/a-1", map[string]any{"patient_id": "p-1001", "start": future}, http.StatusCreated)
		}
		st, out := b.do(b.keyA, method, path, body)
		if st >= 300 {
			t.Errorf("README: %s %s = %d %v", method, path, st, out)
		}
		found++
	}
	t.Logf("%d README bodies accepted", found)
	if found < 4 {
		t.Fatalf("found only %d README bodies", found)
	}
}
