package ehr

import (
	"testing"
	"time"
)

func TestParseTimestamp(t *testing.T) {
	t.Parallel()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		in   string
		want time.Time
		p    Precision
	}{
		{"2024", time.Date(2024, 1, 1, 0, 0, 0, 0, ny), PrecisionYear},
		{"202403", time.Date(2024, 3, 1, 0, 0, 0, 0, ny), PrecisionMonth},
		{"20240315", time.Date(2024, 3, 15, 0, 0, 0, 0, ny), PrecisionDay},
		{"2024031509", time.Date(2024, 3, 15, 9, 0, 0, 0, ny), PrecisionHour},
		{"202403150930", time.Date(2024, 3, 15, 9, 30, 0, 0, ny), PrecisionMinute},
		{"20240315093015", time.Date(2024, 3, 15, 9, 30, 15, 0, ny), PrecisionSecond},
		{"20240315093015.1", time.Date(2024, 3, 15, 9, 30, 15, 100_000_000, ny), PrecisionFraction},
		{"20240315093015.1234", time.Date(2024, 3, 15, 9, 30, 15, 123_400_000, ny), PrecisionFraction},
		{"20240315093015-0400", time.Date(2024, 3, 15, 13, 30, 15, 0, time.UTC), PrecisionSecond},
		{"202403150930+0530", time.Date(2024, 3, 15, 4, 0, 0, 0, time.UTC), PrecisionMinute},
		{"20240315093015.5+0000", time.Date(2024, 3, 15, 9, 30, 15, 500_000_000, time.UTC), PrecisionFraction},
		{" 20240229 ", time.Date(2024, 2, 29, 0, 0, 0, 0, ny), PrecisionDay},
	} {
		got, p, err := ParseTimestamp(tc.in, ny)
		if err != nil || !got.Equal(tc.want) || p != tc.p {
			t.Errorf("ParseTimestamp(%q) = %v, %d, %v; want %v, %d", tc.in, got, p, err, tc.want, tc.p)
		}
	}
	for _, bad := range []string{
		"", "202", "20240", "2024031", "2024-03-15", "20241315", "20240230", "20230229",
		"2024031524", "202403150960", "20240315093060", "20240315093015.", "202403150930.5",
		"20240315093015.1234567890", "20240315+04", "20240315+1500", "20240315-0460",
		"20240315Z", "2024031509301x", "+0400", "２０２４",
	} {
		if _, _, err := ParseTimestamp(bad, ny); err == nil {
			t.Errorf("ParseTimestamp(%q) accepted", bad)
		}
	}
	if _, _, err := ParseTimestamp("2024", nil); err == nil {
		t.Error("nil location accepted")
	}
}

// The same instant sent with and without an offset must compare equal,
// on both sides of a daylight-saving change.
func TestTimestampOffsetEquivalence(t *testing.T) {
	t.Parallel()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ local, offset string }{
		{"20240315093000", "20240315093000-0400"}, // EDT
		{"20240115093000", "20240115093000-0500"}, // EST
		{"20241104090000", "20241104090000-0500"}, // after fall back
		{"20240310030000", "20240310030000-0400"}, // just after spring forward
	} {
		a, _, err1 := ParseTimestamp(tc.local, ny)
		b, _, err2 := ParseTimestamp(tc.offset, ny)
		if err1 != nil || err2 != nil || !a.Equal(b) {
			t.Errorf("%s in New York = %v, %s = %v (%v, %v)", tc.local, a, tc.offset, b, err1, err2)
		}
	}
}

func TestFormatTimestamp(t *testing.T) {
	t.Parallel()
	ts := time.Date(2024, 3, 15, 9, 30, 5, 0, time.FixedZone("", -4*3600))
	if got := FormatTimestamp(ts); got != "20240315093005-0400" {
		t.Errorf("FormatTimestamp = %q", got)
	}
	back, _, err := ParseTimestamp(FormatTimestamp(ts), time.UTC)
	if err != nil || !back.Equal(ts) {
		t.Errorf("round trip = %v, %v", back, err)
	}
}
