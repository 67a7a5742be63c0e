package ehr

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCheckInstantWindow(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		t  time.Time
		ok bool
	}{
		{time.Date(1899, 12, 31, 23, 59, 59, 0, time.UTC), false},
		{time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{time.Date(2199, 12, 31, 23, 59, 59, 0, time.UTC), true},
		{time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{time.Date(0, 1, 1, 0, 0, 0, 0, time.FixedZone("", 3600)), false},
		{time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), false},
		{time.Time{}, false},
	} {
		if err := CheckInstant(tc.t); (err == nil) != tc.ok {
			t.Errorf("CheckInstant(%v) = %v, want ok %v", tc.t, err, tc.ok)
		}
	}
}

// Every HL7 time Beckon keeps (MSH-7, the start, the end) is held to the
// window, and the ERR says so; a birth date is not an instant and is not.
func TestMapSIUInstantWindow(t *testing.T) {
	t.Parallel()
	ny := newYork(t)
	for _, tc := range []struct {
		name    string
		replace map[string]string
		loc     string
	}{
		{"start in year 0", map[string]string{"TQ1": "TQ1|1||||||00000101093000+1400"}, "TQ1-7"},
		{"start after 2199", map[string]string{"TQ1": "TQ1|1||||||99991231230000-1200"}, "TQ1-7"},
		{"end after 2199", map[string]string{"SCH": "SCH|P1|F1", "TQ1": "TQ1|1||||||21991230100000|99991231230000"}, "TQ1-8.1"},
		{"message time in year 0", map[string]string{"MSH": "MSH|^~\\&|EPIC|NC|BECKON|BECKON|00000101||SIU^S12^SIU_S12|C1|P|2.5.1"}, "MSH-7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := MapSIU(mustParse(t, siuMsg(tc.replace)), ny)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if e.Code != CodeDataTypeError || e.Location() != tc.loc || !strings.Contains(e.Reason, "1900 to 2199") {
				t.Errorf("got %d at %q (%v), want %d at %q saying the range", e.Code, e.Location(), e, CodeDataTypeError, tc.loc)
			}
		})
	}
	ev, err := MapSIU(mustParse(t, siuMsg(map[string]string{"PID": "PID|1||M1^^^NC^MR||Doe^Jo||18000101"})), ny)
	if err != nil || ev.Patient.BirthDate != "1800-01-01" {
		t.Errorf("placeholder birth date: %+v, %v", ev.Patient, err)
	}
}

func TestMapFHIRInstantWindow(t *testing.T) {
	t.Parallel()
	appt := func(extra string) string {
		return `{"resourceType":"Appointment","id":"a1","status":"booked",` + extra + `,
			"participant":[{"actor":{"reference":"Patient/p1"},"status":"needs-action"}]}`
	}
	for _, tc := range []struct{ name, raw, expr string }{
		{"start in year 0", appt(`"start":"0000-01-01T00:00:00+01:00"`), "Appointment.start"},
		{"start in 1899", appt(`"start":"1899-12-31T23:00:00Z"`), "Appointment.start"},
		{"end past 9999", appt(`"start":"2199-12-31T10:00:00Z","end":"9999-12-31T23:59:59-12:00"`), "Appointment.end"},
		{"lastUpdated in year 1", appt(`"start":"2030-01-01T10:00:00Z","meta":{"lastUpdated":"0001-01-01T00:00:00Z"}`), "Appointment.meta.lastUpdated"},
	} {
		_, err := MapFHIRAppointment([]byte(tc.raw), time.UTC, nil)
		var fe *FHIRError
		if !errors.As(err, &fe) || fe.Expression != tc.expr || !strings.Contains(fe.Reason, "1900 to 2199") {
			t.Errorf("%s: err %v, want %s outside the range", tc.name, err, tc.expr)
		}
	}
}
