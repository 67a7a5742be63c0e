package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/apikeys"
)

// APIKey is a key as listed: never its secret.
type APIKey struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix" doc:"The secret's first characters, to recognise it; empty for keys made before Beckon kept them"`
	Role       string     `json:"role" enum:"admin,ehr"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty" doc:"When the key stops working; absent: never"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty" doc:"The key's last use, to the minute (written at most once a minute); absent: never used"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty" doc:"When the key was revoked; absent: it is not"`
}

type keyListOutput struct {
	Body struct {
		Keys []APIKey `json:"keys"`
	}
}

type keyCreateInput struct {
	Body struct {
		Role      string     `json:"role" enum:"admin,ehr" doc:"admin: everything in the clinic; ehr: the appointment and patient feeds"`
		Name      string     `json:"name,omitempty" maxLength:"200" doc:"A label"`
		ExpiresAt *time.Time `json:"expires_at,omitempty" doc:"When the key stops working (in the future); absent: never"`
	}
}

type keyIDInput struct {
	ID string `path:"id" minLength:"1" maxLength:"64" pattern:"^key_[A-Za-z0-9]+$" doc:"The key's id (key_…)"`
}

type keyRotateInput struct {
	ID   string `path:"id" minLength:"1" maxLength:"64" pattern:"^key_[A-Za-z0-9]+$" doc:"The key's id (key_…)"`
	Body *struct {
		ExpiresAt *time.Time `json:"expires_at,omitempty" doc:"The new key's expiry; absent: the old key's"`
	}
}

type keySecretOutput struct {
	Body struct {
		Key    APIKey `json:"key"`
		Secret string `json:"secret" doc:"The key to send as Authorization: Bearer …; shown this once, only its hash is kept"`
	}
}

type keyOutput struct {
	Body APIKey
}

func (s *Server) registerKeys() {
	huma.Register(s.api, op("list-keys", http.MethodGet, "/v1/keys", "List the clinic's API keys (revoked ones included), never their secrets"),
		func(ctx context.Context, _ *struct{}) (*keyListOutput, error) {
			ks, err := s.store.APIKeyList(ctx, keyFrom(ctx).ClinicID)
			if err != nil {
				return nil, s.mapError("list-keys", err)
			}
			out := &keyListOutput{}
			out.Body.Keys = make([]APIKey, len(ks))
			for i, k := range ks {
				out.Body.Keys[i] = keyOut(k)
			}
			return out, nil
		})
	huma.Register(s.api, answers(http.StatusCreated, op("create-key", http.MethodPost, "/v1/keys", "Create an API key for the clinic; its secret is in this answer only")),
		func(ctx context.Context, in *keyCreateInput) (*keySecretOutput, error) {
			k := keyFrom(ctx)
			p := apikeys.Params{ClinicID: k.ClinicID, Role: beckon.Role(in.Body.Role), Name: in.Body.Name, Actor: actor(k)}
			if in.Body.ExpiresAt != nil {
				p.ExpiresAt = *in.Body.ExpiresAt
			}
			nk, secret, err := apikeys.Create(ctx, s.store, p, s.cfg.Clock.Now())
			if err != nil {
				return nil, s.keyError("create-key", err)
			}
			return secretOut(nk, secret), nil
		})
	huma.Register(s.api, op("revoke-key", http.MethodPost, "/v1/keys/{id}/revoke", "Revoke an API key: every process refuses it within seconds"),
		func(ctx context.Context, in *keyIDInput) (*keyOutput, error) {
			k, err := apikeys.Revoke(ctx, s.store, keyFrom(ctx).ClinicID, in.ID, actor(keyFrom(ctx)), s.cfg.Clock.Now())
			if err != nil {
				return nil, s.keyError("revoke-key", err)
			}
			s.keys.forget(k.Hash)
			return &keyOutput{Body: keyOut(k)}, nil
		})
	huma.Register(s.api, answers(http.StatusCreated, op("rotate-key", http.MethodPost, "/v1/keys/{id}/rotate", "Replace an API key by a new one (same role, name and expiry) and revoke it; the new secret is in this answer only")),
		func(ctx context.Context, in *keyRotateInput) (*keySecretOutput, error) {
			var expires time.Time
			if in.Body != nil && in.Body.ExpiresAt != nil {
				expires = *in.Body.ExpiresAt
			}
			k := keyFrom(ctx)
			nk, secret, old, err := apikeys.Rotate(ctx, s.store, k.ClinicID, in.ID, actor(k), expires, s.cfg.Clock.Now())
			if err != nil {
				return nil, s.keyError("rotate-key", err)
			}
			s.keys.forget(old.Hash)
			return secretOut(nk, secret), nil
		})
}

// keyError maps the errors of package apikeys.
func (s *Server) keyError(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, apikeys.ErrRevoked):
		return newError(http.StatusConflict, CodeConflict, "this key is revoked; create a new one")
	}
	var ie *apikeys.InvalidError
	if errors.As(err, &ie) {
		return invalid(ie.Field, "%s", ie.Message)
	}
	return s.mapError(op, err)
}

func secretOut(k beckon.APIKey, secret string) *keySecretOutput {
	out := &keySecretOutput{}
	out.Body.Key, out.Body.Secret = keyOut(k), secret
	return out
}

func keyOut(k beckon.APIKey) APIKey {
	return APIKey{
		ID:         k.ID,
		Name:       k.Name,
		Prefix:     k.Prefix,
		Role:       string(k.Role),
		CreatedAt:  k.CreatedAt,
		ExpiresAt:  optTime(k.ExpiresAt),
		LastUsedAt: optTime(k.LastUsedAt),
		RevokedAt:  optTime(k.RevokedAt),
	}
}

// optTime is t, or nil for the zero time.
func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
