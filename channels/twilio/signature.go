package twilio

import (
	"net/url"

	twclient "github.com/twilio/twilio-go/client"
)

// SignatureHeader is the header in which Twilio signs its webhooks.
const SignatureHeader = "X-Twilio-Signature"

// ValidateSignature tells whether signature (the X-Twilio-Signature header)
// is Twilio's signature of a form-encoded webhook: fullURL exactly as Twilio
// called it (scheme, host, path and query; behind a proxy, the public URL) and
// the parsed form body. It uses the SDK's validator, which tries the URL with
// and without the default port and, like the SDK, uses the first value of a
// repeated parameter (Twilio's status callbacks repeat none).
func ValidateSignature(authToken, fullURL string, form url.Values, signature string) bool {
	if authToken == "" || signature == "" {
		return false
	}
	params := make(map[string]string, len(form))
	for k, v := range form {
		if len(v) > 0 {
			params[k] = v[0]
		}
	}
	v := twclient.NewRequestValidator(authToken)
	return v.Validate(fullURL, params, signature)
}

// ValidateBody checks a webhook whose body is JSON (the URL then carries
// bodySHA256) or form-encoded, from the raw body.
func ValidateBody(authToken, fullURL string, rawBody []byte, signature string) bool {
	if authToken == "" || signature == "" {
		return false
	}
	v := twclient.NewRequestValidator(authToken)
	return v.ValidateBody(fullURL, rawBody, signature)
}
