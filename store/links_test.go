package store_test

import (
	"bytes"
	"errors"
	"sync"
	"testing"

	"github.com/beckonhealth/beckon"
)

func TestInstallationSecret(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		t.Run("FirstWriterWins", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			// Several processes' first uses at once: every one reads the
			// secret that was stored first, whichever it is.
			got := make([][]byte, 4)
			var wg sync.WaitGroup
			for i := range got {
				wg.Go(func() {
					v, err := b.st.InstallationSecret(b.ctx, "links", bytes.Repeat([]byte{byte(i + 1)}, 32))
					noErr(t, "secret", err)
					got[i] = v
				})
			}
			wg.Wait()
			for i := range got {
				if len(got[i]) != 32 || !bytes.Equal(got[i], got[0]) {
					t.Fatalf("secret %d = %x, want the same 32 bytes as %x", i, got[i], got[0])
				}
			}
			later, err := b.st.InstallationSecret(b.ctx, "links", bytes.Repeat([]byte{9}, 32))
			noErr(t, "later", err)
			equal(t, "later", later, got[0])
			other, err := b.st.InstallationSecret(b.ctx, "other", []byte{7})
			noErr(t, "other name", err)
			equal(t, "other name", other, []byte{7})
			_, err = b.st.InstallationSecret(b.ctx, "empty", nil)
			isErr(t, "no value", err, beckon.ErrInvalidData)
		})
	})
}

func TestLinkUseRecord(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		t.Run("Once", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			u := beckon.LinkUse{ID: "lnk_1", ClinicID: b.clinic.ID, Action: "confirm", UsedAt: b.now}
			used, err := b.st.LinkUsed(b.ctx, b.clinic.ID, u.ID)
			noErr(t, "used before", err)
			equal(t, "used before", used, false)
			first, err := b.st.LinkUseRecord(b.ctx, u)
			noErr(t, "first", err)
			equal(t, "first", first, true)
			used, err = b.st.LinkUsed(b.ctx, b.clinic.ID, u.ID)
			noErr(t, "used", err)
			equal(t, "used", used, true)
			used, err = b.st.LinkUsed(b.ctx, "cli_other", u.ID)
			noErr(t, "other clinic", err)
			equal(t, "used in another clinic", used, false)
			first, err = b.st.LinkUseRecord(b.ctx, u)
			noErr(t, "again", err)
			equal(t, "again", first, false)
			_, err = b.st.LinkUseRecord(b.ctx, beckon.LinkUse{ID: "lnk_2", ClinicID: b.clinic.ID})
			isErr(t, "no action", err, beckon.ErrInvalidData)
		})
		t.Run("RolledBackWithItsEffect", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			u := beckon.LinkUse{ID: "lnk_rb", ClinicID: b.clinic.ID, Action: "cancel", UsedAt: b.now}
			boom := errors.New("effect failed")
			err := b.st.InTx(b.ctx, func(q beckon.Querier) error {
				first, err := q.LinkUseRecord(b.ctx, u)
				noErr(t, "in tx", err)
				equal(t, "in tx", first, true)
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatalf("InTx = %v, want %v", err, boom)
			}
			first, err := b.st.LinkUseRecord(b.ctx, u)
			noErr(t, "after rollback", err)
			equal(t, "after rollback: still unused", first, true)
		})
	})
}
