package ehr

import (
	"errors"
	"testing"
	"time"
)

func TestCheckFHIRText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, body, want string // want: the FHIRError code, "" for none
	}{
		{"plain", `{"resourceType":"Patient","name":[{"family":"Muñoz"}]}`, ""},
		{"escaped backslash before u0000", `{"a":"C:\\u0000"}`, ""},
		{"u0000 outside a string cannot be", `{"a":1}`, ""},
		{"NUL escape", `{"resourceType":"Patient","name":[{"family":"Mu\u0000oz"}]}`, "invalid"},
		{"NUL escape in a key", `{"a\u0000":1}`, "invalid"},
		{"NUL byte", "{\"a\":\"b\x00\"}", "structure"},
		{"Latin-1 byte", "{\"a\":\"Mu\xf1oz\"}", "structure"},
		{"truncated UTF-8", "{\"a\":\"Mu\xc3\"}", "structure"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := CheckFHIRText([]byte(tc.body))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("got %v, want none", err)
				}
				return
			}
			var fe *FHIRError
			if !errors.As(err, &fe) || fe.Code != tc.want {
				t.Fatalf("got %v, want a %s FHIRError", err, tc.want)
			}
			// Every mapping refuses it too (resources fetched from an EHR
			// do not pass through the HTTP body check).
			if _, err := MapFHIRAppointment([]byte(tc.body), time.UTC, nil); !errors.As(err, &fe) || fe.Code != tc.want {
				t.Errorf("MapFHIRAppointment: %v", err)
			}
			if _, _, err := MapFHIRPatient([]byte(tc.body), false); !errors.As(err, &fe) || fe.Code != tc.want {
				t.Errorf("MapFHIRPatient: %v", err)
			}
			if _, err := MapFHIRBundle([]byte(tc.body), time.UTC); !errors.As(err, &fe) || fe.Code != tc.want {
				t.Errorf("MapFHIRBundle: %v", err)
			}
		})
	}
}
