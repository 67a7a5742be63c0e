package ehr

import (
	"bytes"
	"unicode/utf8"
)

// CheckFHIRText reports a FHIR JSON body that is not text Beckon can keep:
// bytes that are not UTF-8 (JSON is UTF-8, and Go's decoder would replace
// them silently) or a NUL byte are a "structure" error (HTTP 400); a string
// holding the NUL character (written \u0000) is an "invalid" one (422).
// Such a body can never be applied, so it is refused before anything is
// read from it. The error never quotes the body.
func CheckFHIRText(raw []byte) error {
	if bytes.IndexByte(raw, 0) >= 0 {
		return &FHIRError{Code: "structure", Reason: "the body holds a NUL byte"}
	}
	if !utf8.Valid(raw) {
		return &FHIRError{Code: "structure", Reason: "the body is not valid UTF-8"}
	}
	if bytes.Contains(raw, []byte(`\u0000`)) && jsonStringHasNUL(raw) {
		return &FHIRError{Code: "invalid", Reason: `a string holds the NUL character (\u0000)`}
	}
	return nil
}

// jsonStringHasNUL reports whether a JSON string in raw is written with a
// \u0000 escape (and not, say, an escaped backslash followed by "u0000").
func jsonStringHasNUL(raw []byte) bool {
	inString := false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if !inString {
			inString = c == '"'
			continue
		}
		switch c {
		case '"':
			inString = false
		case '\\':
			if i+5 < len(raw) && raw[i+1] == 'u' && string(raw[i+2:i+6]) == "0000" {
				return true
			}
			i++ // the escaped character
		}
	}
	return false
}
