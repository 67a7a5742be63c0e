package feeds_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/ehr"
	"github.com/beckonhealth/beckon/feeds"
	"github.com/beckonhealth/beckon/scheduler"
	"github.com/beckonhealth/beckon/store/storetest"
)

// TestReplay: a message refused because no clinic allowed its sending
// facility is listed by a dry run without being applied, applied by a replay
// of the failed messages once the facility is allowed, and recognised as a
// duplicate by a later replay; replaying from the installation's own archive
// adds no archive rows, and an unknown message id is an error.
func TestReplay(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := storetest.Open(t)
	clinic := storetest.Clinic(t, st, storetest.ClinicOpts{})
	storetest.Campaign(t, st, clinic.ID, storetest.CampaignOpts{})
	logger := slog.New(slog.DiscardHandler)
	clock := beckon.SystemClock{}
	proc := &feeds.HL7Processor{Store: st, Service: &scheduler.Service{Store: st, Clock: clock, Logger: logger}, Clock: clock, Logger: logger}
	now := time.Now()

	// MSH-4 is NORTH, on no clinic's allow-list yet.
	refused := proc.Process(ctx, feeds.HL7Input{Transport: beckon.TransportMLLP, Raw: []byte(mllpSIU("S12", "R-1", "A-R1", "M-1", "Rivera", now, now.Add(48*time.Hour))), Actor: "test", Archive: true})
	if refused.Code != ehr.AR || refused.Result != beckon.FeedRejected {
		t.Fatalf("unknown facility: %s %s", refused.Code, refused.Result)
	}
	applied := proc.Process(ctx, feeds.HL7Input{ClinicID: clinic.ID, Transport: beckon.TransportMLLP, Raw: []byte(mllpSIU("S12", "OK-1", "A-OK", "M-2", "Okafor", now, now.Add(72*time.Hour))), Actor: "test", Archive: true})
	if applied.Code != ehr.AA || applied.Result != beckon.FeedApplied {
		t.Fatalf("known clinic: %s %s", applied.Code, applied.Result)
	}

	replay := func(r feeds.Replay) string {
		t.Helper()
		var out bytes.Buffer
		r.Source, r.Processor, r.Out = st, proc, &out
		if err := r.Run(ctx); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}

	out := replay(feeds.Replay{Failed: true, DryRun: true})
	if strings.Count(out, "was AR/rejected\n") != 1 || !strings.Contains(out, "replayed: map[would replay:1]") {
		t.Fatalf("dry run: %s", out)
	}
	if _, err := st.AppointmentGet(ctx, clinic.ID, "A-R1"); err == nil {
		t.Fatal("a dry run applied the message")
	}

	if err := st.FeedSettingsPut(ctx, beckon.FeedSettings{ClinicID: clinic.ID, Facilities: []string{"NORTH"}}); err != nil {
		t.Fatal(err)
	}
	out = replay(feeds.Replay{Failed: true})
	if strings.Count(out, "\tnow ") != 1 || !strings.Contains(out, "was AR/rejected\tnow AA/applied") {
		t.Fatalf("replay of the failed messages: %s", out)
	}
	if _, err := st.AppointmentGet(ctx, clinic.ID, "A-R1"); err != nil {
		t.Fatalf("the replayed message was not applied: %v", err)
	}

	out = replay(feeds.Replay{})
	if strings.Count(out, "\tnow AA/"+beckon.FeedDuplicate) != 2 || strings.Contains(out, "now AA/applied") {
		t.Fatalf("replay of messages applied already: %s", out)
	}
	archived, err := st.InboundList(ctx, beckon.InboundFilter{})
	if err != nil || len(archived) != 2 {
		t.Fatalf("archive after replays: %d rows, %v; want the 2 received", len(archived), err)
	}

	missing := feeds.Replay{Source: st, Processor: proc, Out: &bytes.Buffer{}, ID: "inb_missing"}
	if err := missing.Run(ctx); err == nil || !strings.Contains(err.Error(), "no archived message inb_missing") {
		t.Fatalf("unknown id: %v", err)
	}
}
