package templates

import (
	"testing"

	"github.com/beckonhealth/beckon"
)

func TestSelect(t *testing.T) {
	c := func(s string) beckon.Content { return beckon.Content{Text: s} }
	for _, tc := range []struct {
		name   string
		cs     beckon.Contents
		lang   string
		chosen string
	}{
		{"exact", beckon.Contents{"en": c("en"), "es": c("es"), "es-MX": c("es-MX")}, "es-MX", "es-MX"},
		{"case and underscore", beckon.Contents{"en": c("en"), "es-MX": c("es-MX")}, "ES_mx", "es-MX"},
		{"primary subtag", beckon.Contents{"en": c("en"), "es": c("es")}, "es-MX", "es"},
		{"sibling region", beckon.Contents{"en": c("en"), "es-US": c("es-US"), "es-ES": c("es-ES")}, "es-MX", "es-ES"},
		{"English fallback", beckon.Contents{"en": c("en"), "es": c("es")}, "fr", "en"},
		{"regional English fallback", beckon.Contents{"en-US": c("en-US"), "es": c("es")}, "fr", "en-US"},
		{"empty language", beckon.Contents{"en": c("en"), "es": c("es")}, "", "en"},
		{"smallest key", beckon.Contents{"fr": c("fr"), "de": c("de")}, "es", "de"},
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
