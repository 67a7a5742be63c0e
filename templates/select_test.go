package templates

import (
	"testing"

	"github.com/beckonhealth/beckon/store"
)

func TestSelect(t *testing.T) {
	c := func(s string) store.Content { return store.Content{Text: s} }
	for _, tc := range []struct {
		name   string
		cs     store.Contents
		lang   string
		chosen string
	}{
		{"exact", store.Contents{"en": c("en"), "es": c("es"), "es-MX": c("es-MX")}, "es-MX", "es-MX"},
		{"case and underscore", store.Contents{"en": c("en"), "es-MX": c("es-MX")}, "ES_mx", "es-MX"},
		{"primary subtag", store.Contents{"en": c("en"), "es": c("es")}, "es-MX", "es"},
		{"sibling region", store.Contents{"en": c("en"), "es-US": c("es-US"), "es-ES": c("es-ES")}, "es-MX", "es-ES"},
		{"English fallback", store.Contents{"en": c("en"), "es": c("es")}, "fr", "en"},
		{"regional English fallback", store.Contents{"en-US": c("en-US"), "es": c("es")}, "fr", "en-US"},
		{"empty language", store.Contents{"en": c("en"), "es": c("es")}, "", "en"},
		{"smallest key", store.Contents{"fr": c("fr"), "de": c("de")}, "es", "de"},
		{"none", nil, "en", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			content, chosen := Select(tc.cs, tc.lang)
			if chosen != tc.chosen || content.Text != tc.chosen {
				t.Errorf("Select(%q) = %q (%q), want %q", tc.lang, chosen, content.Text, tc.chosen)
			}
		})
	}
}
