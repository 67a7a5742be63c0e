package sendgridtest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestMailSend(t *testing.T) {
	t.Parallel()
	s := New()
	t.Cleanup(s.Close)
	const good = `{"personalizations":[{"to":[{"email":"a@b.example"}]}],"from":{"email":"c@d.example"},"subject":"s","content":[{"type":"text/plain","value":"v"}]}`
	for _, tc := range []struct {
		name, auth, body string
		status           int
		field            any
	}{
		{"no auth", "", good, 401, nil},
		{"wrong key", "Bearer SG.x", good, 401, nil},
		{"not json", "Bearer " + APIKey, "{", 400, nil},
		{"no personalizations", "Bearer " + APIKey, `{"from":{"email":"c@d.example"},"subject":"s","content":[{"type":"text/plain","value":"v"}]}`, 400, "personalizations"},
		{"bad to", "Bearer " + APIKey, strings.Replace(good, "a@b.example", "nope", 1), 400, "personalizations.0.to.0.email"},
		{"no from", "Bearer " + APIKey, strings.Replace(good, `"from":{"email":"c@d.example"},`, "", 1), 400, "from.email"},
		{"no subject", "Bearer " + APIKey, strings.Replace(good, `"subject":"s",`, "", 1), 400, "subject"},
		{"no content", "Bearer " + APIKey, strings.Replace(good, `,"content":[{"type":"text/plain","value":"v"}]`, "", 1), 400, "content"},
		{"ok", "Bearer " + APIKey, good, 202, nil},
	} {
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/v3/mail/send", strings.NewReader(tc.body))
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d (%s)", tc.name, resp.StatusCode, tc.status, b)
			continue
		}
		if tc.status == 202 {
			if len(b) != 0 || len(resp.Header.Get("X-Message-Id")) != 22 {
				t.Errorf("%s: body %q, id %q", tc.name, b, resp.Header.Get("X-Message-Id"))
			}
			continue
		}
		var e struct {
			Errors []FieldError `json:"errors"`
		}
		if err := json.Unmarshal(b, &e); err != nil || len(e.Errors) == 0 || e.Errors[0].Message == "" || e.Errors[0].Field != tc.field {
			t.Errorf("%s: errors %s", tc.name, b)
		}
	}
	if n := len(s.Accepted()); n != 1 {
		t.Errorf("%d accepted", n)
	}
}
