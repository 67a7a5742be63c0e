package ehr

import "strings"

// NormalizeLanguage turns a PID-15 language value into a lower-case BCP 47
// primary language subtag: ISO 639-1 two-letter codes ("es", "en-US",
// "pt_BR"), ISO 639-2 three-letter codes in either their bibliographic or
// terminology form ("SPA", "fre", "CHI") and English or native language
// names ("Spanish", "Español", "Mandarin") all become the two-letter code
// where one exists ("es", "fr", "zh"). Languages with no two-letter code keep
// their three-letter one ("hmn"). It returns "" for anything it does not
// recognise rather than guess.
func NormalizeLanguage(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" || len(s) > 40 {
		return ""
	}
	if i := strings.IndexAny(s, "-_"); i == 2 || i == 3 {
		s = s[:i] // "es-MX", "en_US", "yue-HK"
	}
	if len(s) == 2 {
		if _, ok := iso6391[s]; ok {
			return s
		}
		return ""
	}
	if len(s) == 3 {
		if t, ok := iso6392[s]; ok {
			return t
		}
	}
	if t, ok := languageNames[s]; ok {
		return t
	}
	return ""
}

// languageTable lists, per two-letter code (or three-letter code where none
// exists), its ISO 639-2 codes and the names senders use for it.
var languageTable = []struct {
	tag   string
	codes []string
	names []string
}{
	{"am", []string{"amh"}, []string{"amharic"}},
	{"ar", []string{"ara"}, []string{"arabic", "العربية"}},
	{"bg", []string{"bul"}, []string{"bulgarian"}},
	{"bn", []string{"ben"}, []string{"bengali", "bangla"}},
	{"bs", []string{"bos"}, []string{"bosnian"}},
	{"ch", []string{"cha"}, []string{"chamorro"}},
	{"cs", []string{"cze", "ces"}, []string{"czech"}},
	{"da", []string{"dan"}, []string{"danish"}},
	{"de", []string{"ger", "deu"}, []string{"german", "deutsch"}},
	{"el", []string{"gre", "ell"}, []string{"greek"}},
	{"en", []string{"eng"}, []string{"english"}},
	{"es", []string{"spa"}, []string{"spanish", "español", "espanol", "castilian"}},
	{"et", []string{"est"}, []string{"estonian"}},
	{"fa", []string{"per", "fas"}, []string{"persian", "farsi", "dari"}},
	{"fi", []string{"fin"}, []string{"finnish"}},
	{"fr", []string{"fre", "fra"}, []string{"french", "français", "francais"}},
	{"gu", []string{"guj"}, []string{"gujarati"}},
	{"he", []string{"heb"}, []string{"hebrew"}},
	{"hi", []string{"hin"}, []string{"hindi"}},
	{"hmn", []string{"hmn"}, []string{"hmong"}},
	{"hr", []string{"hrv"}, []string{"croatian"}},
	{"ht", []string{"hat"}, []string{"haitian", "haitian creole", "creole", "kreyol", "kreyòl"}},
	{"hu", []string{"hun"}, []string{"hungarian"}},
	{"hy", []string{"arm", "hye"}, []string{"armenian"}},
	{"id", []string{"ind"}, []string{"indonesian"}},
	{"it", []string{"ita"}, []string{"italian", "italiano"}},
	{"ja", []string{"jpn"}, []string{"japanese", "日本語"}},
	{"km", []string{"khm"}, []string{"khmer", "cambodian"}},
	{"kn", []string{"kan"}, []string{"kannada"}},
	{"ko", []string{"kor"}, []string{"korean", "한국어"}},
	{"lo", []string{"lao"}, []string{"lao", "laotian"}},
	{"lt", []string{"lit"}, []string{"lithuanian"}},
	{"lv", []string{"lav"}, []string{"latvian"}},
	{"mk", []string{"mac", "mkd"}, []string{"macedonian"}},
	{"ml", []string{"mal"}, []string{"malayalam"}},
	{"mr", []string{"mar"}, []string{"marathi"}},
	{"ms", []string{"may", "msa"}, []string{"malay"}},
	{"my", []string{"bur", "mya"}, []string{"burmese"}},
	{"ne", []string{"nep"}, []string{"nepali"}},
	{"nl", []string{"dut", "nld"}, []string{"dutch"}},
	{"no", []string{"nor"}, []string{"norwegian"}},
	{"nv", []string{"nav"}, []string{"navajo", "navaho"}},
	{"pa", []string{"pan"}, []string{"punjabi", "panjabi"}},
	{"pl", []string{"pol"}, []string{"polish", "polski"}},
	{"ps", []string{"pus"}, []string{"pashto", "pushto"}},
	{"pt", []string{"por"}, []string{"portuguese", "português", "portugues"}},
	{"ro", []string{"rum", "ron"}, []string{"romanian"}},
	{"ru", []string{"rus"}, []string{"russian", "русский"}},
	{"sk", []string{"slo", "slk"}, []string{"slovak"}},
	{"sm", []string{"smo"}, []string{"samoan"}},
	{"so", []string{"som"}, []string{"somali"}},
	{"sq", []string{"alb", "sqi"}, []string{"albanian"}},
	{"sr", []string{"srp"}, []string{"serbian"}},
	{"sv", []string{"swe"}, []string{"swedish"}},
	{"sw", []string{"swa"}, []string{"swahili"}},
	{"ta", []string{"tam"}, []string{"tamil"}},
	{"te", []string{"tel"}, []string{"telugu"}},
	{"th", []string{"tha"}, []string{"thai"}},
	{"ti", []string{"tir"}, []string{"tigrinya"}},
	{"tl", []string{"tgl", "fil"}, []string{"tagalog", "filipino"}},
	{"to", []string{"ton"}, []string{"tongan"}},
	{"tr", []string{"tur"}, []string{"turkish"}},
	{"uk", []string{"ukr"}, []string{"ukrainian"}},
	{"ur", []string{"urd"}, []string{"urdu"}},
	{"vi", []string{"vie"}, []string{"vietnamese", "tiếng việt", "tieng viet"}},
	{"yi", []string{"yid"}, []string{"yiddish"}},
	{"yo", []string{"yor"}, []string{"yoruba"}},
	{"zh", []string{"chi", "zho"}, []string{"chinese", "mandarin", "cantonese", "中文"}},
}

var iso6391, iso6392, languageNames = func() (map[string]struct{}, map[string]string, map[string]string) {
	two := make(map[string]struct{}, len(languageTable))
	three := make(map[string]string, 2*len(languageTable))
	names := make(map[string]string, 3*len(languageTable))
	for _, l := range languageTable {
		if len(l.tag) == 2 {
			two[l.tag] = struct{}{}
		}
		for _, c := range l.codes {
			three[c] = l.tag
		}
		for _, n := range l.names {
			names[n] = l.tag
		}
	}
	return two, three, names
}()
