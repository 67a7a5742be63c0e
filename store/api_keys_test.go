package store_test

import (
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
)

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		t.Run("RoundTrip", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			want := beckon.APIKey{
				ID:         "key_1",
				ClinicID:   b.clinic.ID,
				Name:       "EHR feed",
				Role:       beckon.RoleEHR,
				Hash:       "ab12",
				Prefix:     "bk_abcdefg",
				CreatedAt:  b.now,
				ExpiresAt:  b.now.Add(24 * time.Hour),
				LastUsedAt: b.now.Add(time.Minute),
			}
			noErr(t, "create", b.st.APIKeyCreate(b.ctx, want))
			got, err := b.st.APIKeyGetByHash(b.ctx, "ab12")
			noErr(t, "get by hash", err)
			equal(t, "key", got, want)
			got, err = b.st.APIKeyGet(b.ctx, b.clinic.ID, "key_1")
			noErr(t, "get", err)
			equal(t, "key by id", got, want)
		})
		t.Run("GeneratedID", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			noErr(t, "create", b.st.APIKeyCreate(b.ctx, beckon.APIKey{
				ClinicID: b.clinic.ID,
				Role:     beckon.RoleAdmin,
				Hash:     "cd34",
			}))
			got, err := b.st.APIKeyGetByHash(b.ctx, "cd34")
			noErr(t, "get", err)
			if len(got.ID) != len("key_")+26 || got.CreatedAt.IsZero() {
				t.Fatalf("generated id %q, created %v", got.ID, got.CreatedAt)
			}
			if !got.ExpiresAt.IsZero() || !got.LastUsedAt.IsZero() || !got.RevokedAt.IsZero() {
				t.Fatalf("a new key without times has expiry %v, last use %v, revocation %v", got.ExpiresAt, got.LastUsedAt, got.RevokedAt)
			}
		})
		t.Run("Conflicts", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			k := beckon.APIKey{ID: "key_1", ClinicID: b.clinic.ID, Hash: "h1"}
			noErr(t, "create", b.st.APIKeyCreate(b.ctx, k))
			isErr(t, "same id", b.st.APIKeyCreate(b.ctx, beckon.APIKey{
				ID: "key_1", ClinicID: b.clinic.ID, Hash: "h2",
			}), beckon.ErrConflict)
			isErr(t, "same hash", b.st.APIKeyCreate(b.ctx, beckon.APIKey{
				ID: "key_2", ClinicID: b.clinic.ID, Hash: "h1",
			}), beckon.ErrConflict)
		})
		t.Run("Missing", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			_, err := b.st.APIKeyGetByHash(b.ctx, "nope")
			isErr(t, "get by hash", err, beckon.ErrNotFound)
			_, err = b.st.APIKeyGet(b.ctx, b.clinic.ID, "key_nope")
			isErr(t, "get", err, beckon.ErrNotFound)
		})
		t.Run("ListIsScopedToTheClinic", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			other := b.otherClinic(t)
			for _, k := range []beckon.APIKey{
				{ID: "key_2", ClinicID: b.clinic.ID, Hash: "h2", CreatedAt: b.now.Add(time.Second)},
				{ID: "key_1", ClinicID: b.clinic.ID, Hash: "h1", CreatedAt: b.now},
				{ID: "key_3", ClinicID: other.ID, Hash: "h3", CreatedAt: b.now},
			} {
				noErr(t, "create "+k.ID, b.st.APIKeyCreate(b.ctx, k))
			}
			got, err := b.st.APIKeyList(b.ctx, b.clinic.ID)
			noErr(t, "list", err)
			equal(t, "ids", ids(got, func(k beckon.APIKey) string { return k.ID }), []string{"key_1", "key_2"})
			_, err = b.st.APIKeyGet(b.ctx, b.clinic.ID, "key_3")
			isErr(t, "another clinic's key", err, beckon.ErrNotFound)
		})
		t.Run("Revoke", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			other := b.otherClinic(t)
			noErr(t, "create", b.st.APIKeyCreate(b.ctx, beckon.APIKey{ID: "key_1", ClinicID: b.clinic.ID, Hash: "h1"}))
			_, err := b.st.APIKeyRevoke(b.ctx, other.ID, "key_1", b.now)
			isErr(t, "revoke from another clinic", err, beckon.ErrNotFound)
			k, err := b.st.APIKeyGetByHash(b.ctx, "h1")
			noErr(t, "get", err)
			equal(t, "still usable", k.Usable(b.now), "")

			got, err := b.st.APIKeyRevoke(b.ctx, b.clinic.ID, "key_1", b.now)
			noErr(t, "revoke", err)
			equal(t, "revoked at", got.RevokedAt, b.now)
			got, err = b.st.APIKeyRevoke(b.ctx, b.clinic.ID, "key_1", b.now.Add(time.Hour))
			noErr(t, "revoke again", err)
			equal(t, "first revocation kept", got.RevokedAt, b.now)
			k, err = b.st.APIKeyGetByHash(b.ctx, "h1")
			noErr(t, "get", err)
			equal(t, "usable", k.Usable(b.now), "revoked")
		})
		t.Run("TouchOnlyMovesForward", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			noErr(t, "create", b.st.APIKeyCreate(b.ctx, beckon.APIKey{ID: "key_1", ClinicID: b.clinic.ID, Hash: "h1"}))
			later := b.now.Add(time.Hour)
			noErr(t, "touch", b.st.APIKeyTouch(b.ctx, "key_1", later))
			noErr(t, "touch earlier", b.st.APIKeyTouch(b.ctx, "key_1", b.now))
			k, err := b.st.APIKeyGet(b.ctx, b.clinic.ID, "key_1")
			noErr(t, "get", err)
			equal(t, "last used", k.LastUsedAt, later)
		})
	})
}
