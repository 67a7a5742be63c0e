package templates

import "unicode/utf8"

// SMS encodings reported by Segments.
const (
	EncodingGSM7 = "GSM-7"
	EncodingUCS2 = "UCS-2"
)

// SMS part sizes (3GPP TS 23.038 and 23.040): a single message holds 160
// septets or 70 UCS-2 code units; a concatenated part loses 6 octets to its
// user data header and holds 153 septets or 67 code units.
const (
	gsmSingle  = 160
	gsmPart    = 153
	ucs2Single = 70
	ucs2Part   = 67
)

// gsmBasic is the GSM 03.38 default alphabet (one septet each), indexed by
// septet value. 0x1B is the escape to the extension table, not a character.
var gsmBasic = [128]rune{
	'@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å',
	'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', -1, 'Æ', 'æ', 'ß', 'É',
	' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/',
	'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?',
	'¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O',
	'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§',
	'¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
	'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à',
}

// gsmExtension is the GSM 03.38 extension table: each character is sent as
// the escape septet 0x1B followed by its own septet, two septets in all.
const gsmExtension = "\f^{}\\[~]|€"

// gsmSeptets maps each non-ASCII GSM-7 character to the septets it takes
// (1 or 2), and gsmASCII does the same for ASCII (0: not GSM-7). Both are
// built once and never written afterwards.
var gsmSeptets, gsmASCII = func() (map[rune]int, [128]int8) {
	m := make(map[rune]int, 64)
	var a [128]int8
	add := func(r rune, w int) {
		if r < 128 {
			a[r] = int8(w)
		} else {
			m[r] = w
		}
	}
	for _, r := range gsmBasic {
		if r >= 0 {
			add(r, 1)
		}
	}
	for _, r := range gsmExtension {
		add(r, 2)
	}
	return m, a
}()

// gsmWidth returns the septets r takes in GSM-7, or 0 if GSM-7 cannot carry it.
func gsmWidth(r rune) int {
	if r >= 0 && r < 128 {
		return int(gsmASCII[r])
	}
	return gsmSeptets[r]
}

// Segments counts the SMS parts text is sent as.
//
// Text made only of GSM 03.38 characters is GSM-7: units are septets, the
// extension characters \f ^ { } \ [ ~ ] | € taking two; up to 160 septets is
// one part, longer text is split into parts of at most 153 septets, never
// between an escape and its character. Any other text is UCS-2: units are
// UTF-16 code units (characters outside the BMP, such as emoji, take two); up
// to 70 is one part, longer text is split into parts of at most 67, never
// inside a surrogate pair. Empty text is 0 parts. Invalid UTF-8 bytes count
// as U+FFFD.
func Segments(text string) (encoding string, segments int, units int) {
	if septets, ok := gsmCount(text); ok {
		return EncodingGSM7, split(text, septets, gsmSingle, gsmPart, gsmWidth), septets
	}
	n := 0
	for _, r := range text {
		n += utf16Width(r)
	}
	return EncodingUCS2, split(text, n, ucs2Single, ucs2Part, utf16Width), n
}

// gsmCount returns the septets of text, and false if GSM-7 cannot carry it.
func gsmCount(text string) (int, bool) {
	n := 0
	for _, r := range text {
		w := gsmWidth(r)
		if w == 0 {
			return 0, false
		}
		n += w
	}
	return n, true
}

func utf16Width(r rune) int {
	if r >= 0x10000 && r <= utf8.MaxRune {
		return 2
	}
	return 1
}

// split returns the parts of text, whose units total n: one part if n fits
// single, else parts of at most part units filled greedily, a character's
// units never divided between parts.
func split(text string, n, single, part int, width func(rune) int) int {
	switch {
	case n == 0:
		return 0
	case n <= single:
		return 1
	}
	parts, used := 1, 0
	for _, r := range text {
		w := width(r)
		if used+w > part {
			parts++
			used = 0
		}
		used += w
	}
	return parts
}
