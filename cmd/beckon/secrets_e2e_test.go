package main

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/beckonhealth/beckon/channels/twilio/twiliotest"
	"github.com/beckonhealth/beckon/sealed"
	"github.com/beckonhealth/beckon/store"
)

// TestSecretsRotateThenSend: a clinic's own Twilio token is sealed in the
// database (the embedded default with the key file it generated, the
// servers with BECKON_SECRET_KEY); `beckon secrets rotate` with a new key
// reseals it (the stored key id changes); Beckon restarted with only the new
// key sends through the Twilio stand-in with the clinic's own credentials and
// verifies the status callback the stand-in signs with them. Beckon started
// with only the old key refuses, naming the key it lacks.
func TestSecretsRotateThenSend(t *testing.T) {
	t.Parallel()
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			p := startProviders(t, backend, nil)
			dsn := p.m.Config.DatabaseURL
			oldKey := p.m.Getenv("BECKON_SECRET_KEY")
			if backend == "embedded" {
				if oldKey != "" {
					t.Fatal("the embedded backend has BECKON_SECRET_KEY: the key file is not tested")
				}
				b, err := os.ReadFile(dsn + ".key")
				if err != nil {
					t.Fatalf("serve generated no key file next to the database: %v", err)
				}
				if fi, _ := os.Stat(dsn + ".key"); fi.Mode().Perm() != 0o600 {
					t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
				}
				if !strings.Contains(p.logs.String(), dsn+".key") || strings.Contains(p.logs.String(), strings.TrimSpace(string(b))) {
					t.Error("the log does not say where the key file is, or shows the key")
				}
				oldKey = strings.TrimSpace(string(b))
			}
			oldID, newKey := keyID(t, oldKey), sealed.NewKey()

			// The clinic's own Twilio account.
			const sid, token = "AC" + "5ec2e75ec2e75ec2e75ec2e75ec2e75e", "clinicOwnToken5ec2e7"
			p.tw.AddAccount(sid, token)
			p.mustCall(http.StatusOK, http.MethodPut, "/v1/clinic/channels", map[string]any{
				"twilio": map[string]any{"account_sid": sid, "auth_token": token, "from": p.from, "per_second": 1000},
			}, nil)
			var cs struct {
				Twilio map[string]any `json:"twilio"`
			}
			p.mustCall(http.StatusOK, http.MethodGet, "/v1/clinic/channels", nil, &cs)
			if _, shown := cs.Twilio["auth_token"]; shown || cs.Twilio["auth_token_configured"] != true {
				t.Fatalf("the API answers the token, or not that one is set: %v", cs.Twilio)
			}
			if got := rawColumn(t, dsn, "channel_settings", "twilio_auth_token"); !strings.HasPrefix(got, sealed.Prefix+oldID+":") || strings.Contains(got, token) {
				t.Fatalf("stored token %.30q…, want it sealed with key %s", got, oldID)
			}
			if err := p.m.Close(); err != nil {
				t.Fatal(err)
			}

			// Rotate: the new key current, the old one still opening.
			var out bytes.Buffer
			run(t, &out, dsn, map[string]string{"BECKON_SECRET_KEY": newKey, "BECKON_SECRET_KEYS_OLD": oldKey}, "secrets", "rotate", "-batch", "2")
			if !strings.Contains(out.String(), "channel_settings.twilio_auth_token: 1 resealed") {
				t.Errorf("rotate printed:\n%s", out.String())
			}
			newID := keyID(t, newKey)
			if got := rawColumn(t, dsn, "channel_settings", "twilio_auth_token"); !strings.HasPrefix(got, sealed.Prefix+newID+":") {
				t.Fatalf("after rotation the token is %.30q…, want it sealed with key %s", got, newID)
			}
			out.Reset()
			run(t, &out, dsn, map[string]string{"BECKON_SECRET_KEY": newKey}, "secrets", "rotate")
			if !strings.Contains(out.String(), "(0 resealed)") {
				t.Errorf("a second rotation resealed something:\n%s", out.String())
			}

			// The old key alone: a clear refusal, before anything starts.
			m := newMainOn(p, dsn, map[string]string{"BECKON_SECRET_KEY": oldKey}, io.Discard)
			err := m.Run(context.Background())
			_ = m.Close()
			if err == nil || !strings.Contains(err.Error(), newID) || !strings.Contains(err.Error(), "BECKON_SECRET_KEY") {
				t.Fatalf("started with the old key only: %v; want a refusal naming key %s", err, newID)
			}

			// The new key alone: sends go out with the clinic's credentials.
			m = newMainOn(p, dsn, map[string]string{"BECKON_SECRET_KEY": newKey, "BECKON_SECRET_KEY_FILE": ""}, p.logs)
			if err := m.Run(context.Background()); err != nil {
				t.Fatalf("restart with the new key: %v", err)
			}
			t.Cleanup(func() { _ = m.Close() })
			p.m = m
			p.mustCall(http.StatusCreated, http.MethodPut, "/v1/campaigns/rotated", map[string]any{
				"name": "Rotated",
				"steps": []map[string]any{{"id": "sms", "offset": "-10s", "channel": "sms", "content": map[string]any{
					"en": map[string]any{"text": "Reminder from {{.Clinic.Name}}."},
				}}},
			}, nil)
			sms := p.book("apt-rotated", 12*time.Second).send("sms", 1)
			msg := p.waitMessage(sms.ID, "queued")
			var create *twiliotest.Request
			for _, r := range creates(p.tw) {
				if r.Path == "/2010-04-01/Accounts/"+sid+"/Messages.json" {
					create = &r
				}
			}
			if create == nil || msg.Provider != "twilio" {
				t.Fatalf("no Twilio create on the clinic's account (message %+v)", msg)
			}
			code, err := p.tw.PostStatus(context.Background(), twiliotest.Callback{SID: msg.ProviderID, Status: "delivered"})
			if err != nil || code != http.StatusNoContent {
				t.Fatalf("status callback signed with the clinic's token: %d, %v", code, err)
			}
			p.waitMessage(sms.ID, "delivered")
		})
	}
}

