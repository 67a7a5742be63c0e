package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/store/storetest"
)

// BenchmarkSendInsert inserts 1,000 sends per operation, as planning a batch
// of appointments does.
func BenchmarkSendInsert(b *testing.B) {
	st := storetest.Open(b)
	clinic := storetest.Clinic(b, st, storetest.ClinicOpts{})
	due := time.Date(2026, 3, 9, 14, 0, 0, 0, time.UTC)
	const batch = 1000
	sends := make([]beckon.Send, batch)
	n := 0
	for b.Loop() {
		for i := range sends {
			n++
			sends[i] = beckon.Send{
				ID:            fmt.Sprintf("snd_%09d", n),
				ClinicID:      clinic.ID,
				AppointmentID: fmt.Sprintf("A-%d", n/3),
				DueAt:         due.Add(time.Duration(n) * time.Second),
			}
		}
		if err := st.SendInsert(b.Context(), sends); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "sends/s")
}

// BenchmarkSendPump lists 500 due sends and marks them enqueued, as one pump
// pass does.
func BenchmarkSendPump(b *testing.B) {
	st := storetest.Open(b)
	clinic := storetest.Clinic(b, st, storetest.ClinicOpts{})
	due := time.Date(2026, 3, 9, 14, 0, 0, 0, time.UTC)
	sends := make([]beckon.Send, 50_000)
	for i := range sends {
		sends[i] = beckon.Send{
			ID:       fmt.Sprintf("snd_%09d", i),
			ClinicID: clinic.ID,
			DueAt:    due.Add(time.Duration(i) * time.Second),
		}
	}
	if err := st.SendInsert(b.Context(), sends); err != nil {
		b.Fatal(err)
	}
	at := due
	for b.Loop() {
		at = at.Add(time.Millisecond)
		got, err := st.SendListDue(b.Context(), beckon.SendListDueParams{
			DueBefore:      due.Add(24 * time.Hour),
			EnqueuedBefore: at.Add(-time.Millisecond),
			Limit:          500,
		})
		if err != nil {
			b.Fatal(err)
		}
		ids := make([]string, len(got))
		for i, s := range got {
			ids[i] = s.ID
		}
		if err := st.SendMarkEnqueued(b.Context(), ids, at); err != nil {
			b.Fatal(err)
		}
	}
}
