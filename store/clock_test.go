package store_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/store"
	"github.com/beckonhealth/beckon/store/storetest"
)

// manualClock is a clock the test moves (from the goroutine that uses the
// store: the store reads it only in its callers' goroutines).
type manualClock struct{ t time.Time }

func (c *manualClock) Now() time.Time { return c.t }

// dialectDSNs gives, per available dialect (PostgreSQL when DATABASE_URL is
// set), a fresh database's DSN, for tests that open the store themselves.
func dialectDSNs() map[string]func(t *testing.T) string {
	dsns := map[string]func(t *testing.T) string{
		beckon.DialectSQLite: func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "beckon.db") },
	}
	if u := os.Getenv("DATABASE_URL"); u != "" {
		dsns[beckon.DialectPostgres] = func(t *testing.T) string { return storetest.PostgresSchema(t, u) }
	}
	return dsns
}

// TestStoreClock: the record-keeping times the store fills in are its
// clock's, not the wall clock's, on both dialects and in a transaction.
func TestStoreClock(t *testing.T) {
	t.Parallel()
	for name, dsn := range dialectDSNs() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			// Years away from the wall clock, in whole milliseconds.
			created := time.Date(2031, 5, 6, 7, 8, 9, 10_000_000, time.UTC)
			later := created.Add(90 * time.Minute)
			clock := &manualClock{t: created}
			st, err := store.OpenWith(ctx, dsn(t), store.Options{Clock: clock})
			noErr(t, "open", err)
			t.Cleanup(func() { _ = st.Close() })

			noErr(t, "create clinic", st.ClinicCreate(ctx, beckon.Clinic{ID: "cln_c", Name: "C", TimeZone: "UTC"}))
			c, err := st.ClinicGet(ctx, "cln_c")
			noErr(t, "get clinic", err)
			equal(t, "clinic created", c.CreatedAt, created)
			equal(t, "clinic updated", c.UpdatedAt, created)

			clock.t = later
			c.UpdatedAt = time.Time{}
			noErr(t, "update clinic in a transaction", st.InTx(ctx, func(q beckon.Querier) error {
				return q.ClinicUpdate(ctx, c)
			}))
			c, err = st.ClinicGet(ctx, "cln_c")
			noErr(t, "get clinic again", err)
			equal(t, "clinic created after update", c.CreatedAt, created)
			equal(t, "clinic updated after update", c.UpdatedAt, later)

			send := func(id string) beckon.Send {
				return beckon.Send{ID: id, ClinicID: "cln_c", AppointmentID: "A-1", AppointmentVersion: 1, PatientID: "P-1",
					CampaignID: "C-1", CampaignRevision: 1, StepID: "remind", Channel: beckon.ChannelSMS, DueAt: later.Add(time.Hour)}
			}
			noErr(t, "insert send", st.SendInsert(ctx, []beckon.Send{send("s1")}))
			noErr(t, "write", st.Write(ctx, beckon.Writes{
				ClinicID: "cln_c",
				Sends:    []beckon.Send{send("s2")},
				Audits:   []beckon.AuditEntry{{ClinicID: "cln_c", Actor: "test", Action: "send.planned", Entity: "send", EntityID: "s2"}},
			}))
			for _, id := range []string{"s1", "s2"} {
				s, err := st.SendGet(ctx, "cln_c", id)
				noErr(t, "get "+id, err)
				equal(t, id+" created", s.CreatedAt, later)
				equal(t, id+" updated", s.UpdatedAt, later)
			}
			audits, err := st.AuditList(ctx, "cln_c", "send", "s2")
			noErr(t, "audit", err)
			equal(t, "audit entries", len(audits), 1)
			equal(t, "audit at", audits[0].At, later)
		})
	}
}
