package beckon_test

import (
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
)

func TestAPIKeyUsable(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		key  beckon.APIKey
		want string
	}{
		{"plain", beckon.APIKey{}, ""},
		{"expires later", beckon.APIKey{ExpiresAt: now.Add(time.Millisecond)}, ""},
		{"expires now", beckon.APIKey{ExpiresAt: now}, "expired"},
		{"expired", beckon.APIKey{ExpiresAt: now.Add(-time.Hour)}, "expired"},
		{"revoked", beckon.APIKey{RevokedAt: now.Add(time.Hour)}, "revoked"},
		{"revoked and expired", beckon.APIKey{RevokedAt: now, ExpiresAt: now}, "revoked"},
	} {
		if got := tc.key.Usable(now); got != tc.want {
			t.Errorf("%s: Usable = %q, want %q", tc.name, got, tc.want)
		}
	}
}
