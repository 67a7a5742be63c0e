package main

import (
	"net/http"
	"os"
	"strings"
	"testing"
)

// TestCampaignTemplateRules: content that breaks the template rules, such as
// issue 9's 391-byte printf bomb bare or behind a patient field, is refused
// when the campaign is saved, with a 422 naming the step and the function;
// the walkthrough's content is accepted, and the server goes on serving.
func TestCampaignTemplateRules(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../templates/testdata/bomb.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	bomb := string(raw)
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			a := startApp(t, backend)
			campaign := func(text string) map[string]any {
				return map[string]any{"name": "Rules", "steps": []map[string]any{{
					"id": "remind", "offset": "-24h", "channel": "sms",
					"content": map[string]any{"en": map[string]any{"text": text}},
				}}}
			}
			for _, text := range []string{
				bomb,
				`{{if eq .Patient.FirstName "Zed"}}` + bomb + `{{end}}Hi`,
				`{{if eq .Patient.FirstName "Al"}}{{slice .Patient.FirstName 0 4}}{{end}}Hi`,
			} {
				var e struct {
					Code   string `json:"code"`
					Errors []struct {
						Field   string `json:"field"`
						Message string `json:"message"`
					} `json:"errors"`
				}
				if code := a.call(http.MethodPut, "/v1/campaigns/rules", campaign(text), &e); code != http.StatusUnprocessableEntity {
					t.Fatalf("PUT %.40q…: status %d, want 422", text, code)
				}
				if len(e.Errors) != 1 || e.Errors[0].Field != "steps[0].content" || !strings.Contains(e.Errors[0].Message, "is not allowed in message templates") {
					t.Fatalf("PUT %.40q…: errors %+v, want steps[0].content naming the function", text, e.Errors)
				}
			}
			a.mustCall(http.StatusCreated, http.MethodPut, "/v1/campaigns/rules",
				campaign("Hi {{.Patient.FirstName}}, see you at {{.Appointment.Time}} at {{.Clinic.Name}}."), nil)
		})
	}
}
