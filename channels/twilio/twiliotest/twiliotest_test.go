package twiliotest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

func post(t *testing.T, s *Server, user, pass string, form url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/2010-04-01/Accounts/"+AccountSID+"/Messages.json", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("body %q: %v", b, err)
	}
	return resp.StatusCode, out
}

func TestCreateValidation(t *testing.T) {
	t.Parallel()
	s := New()
	t.Cleanup(s.Close)
	ok := url.Values{"To": {"+14155550123"}, "From": {"+15005550006"}, "Body": {"hi"}}
	without := func(k string) url.Values {
		v := url.Values{}
		for kk, vv := range ok {
			if kk != k {
				v[kk] = vv
			}
		}
		return v
	}
	for _, tc := range []struct {
		name       string
		user, pass string
		form       url.Values
		status     int
		code       float64
	}{
		{"no auth", "", "", ok, 401, 20003},
		{"wrong token", AccountSID, "nope", ok, 401, 20003},
		{"no To", AccountSID, AuthToken, without("To"), 400, 21604},
		{"bad To", AccountSID, AuthToken, url.Values{"To": {"555"}, "From": {"+15005550006"}, "Body": {"hi"}}, 400, 21211},
		{"no From", AccountSID, AuthToken, without("From"), 400, 21603},
		{"no Body", AccountSID, AuthToken, without("Body"), 400, 21602},
		{"bad validity", AccountSID, AuthToken, url.Values{"To": {"+14155550123"}, "From": {"+15005550006"}, "Body": {"hi"}, "ValidityPeriod": {"36001"}}, 400, 21623},
	} {
		status, body := post(t, s, tc.user, tc.pass, tc.form)
		if status != tc.status || body["code"] != tc.code || body["status"] != float64(tc.status) || body["more_info"] == nil {
			t.Errorf("%s: %d %v", tc.name, status, body)
		}
	}
	status, body := post(t, s, AccountSID, AuthToken, ok)
	if status != 201 || body["status"] != "queued" || !strings.HasPrefix(body["sid"].(string), "SM") || len(body["sid"].(string)) != 34 ||
		body["date_sent"] != nil || body["date_created"] == nil || body["direction"] != "outbound-api" {
		t.Errorf("create: %d %v", status, body)
	}
	if n := len(s.Messages()); n != 1 {
		t.Errorf("%d messages", n)
	}
	if n := len(s.Requests()); n != 8 {
		t.Errorf("%d requests recorded, want 8", n)
	}
}

func TestSignMatchesSDKVector(t *testing.T) {
	t.Parallel()
	form := url.Values{
		"Digits": {"1234"}, "CallSid": {"CA1234567890ABCDE"}, "To": {"+18005551212"},
		"Caller": {"+14158675309"}, "From": {"+14158675309"}, "ReasonConferenceEnded": {"test"}, "Reason": {"Participant"},
	}
	if got := Sign("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", form); got != "vOEb5UThFn24KEfnOFLQY2AE5FY=" {
		t.Errorf("Sign = %s", got)
	}
}

func TestTapWithoutKeepingRequests(t *testing.T) {
	t.Parallel()
	s := New()
	t.Cleanup(s.Close)
	var mu sync.Mutex
	var seen []string
	s.KeepRequests(false)
	s.Tap(func(r Request) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, r.Form.Get("To"))
	})
	for _, to := range []string{"+14155550123", "+14155550124"} {
		if status, body := post(t, s, AccountSID, AuthToken, url.Values{"To": {to}, "From": {"+15005550006"}, "Body": {"hi"}}); status != 201 {
			t.Fatalf("create: %d %v", status, body)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(seen, ",") != "+14155550123,+14155550124" {
		t.Fatalf("tapped %v", seen)
	}
	if n := len(s.Requests()); n != 0 {
		t.Fatalf("%d requests kept, want none", n)
	}
	if n := len(s.Messages()); n != 2 {
		t.Fatalf("%d messages, want 2 (messages are always kept)", n)
	}
}

// A create whose body was cut off mid-write is not acted on, though what
// arrived parses as a form with every field a message needs.
func TestCreateCutOffIsNotAccepted(t *testing.T) {
	t.Parallel()
	s := New()
	t.Cleanup(s.Close)
	form := url.Values{"To": {"+14155550123"}, "From": {"+15005550006"}, "Body": {"hi"}}.Encode()
	cut := form[:len(form)-3] // To=%2B141555501
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/2010-04-01/Accounts/"+AccountSID+"/Messages.json",
		io.MultiReader(strings.NewReader(cut), errReader{io.ErrUnexpectedEOF}))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(AccountSID, AuthToken)
	s.Config.Handler.ServeHTTP(httptest.NewRecorder(), req)
	if n := len(s.Messages()); n != 0 {
		t.Fatalf("accepted %d messages from a body cut off, want 0", n)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