func keyID(t *testing.T, key string) string {
	t.Helper()
	b, err := sealed.ParseKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return sealed.KeyID(b)
}

// rawColumn is the one value of the column as stored: what a dump shows.
func rawColumn(t *testing.T, dsn, table, column string) string {
	t.Helper()
	driver := "pgx"
	if store.SQLiteFile(dsn) != "" {
		driver = "sqlite"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v string
	if err := db.QueryRowContext(t.Context(), `SELECT `+column+` FROM `+table).Scan(&v); err != nil {
		t.Fatalf("raw %s.%s: %v", table, column, err)
	}
	return v
}

// newMainOn is a Main with the app's environment, on dsn, with overrides.
func newMainOn(p *providerApp, dsn string, override map[string]string, logs io.Writer) *Main {
	p.t.Helper()
	prev := p.m.Getenv
	m := NewMain()
	m.Stdout, m.Stderr = io.Discard, logs
	m.Getenv = func(k string) string {
		if v, ok := override[k]; ok {
			return v
		}
		if k == "BECKON_DATABASE_URL" {
			return dsn
		}
		return prev(k)
	}
	if err := m.ParseFlags(context.Background(), []string{"serve"}); err != nil {
		p.t.Fatalf("parse flags: %v", err)
	}
	return m
}

// run runs a one-shot command on dsn with env, its output into out.
func run(t *testing.T, out io.Writer, dsn string, env map[string]string, args ...string) {
	t.Helper()
	m := NewMain()
	m.Stdout, m.Stderr = out, io.Discard
	m.Getenv = func(k string) string {
		if k == "BECKON_DATABASE_URL" {
			return dsn
		}
		return env[k]
	}
	if err := m.ParseFlags(context.Background(), args); err != nil {
		t.Fatalf("%s: %v", strings.Join(args, " "), err)
	}
	err := m.Run(context.Background())
	if cerr := m.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("%s: %v", strings.Join(args, " "), err)
	}
}
