package ehr_test

import (
	"fmt"
	"time"

	"github.com/beckonhealth/beckon/ehr"
)

func Example() {
	raw := []byte("MSH|^~\\&|EPIC|NORTH|BECKON|BECKON|20240314101500||SIU^S12^SIU_S12|M1|P|2.5.1\r" +
		"SCH|P1|F1|||||||30|MIN\r" +
		"TQ1|1||||||20240315093000\r" +
		"PID|1||MRN1^^^NORTH^MR||Rivera^Maria||||||||^PRN^CP^^1^617^5550142||SPA\r")
	clinic, _ := time.LoadLocation("America/New_York")

	out := ehr.Classify(raw, clinic)
	fmt.Println(out.Code, out.Event.Kind, out.Event.AppointmentID, out.Event.Start.UTC(), out.Event.Duration)
	fmt.Println(out.Event.Patient.Phone, out.Event.Patient.Language)
	fmt.Println(out.Message.Get("PID-3.4"))

	now := time.Date(2024, 3, 14, 14, 15, 30, 0, time.UTC)
	fmt.Printf("%q\n", ehr.Ack(out.Message, out.Code, out.Err, now, "ACK1"))
	// Output:
	// AA new F1 2024-03-15 13:30:00 +0000 UTC 30m0s
	// +16175550142 es
	// NORTH
	// "MSH|^~\\&|BECKON|BECKON|EPIC|NORTH|20240314141530+0000||ACK^S12^ACK|ACK1|P|2.5.1\rMSA|AA|M1\r"
}
