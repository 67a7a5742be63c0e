package scheduler

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
)

// A due time (or a start) outside the window every entrance enforces is
// skipped with a reason and a due time that can be kept and encoded, never
// one that breaks every read of the appointment.
func TestPlanOutOfRange(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		start time.Time
		step  beckon.Step
	}{
		{"start in year 0", time.Date(0, 1, 1, 0, 30, 0, 0, time.FixedZone("", 3600)), offset("s", -72*time.Hour)},
		{"start past 9999", time.Date(9999, 12, 31, 23, 0, 0, 0, time.UTC), offset("s", 72*time.Hour)},
		{"follow-up past 2199", time.Date(2199, 12, 31, 12, 0, 0, 0, time.UTC), offset("s", 72*time.Hour)},
		{"day before 1900", time.Date(1900, 1, 1, 12, 0, 0, 0, time.UTC), dayAt("s", -1, "09:00")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.in.Appointment.Start = tt.start
			b.in.Campaigns = []beckon.Campaign{campaign("cmp_1", tt.step)}
			got := Plan(b.in)
			checkPlan(t, got, []planned{{"s", b.in.Now.Format(time.RFC3339), false, beckon.SendSkipped, ReasonOutOfRange}})
			if _, err := json.Marshal(got); err != nil {
				t.Fatalf("the plan cannot be encoded: %v", err)
			}
		})
	}
	b := setup(t)
	b.in.Appointment.Start = time.Date(2199, 12, 28, 12, 0, 0, 0, time.UTC)
	b.in.Campaigns = []beckon.Campaign{campaign("cmp_1", offset("s", 72*time.Hour))}
	if got := Plan(b.in); len(got) != 1 || got[0].Status != beckon.SendPlanned {
		t.Fatalf("a due time inside the window: %+v", got)
	}
}
