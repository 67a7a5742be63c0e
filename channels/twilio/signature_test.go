package twilio

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/beckonhealth/beckon/channels/twilio/twiliotest"
)

// Vectors published with the SDK (client/request_validator_test.go, v1.31.0).
const (
	vecToken = "12345"
	vecURL   = "https://mycompany.com/myapp.php?foo=1&bar=2"
	vecSig   = "vOEb5UThFn24KEfnOFLQY2AE5FY="
	vecHash  = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
)

func vecForm() url.Values {
	return url.Values{
		"Digits":                {"1234"},
		"CallSid":               {"CA1234567890ABCDE"},
		"To":                    {"+18005551212"},
		"Caller":                {"+14158675309"},
		"From":                  {"+14158675309"},
		"ReasonConferenceEnded": {"test"},
		"Reason":                {"Participant"},
	}
}

func TestValidateSignature(t *testing.T) {
	t.Parallel()
	tampered := vecForm()
	tampered.Set("Digits", "1235")
	extra := vecForm()
	extra.Set("MessageStatus", "delivered")
	missing := vecForm()
	missing.Del("Reason")
	for _, tc := range []struct {
		name            string
		token, url, sig string
		form            url.Values
		want            bool
	}{
		{"sdk vector", vecToken, vecURL, vecSig, vecForm(), true},
		{"sdk vector with port", vecToken, strings.Replace(vecURL, ".com", ".com:443", 1), vecSig, vecForm(), true},
		{"http sdk vector", vecToken, strings.Replace(vecURL, "https", "http", 1), "n2xBNyzSW7rfYStDtOFiFMv7qNo=", vecForm(), true},
		{"tampered value", vecToken, vecURL, vecSig, tampered, false},
		{"added param", vecToken, vecURL, vecSig, extra, false},
		{"removed param", vecToken, vecURL, vecSig, missing, false},
		{"other query", vecToken, strings.Replace(vecURL, "foo=1", "foo=2", 1), vecSig, vecForm(), false},
		{"other path", vecToken, strings.Replace(vecURL, "myapp", "other", 1), vecSig, vecForm(), false},
		{"wrong token", "54321", vecURL, vecSig, vecForm(), false},
		{"badly sorted (sdk vector)", vecToken, vecURL, "95+Bu0JVPi0r/SsESZCVf0dWAjw=", vecForm(), false},
		{"empty signature", vecToken, vecURL, "", vecForm(), false},
		{"empty token", "", vecURL, vecSig, vecForm(), false},
	} {
		if got := ValidateSignature(tc.token, tc.url, tc.form, tc.sig); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestValidateBody(t *testing.T) {
	t.Parallel()
	jsonBody := []byte(`{"property": "value", "boolean": true}`)
	formBody := []byte(`property=value&boolean=true`)
	if !ValidateBody(vecToken, vecURL+"&bodySHA256="+vecHash, jsonBody, "a9nBmqA0ju/hNViExpshrM61xv4=") {
		t.Error("sdk json vector rejected")
	}
	if !ValidateBody(vecToken, vecURL, formBody, "NBdBDr/T/lgjI+tlgpXjKZQZs/k=") {
		t.Error("sdk form vector rejected")
	}
	if ValidateBody(vecToken, vecURL+"&bodySHA256="+vecHash, []byte(`{"property": "value", "boolean": false}`), "a9nBmqA0ju/hNViExpshrM61xv4=") {
		t.Error("tampered json body accepted")
	}
	if ValidateBody(vecToken, vecURL, []byte(`property=value&boolean=false`), "NBdBDr/T/lgjI+tlgpXjKZQZs/k=") {
		t.Error("tampered form body accepted")
	}
}

// The fake's signed status callbacks pass ValidateSignature, so end-to-end
// tests can rely on them.
func TestFakeStatusCallbackIsSigned(t *testing.T) {
	t.Parallel()
	type got struct {
		ok   bool
		form url.Values
	}
	results := make(chan got, 1)
	var receiver *httptest.Server
	receiver = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(raw))
		full := receiver.URL + r.URL.RequestURI()
		results <- got{ValidateSignature(twiliotest.AuthToken, full, form, r.Header.Get(SignatureHeader)), form}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(receiver.Close)

	b := setup(t, func(o *Options) { o.StatusCallbackURL = receiver.URL + "/webhooks/twilio/status" })
	r, err := b.ch.Send(context.Background(), msg("snd_cb"))
	if err != nil {
		t.Fatal(err)
	}
	status, err := b.fake.PostStatus(context.Background(), twiliotest.Callback{SID: r.ProviderID, Status: "undelivered", ErrorCode: 30003})
	if err != nil || status != http.StatusNoContent {
		t.Fatalf("post status = %d, %v", status, err)
	}
	g := <-results
	if !g.ok {
		t.Error("signature rejected")
	}
	if g.form.Get("MessageSid") != r.ProviderID || g.form.Get("MessageStatus") != "undelivered" || g.form.Get("ErrorCode") != "30003" {
		t.Errorf("callback form = %v", g.form)
	}
	if m, _ := b.fake.Message(r.ProviderID); m.Status != "undelivered" {
		t.Errorf("fake status = %s", m.Status)
	}
}
