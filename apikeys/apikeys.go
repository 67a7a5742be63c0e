// Package apikeys is the life of an API key: made (the secret shown once,
// only its hash and prefix kept), revoked, rotated (a new secret for the
// same clinic, role, name and expiry, the old one revoked in the same
// transaction). Each change is in the clinic's audit trail. The CLI (`beckon
// key …`) and the admin API (/v1/keys) both go through it; the API checks
// keys on every request (api/keyauth.go).
package apikeys

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/beckonhealth/beckon"
)

// ErrRevoked is returned for rotating a key that is revoked already.
var ErrRevoked = errors.New("apikeys: the key is revoked")

// ErrInvalid is what an *InvalidError is.
var ErrInvalid = errors.New("apikeys: invalid")

// InvalidError is what is wrong with a request to make a key: the field
// (role, name, expires_at) and why.
type InvalidError struct{ Field, Message string }

func (e *InvalidError) Error() string        { return e.Field + ": " + e.Message }
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

// Hash is how secrets are stored: hex SHA-256 (the secrets are long random
// strings, so a slow hash adds nothing).
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Prefix is what is kept of a secret besides its hash: its first
// beckon.APIKeyPrefixLen characters.
func Prefix(secret string) string {
	if len(secret) > beckon.APIKeyPrefixLen {
		return secret[:beckon.APIKeyPrefixLen]
	}
	return secret
}

// newSecret is "bk_" and 24 random bytes in lower-case base32.
func newSecret() (string, error) {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return "bk_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])), nil
}

// Params describe a new key.
type Params struct {
	ClinicID string
	Role     beckon.Role // admin or ehr
	Name     string      // a label
	// ExpiresAt is when the key stops working; zero: never. It must be
	// after the time the key is made.
	ExpiresAt time.Time
	// Actor is who makes it, for the audit trail ("key:…", "cli").
	Actor string
}

// Check reports what is wrong with p at now (an *InvalidError).
func (p Params) Check(now time.Time) error {
	if p.Role != beckon.RoleAdmin && p.Role != beckon.RoleEHR {
		return &InvalidError{Field: "role", Message: "must be admin or ehr"}
	}
	if !p.ExpiresAt.IsZero() && !p.ExpiresAt.After(now) {
		return &InvalidError{Field: "expires_at", Message: "must be in the future"}
	}
	if len(p.Name) > 200 {
		return &InvalidError{Field: "name", Message: "may be at most 200 characters"}
	}
	return nil
}

// Create makes a key at now and returns it with its secret, which is not
// kept: only its hash and prefix are. ErrNotFound if the clinic does not
// exist.
func Create(ctx context.Context, st beckon.Store, p Params, now time.Time) (beckon.APIKey, string, error) {
	if err := p.Check(now); err != nil {
		return beckon.APIKey{}, "", err
	}
	var (
		k      beckon.APIKey
		secret string
	)
	err := st.InTx(ctx, func(q beckon.Querier) error {
		if _, err := q.ClinicGet(ctx, p.ClinicID); err != nil {
			return err
		}
		var err error
		k, secret, err = create(ctx, q, p, now, "api_key.created")
		return err
	})
	return k, secret, err
}

func create(ctx context.Context, q beckon.Querier, p Params, now time.Time, action string) (beckon.APIKey, string, error) {
	secret, err := newSecret()
	if err != nil {
		return beckon.APIKey{}, "", err
	}
	k := beckon.APIKey{
		ID:        beckon.NewID("key_"),
		ClinicID:  p.ClinicID,
		Name:      p.Name,
		Role:      p.Role,
		Hash:      Hash(secret),
		Prefix:    Prefix(secret),
		CreatedAt: now.UTC().Truncate(time.Millisecond),
		ExpiresAt: p.ExpiresAt.UTC().Truncate(time.Millisecond),
	}
	if err := q.APIKeyCreate(ctx, k); err != nil {
		return beckon.APIKey{}, "", err
	}
	return k, secret, audit(ctx, q, k, p.Actor, action, now)
}

// Revoke revokes the clinic's key at now (a key revoked already keeps its
// first revocation) and returns it. ErrNotFound if the clinic has no such key.
func Revoke(ctx context.Context, st beckon.Store, clinicID, id, actor string, now time.Time) (beckon.APIKey, error) {
	var k beckon.APIKey
	err := st.InTx(ctx, func(q beckon.Querier) error {
		var err error
		if k, err = q.APIKeyRevoke(ctx, clinicID, id, now); err != nil {
			return err
		}
		return audit(ctx, q, k, actor, "api_key.revoked", now)
	})
	return k, err
}

// Rotate replaces the clinic's key by a new one with the same role, name
// and expiry (or expiresAt, when not zero), revoking the old one at now, in
// one transaction. It returns the new key and its secret, and the old key.
// ErrNotFound if the clinic has no such key; ErrRevoked if it is revoked;
// ErrInvalid if the expiry is past.
func Rotate(ctx context.Context, st beckon.Store, clinicID, id, actor string, expiresAt, now time.Time) (beckon.APIKey, string, beckon.APIKey, error) {
	var (
		k, old beckon.APIKey
		secret string
	)
	err := st.InTx(ctx, func(q beckon.Querier) error {
		var err error
		if old, err = q.APIKeyGet(ctx, clinicID, id); err != nil {
			return err
		}
		if !old.RevokedAt.IsZero() {
			return ErrRevoked
		}
		p := Params{ClinicID: clinicID, Role: old.Role, Name: old.Name, ExpiresAt: old.ExpiresAt, Actor: actor}
		if !expiresAt.IsZero() {
			p.ExpiresAt = expiresAt
		}
		if err := p.Check(now); err != nil {
			return err
		}
		if old, err = q.APIKeyRevoke(ctx, clinicID, id, now); err != nil {
			return err
		}
		if err := audit(ctx, q, old, actor, "api_key.revoked", now); err != nil {
			return err
		}
		k, secret, err = create(ctx, q, p, now, "api_key.rotated")
		return err
	})
	return k, secret, old, err
}

// audit records a change to a key: its id, role and prefix, never the secret.
func audit(ctx context.Context, q beckon.Querier, k beckon.APIKey, actor, action string, now time.Time) error {
	if actor == "" {
		actor = "cli"
	}
	return q.AuditAppend(ctx, beckon.AuditEntry{
		ClinicID: k.ClinicID, Actor: actor, Action: action,
		Entity: "api_key", EntityID: k.ID, At: now,
		Detail: fmt.Sprintf(`{"role":%q,"prefix":%q}`, k.Role, k.Prefix),
	})
}
