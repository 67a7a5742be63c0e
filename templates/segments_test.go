package templates

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSegments(t *testing.T) {
	r := strings.Repeat
	for _, tc := range []struct {
		name     string
		text     string
		encoding string
		segments int
		units    int
	}{
		{"empty", "", EncodingGSM7, 0, 0},
		{"ascii", "Hello", EncodingGSM7, 1, 5},
		{"basic set specials", "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ ¤¡ÄÖÑÜ§¿äöñüà", EncodingGSM7, 1, 45},
		{"every extension char", "\f^{}\\[~]|€", EncodingGSM7, 1, 20},
		{"euro", "€", EncodingGSM7, 1, 2},
		{"160 septets", r("a", 160), EncodingGSM7, 1, 160},
		{"161 septets", r("a", 161), EncodingGSM7, 2, 161},
		{"80 euros fill one part", r("€", 80), EncodingGSM7, 1, 160},
		{"159 plus escape", r("a", 159) + "€", EncodingGSM7, 2, 161},
		{"306 septets", r("a", 306), EncodingGSM7, 2, 306},
		{"307 septets", r("a", 307), EncodingGSM7, 3, 307},
		// 153 septets exactly, the escape pair ending part one.
		{"escape ends part", r("a", 151) + "€" + r("a", 153), EncodingGSM7, 2, 306},
		// The escape pair would straddle septets 153 and 154: it moves to
		// part two, which then needs 154 septets, so a third part.
		{"escape not split", r("a", 152) + "€" + r("a", 152), EncodingGSM7, 3, 306},
		{"Spanish é is GSM", "café", EncodingGSM7, 1, 4},
		{"Spanish ñ ü ¿ ¡ are GSM", "¿Mañana? ¡Pingüino!", EncodingGSM7, 1, 19},
		{"Spanish á is not GSM", "mamá", EncodingUCS2, 1, 4},
		{"í is not GSM", "día", EncodingUCS2, 1, 3},
		{"ó is not GSM", "atención", EncodingUCS2, 1, 8},
		{"ú is not GSM", "número", EncodingUCS2, 1, 6},
		{"only capital Ç is GSM", "ç", EncodingUCS2, 1, 1},
		{"backtick is not GSM", "`", EncodingUCS2, 1, 1},
		{"tab is not GSM", "\t", EncodingUCS2, 1, 1},
		{"emoji is a surrogate pair", "😀", EncodingUCS2, 1, 2},
		{"70 units", r("á", 70), EncodingUCS2, 1, 70},
		{"71 units", r("á", 71), EncodingUCS2, 2, 71},
		{"134 units", r("á", 134), EncodingUCS2, 2, 134},
		{"135 units", r("á", 135), EncodingUCS2, 3, 135},
		{"35 emoji", r("😀", 35), EncodingUCS2, 1, 70},
		{"36 emoji", r("😀", 36), EncodingUCS2, 2, 72},
		{"pair ends part", r("á", 65) + "😀" + r("á", 67), EncodingUCS2, 2, 134},
		{"pair not split", r("á", 66) + "😀" + r("á", 66), EncodingUCS2, 3, 134},
		{"GSM extension in UCS-2 is one unit", "€á", EncodingUCS2, 1, 2},
		{"invalid UTF-8 is U+FFFD", "\xff", EncodingUCS2, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			enc, n, units := Segments(tc.text)
			if enc != tc.encoding || n != tc.segments || units != tc.units {
				t.Errorf("Segments(%q) = %s, %d, %d; want %s, %d, %d",
					tc.text, enc, n, units, tc.encoding, tc.segments, tc.units)
			}
		})
	}
}

// TestGSMAlphabet checks the whole table: GSM 03.38 has 127 characters in
// its basic set (128 positions less the escape) and 10 in its extension.
func TestGSMAlphabet(t *testing.T) {
	var basic, ext []rune
	for r := rune(0); r <= 0x20ff; r++ {
		switch gsmWidth(r) {
		case 1:
			basic = append(basic, r)
		case 2:
			ext = append(ext, r)
		}
	}
	if len(basic) != 127 || len(ext) != 10 {
		t.Errorf("got %d basic and %d extension characters, want 127 and 10\nbasic %q\next %q", len(basic), len(ext), basic, ext)
	}
	var notGSM []rune
	for r := rune(0x20); r < 0x7f; r++ {
		if gsmWidth(r) == 0 {
			notGSM = append(notGSM, r)
		}
	}
	if string(notGSM) != "`" {
		t.Errorf("printable ASCII outside GSM-7 = %q, want only the backtick", string(notGSM))
	}
}

// checkSegments asserts what holds for any text: encoding and units agree
// with the text, the part count lies between the naive bounds, and no
// prefix needs more parts than the whole.
func checkSegments(t *testing.T, text string) {
	enc, n, units := Segments(text)
	if (n == 0) != (text == "") || (units == 0) != (text == "") {
		t.Fatalf("Segments(%q) = %s, %d, %d: zero parts or units iff empty", text, enc, n, units)
	}
	runes := utf8.RuneCountInString(text)
	single, part := gsmSingle, gsmPart
	if enc == EncodingUCS2 {
		single, part = ucs2Single, ucs2Part
		if units < runes || units > 2*runes {
			t.Fatalf("Segments(%q): %d UCS-2 units for %d runes", text, units, runes)
		}
	} else if units < runes || units > 2*runes {
		t.Fatalf("Segments(%q): %d septets for %d runes", text, units, runes)
	}
	switch {
	case units <= single && n != min(units, 1):
		t.Fatalf("Segments(%q) = %d parts for %d units", text, n, units)
	case units > single && (n < (units+part-1)/part || n > (units+part-2)/(part-1)):
		t.Fatalf("Segments(%q) = %d parts for %d units, outside the bounds", text, n, units)
	}
	prev := 0
	for i := range text {
		_, m, _ := Segments(text[:i])
		if m < prev || m > n {
			t.Fatalf("Segments(%q[:%d]) = %d parts, after %d, whole %d: not monotonic", text, i, m, prev, n)
		}
		prev = m
	}
}

func FuzzSegments(f *testing.F) {
	for _, s := range []string{"", "Hello", "€{}", strings.Repeat("a", 152) + "€" + strings.Repeat("a", 152),
		"mamá", "😀", strings.Repeat("á", 66) + "😀" + strings.Repeat("á", 66), "\xff\xfe", "¿Mañana?"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		checkSegments(t, text)
	})
}
