package ehr

import "testing"

func TestNormalizeLanguage(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"SPA": "es", "spa": "es", "es": "es", "ES": "es", "es-MX": "es", "es_US": "es",
		"Spanish": "es", "Español": "es", "ENG": "en", "English": "en", "en-US": "en",
		"fre": "fr", "FRA": "fr", "chi": "zh", "zho": "zh", "Mandarin": "zh", "VIE": "vi",
		"HMN": "hmn", "Hmong": "hmn", "tgl": "tl", "Haitian Creole": "ht", " por ": "pt",
		"": "", "xx": "", "Klingon": "", "unknown": "", "e": "",
	} {
		if got := NormalizeLanguage(in); got != want {
			t.Errorf("NormalizeLanguage(%q) = %q, want %q", in, got, want)
		}
	}
}
