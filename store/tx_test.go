package store_test

import (
	"errors"
	"testing"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/store/storetest"
)

func TestInTx(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		t.Run("Commit", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			err := b.st.InTx(b.ctx, func(q beckon.Querier) error {
				a := storetest.Appointment(t, q, b.clinic.ID, storetest.AppointmentOpts{
					ID: "A-1",
				})
				storetest.Send(t, q, b.clinic.ID, storetest.SendOpts{
					ID:            "snd_1",
					AppointmentID: a.ID,
				})
				// Reads inside see the transaction's writes.
				_, err := q.AppointmentGet(b.ctx, b.clinic.ID, a.ID)
				return err
			})
			noErr(t, "tx", err)
			_, err = b.st.AppointmentGet(b.ctx, b.clinic.ID, "A-1")
			noErr(t, "get appointment", err)
			_, err = b.st.SendGet(b.ctx, b.clinic.ID, "snd_1")
			noErr(t, "get send", err)
		})
		t.Run("Rollback", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			boom := errors.New("boom")
			err := b.st.InTx(b.ctx, func(q beckon.Querier) error {
				storetest.Appointment(t, q, b.clinic.ID, storetest.AppointmentOpts{
					ID: "A-1",
				})
				// A conflict inside the transaction leaves it usable.
				a, err := q.AppointmentGet(b.ctx, b.clinic.ID, "A-1")
				noErr(t, "get", err)
				isErr(t, "put again", q.AppointmentPut(b.ctx, a, 0), beckon.ErrConflict)
				storetest.Send(t, q, b.clinic.ID, storetest.SendOpts{
					ID: "snd_1",
				})
				return boom
			})
			isErr(t, "tx", err, boom)
			_, err = b.st.AppointmentGet(b.ctx, b.clinic.ID, "A-1")
			isErr(t, "get appointment", err, beckon.ErrNotFound)
			_, err = b.st.SendGet(b.ctx, b.clinic.ID, "snd_1")
			isErr(t, "get send", err, beckon.ErrNotFound)
		})
		t.Run("Panic", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			func() {
				defer func() {
					if p := recover(); p != "boom" {
						t.Fatalf("recovered %v, want the panic to continue", p)
					}
				}()
				_ = b.st.InTx(b.ctx, func(q beckon.Querier) error {
					storetest.Patient(t, q, b.clinic.ID, storetest.PatientOpts{
						ID: "MRN-1",
					})
					panic("boom")
				})
			}()
			_, err := b.st.PatientGet(b.ctx, b.clinic.ID, "MRN-1")
			isErr(t, "get patient", err, beckon.ErrNotFound)
			noErr(t, "ping", b.st.Ping(b.ctx))
		})
		t.Run("MultiStatementMethodsJoinTx", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			noErr(t, "insert", b.st.MessageInsert(b.ctx, beckon.Message{
				ID:       "msg_1",
				ClinicID: b.clinic.ID,
				Status:   beckon.MessageQueued,
			}))
			err := b.st.InTx(b.ctx, func(q beckon.Querier) error {
				noErr(t, "append", q.MessageEventAppend(b.ctx, b.clinic.ID, beckon.MessageEvent{
					MessageID: "msg_1",
					Status:    beckon.MessageSent,
				}))
				noErr(t, "insert sends", q.SendInsert(b.ctx, []beckon.Send{{ID: "snd_1", ClinicID: b.clinic.ID}}))
				noErr(t, "mark", q.SendMarkEnqueued(b.ctx, []string{"snd_1"}, b.now))
				return errors.New("undo")
			})
			if err == nil {
				t.Fatal("tx: no error")
			}
			m, err := b.st.MessageGet(b.ctx, b.clinic.ID, "msg_1")
			noErr(t, "get", err)
			equal(t, "status", m.Status, beckon.MessageQueued)
			equal(t, "events", len(m.Events), 0)
			_, err = b.st.SendGet(b.ctx, b.clinic.ID, "snd_1")
			isErr(t, "get send", err, beckon.ErrNotFound)
		})
	})
}
