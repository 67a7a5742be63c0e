package templates

import (
	"maps"
	"slices"

	"github.com/beckonhealth/beckon"
)

// Select picks the content for a language and returns it with the key it
// chose. It tries, in order: the exact tag ("es-MX"); the primary subtag
// ("es"); another key with the same primary subtag, the smallest first
// ("es-US" for "es-MX" when there is no "es"); English ("en"); then the
// smallest key. Tags compare case-insensitively, "_" as "-". Empty cs
// gives the zero Content and "".
func Select(cs beckon.Contents, lang string) (content beckon.Content, chosen string) {
	if len(cs) == 0 {
		return beckon.Content{}, ""
	}
	keys := slices.Sorted(maps.Keys(cs))
	want := normalizeTag(lang)
	primary := primarySubtag(lang)
	find := func(match func(k string) bool) (string, bool) {
		for _, k := range keys {
			if match(k) {
				return k, true
			}
		}
		return "", false
	}
	for _, match := range []func(k string) bool{
		func(k string) bool { return want != "" && normalizeTag(k) == want },
		func(k string) bool { return primary != "" && normalizeTag(k) == primary },
		func(k string) bool { return primary != "" && primarySubtag(k) == primary },
		func(k string) bool { return normalizeTag(k) == "en" },
		func(k string) bool { return primarySubtag(k) == "en" },
	} {
		if k, ok := find(match); ok {
			return cs[k], k
		}
	}
	return cs[keys[0]], keys[0]
}
