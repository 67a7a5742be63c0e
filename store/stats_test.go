package store_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/store/storetest"
)

// statsStore is what package metrics reads from the store.
type statsStore interface {
	DBStats() sql.DBStats
	SendCountDueUnqueued(ctx context.Context, before time.Time) (int, error)
}

// SendCountDueUnqueued counts the planned sends due by the instant that
// were never handed to asynq: not those due later, already handed, or
// no longer planned.
func TestSendCountDueUnqueued(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		b := setup(t)
		st, ok := b.st.(statsStore)
		if !ok {
			t.Fatalf("%T has no DBStats and SendCountDueUnqueued", b.st)
		}
		past := b.now.Add(-time.Minute)
		storetest.Send(t, b.st, b.clinic.ID, storetest.SendOpts{DueAt: past})
		storetest.Send(t, b.st, b.clinic.ID, storetest.SendOpts{DueAt: b.now})
		storetest.Send(t, b.st, b.clinic.ID, storetest.SendOpts{DueAt: b.now.Add(time.Minute)})
		storetest.Send(t, b.st, b.clinic.ID, storetest.SendOpts{DueAt: past, EnqueuedAt: past})
		storetest.Send(t, b.st, b.clinic.ID, storetest.SendOpts{DueAt: past, Status: beckon.SendSent})
		n, err := st.SendCountDueUnqueued(b.ctx, b.now)
		noErr(t, "count", err)
		if n != 2 {
			t.Errorf("due and never queued = %d, want 2", n)
		}
		if s := st.DBStats(); s.OpenConnections < 1 {
			t.Errorf("pool open connections = %d after a query, want at least 1", s.OpenConnections)
		}
	})
}
