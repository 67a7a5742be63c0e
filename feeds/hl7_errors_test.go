package feeds_test

import (
	"context"
	"errors"
	"fmt"
	"io"
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

// facilityStore fails the sending-facility lookup with err.
type facilityStore struct {
	beckon.Store
	err error
}

func (s facilityStore) FeedClinicByFacility(context.Context, string) (string, error) {
	return "", s.err
}

// TestHL7StoreErrorsPermanentOrTransient: a value the database refuses for
// what it is (beckon.ErrInvalidData, such as PostgreSQL 22021) is refused for
// good, an AE 102 the sender must not resend; only Beckon's own failures
// are an AE 207 "send it again later".
func TestHL7StoreErrorsPermanentOrTransient(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t)
	for _, tc := range []struct {
		name         string
		err          error
		wantInternal bool
		wantCode     string
		wantResult   string
	}{
		{"data exception", fmt.Errorf("store: feed.facility: %w (SQLSTATE 22021)", beckon.ErrInvalidData), false, "102", beckon.FeedRejected},
		{"database down", errors.New("store: feed.facility: connection refused"), true, "207", beckon.FeedError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fs := facilityStore{Store: st, err: tc.err}
			logger := slog.New(slog.NewTextHandler(io.Discard, nil))
			clock := beckon.SystemClock{}
			proc := &feeds.HL7Processor{Store: fs, Service: &scheduler.Service{Store: fs, Clock: clock, Logger: logger}, Clock: clock, Logger: logger}
			now := time.Now()
			res := proc.Process(t.Context(), feeds.HL7Input{Transport: beckon.TransportHTTP, Raw: []byte(mllpSIU("S12", "P-1", "A-1", "M-1", "Rivera", now, now.Add(48*time.Hour))), Actor: "test"})
			if res.Code != ehr.AE || res.Internal != tc.wantInternal || res.Result != tc.wantResult {
				t.Fatalf("got %s internal=%v result=%s", res.Code, res.Internal, res.Result)
			}
			if !strings.Contains(string(res.Ack), "|"+tc.wantCode+"^") {
				t.Fatalf("ACK has no ERR code %s: %q", tc.wantCode, res.Ack)
			}
		})
	}
}
