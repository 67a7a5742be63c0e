package ehr

import "testing"

func TestUnescape(t *testing.T) {
	t.Parallel()
	trunc := DefaultDelimiters
	trunc.Truncation = '#'
	for _, tc := range []struct {
		in, want string
		d        Delimiters
	}{
		{`plain`, "plain", DefaultDelimiters},
		{`a\F\b\S\c\T\d\R\e\E\f`, `a|b^c&d~e\f`, DefaultDelimiters},
		{`line\.br\next`, "line\nnext", DefaultDelimiters},
		{`gap\.sp\x`, "gap\nx", DefaultDelimiters},
		{`\H\bold\N\`, "bold", DefaultDelimiters},
		{`Garc\XC3AD\a`, "García", DefaultDelimiters},
		{`crlf\X0D0A\`, "crlf\r\n", DefaultDelimiters},
		{`odd \X0\ hex`, `odd \X0\ hex`, DefaultDelimiters},
		{`bad \XZZ\ hex`, `bad \XZZ\ hex`, DefaultDelimiters},
		{`unknown \Zcustom\ kept`, `unknown \Zcustom\ kept`, DefaultDelimiters},
		{`C:\temp\file`, `C:\temp\file`, DefaultDelimiters},
		{`empty \\ seq`, `empty \\ seq`, DefaultDelimiters},
		{`dangling \F`, `dangling \F`, DefaultDelimiters},
		{`trunc \P\`, `trunc #`, trunc},
		{`no trunc \P\`, `no trunc \P\`, DefaultDelimiters},
		{`!F!`, "#", Delimiters{Field: '#', Component: '$', Escape: '!'}},
		{`no escape \F\`, `no escape \F\`, Delimiters{Field: '|', Component: '^'}},
	} {
		if got := Unescape(tc.in, tc.d); got != tc.want {
			t.Errorf("Unescape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestEscapeRoundTrip(t *testing.T) {
	t.Parallel()
	d := DefaultDelimiters
	d.Truncation = '#'
	for _, s := range []string{"", "plain", `a|b^c&d~e\f#g`, "two\nlines", "ünïcödé"} {
		enc := Escape(s, d)
		if got := Unescape(enc, d); got != s {
			t.Errorf("round trip %q: escaped %q, back %q", s, enc, got)
		}
	}
	if got := Escape("a\r\nb", DefaultDelimiters); got != `a\.br\b` {
		t.Errorf("Escape CRLF = %q", got)
	}
}
