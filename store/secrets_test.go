package store_test

import (
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/sealed"
	"github.com/beckonhealth/beckon/store"
	"github.com/beckonhealth/beckon/store/storetest"
)

// The secrets the tests store, each in one column (secretColumns in
// secrets.go); the links' key is stored as base64, so its bytes are text too.
const (
	twilioToken  = "tw-auth-token-PLAIN-1"
	sendgridKey  = "SG.sendgrid-key-PLAIN-2"
	sendgridHook = "sg-webhook-key-PLAIN-3"
	fhirAuth     = "Bearer fhir-token-PLAIN-4"
	feedSecret   = "whsec_feed-secret-PLAIN-5"
	endpointSec  = "whsec_endpoint-secret-PLAIN-6"
	linksSeed    = "links-seed-PLAIN-7!"
)

// rawSecretColumns are the columns that hold secrets, read as a dump would.
var rawSecretColumns = []struct{ table, column string }{
	{"channel_settings", "twilio_auth_token"},
	{"channel_settings", "sendgrid_api_key"},
	{"channel_settings", "sendgrid_webhook_key"},
	{"feed_settings", "fhir_auth_header"},
	{"feed_settings", "webhook_secret"},
	{"webhook_endpoints", "secret"},
	{"installation_secrets", "value"},
}

// secretsDB is a database for the secrets tests: its DSN, reopened at will.
type secretsDB struct {
	dialect, dsn, file string // file: the SQLite file
}

func forEachSecretsDB(t *testing.T, fn func(t *testing.T, db secretsDB)) {
	t.Run(beckon.DialectSQLite, func(t *testing.T) {
		t.Parallel()
		file := filepath.Join(t.TempDir(), "beckon.db")
		fn(t, secretsDB{dialect: beckon.DialectSQLite, dsn: file, file: file})
	})
	if u := os.Getenv("DATABASE_URL"); u != "" {
		t.Run(beckon.DialectPostgres, func(t *testing.T) {
			t.Parallel()
			fn(t, secretsDB{dialect: beckon.DialectPostgres, dsn: storetest.PostgresSchema(t, u)})
		})
	}
}

func testKeyring(t *testing.T, current string, old ...string) *sealed.Keyring {
	t.Helper()
	cur, err := sealed.ParseKey(current)
	if err != nil {
		t.Fatal(err)
	}
	var olds [][]byte
	for _, o := range old {
		b, err := sealed.ParseKey(o)
		if err != nil {
			t.Fatal(err)
		}
		olds = append(olds, b)
	}
	k, err := sealed.NewKeyring(cur, olds...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func (db secretsDB) open(t *testing.T, keys *sealed.Keyring) beckon.Store {
	t.Helper()
	st, err := store.OpenWith(t.Context(), db.dsn, store.Options{Secrets: keys})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// raw is every secret column of every row as stored, the way pg_dump or
// sqlite3 would show it.
func (db secretsDB) raw(t *testing.T) []string {
	t.Helper()
	driver := "pgx"
	if db.dialect == beckon.DialectSQLite {
		driver = "sqlite"
	}
	conn, err := sql.Open(driver, db.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var out []string
	for _, c := range rawSecretColumns {
		rows, err := conn.QueryContext(t.Context(), `SELECT `+c.column+` FROM `+c.table)
		if err != nil {
			t.Fatalf("raw %s.%s: %v", c.table, c.column, err)
		}
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			out = append(out, v)
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// putSecrets stores one of each secret for the clinic.
func putSecrets(t *testing.T, st beckon.Store, clinicID string) {
	t.Helper()
	ctx := t.Context()
	if _, err := st.ChannelSettingsPut(ctx, beckon.ChannelSettings{
		ClinicID:           clinicID,
		TwilioAccountSID:   "AC123",
		TwilioAuthToken:    twilioToken,
		SendGridAPIKey:     sendgridKey,
		SendGridWebhookKey: sendgridHook,
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.FeedSettingsPut(ctx, beckon.FeedSettings{
		ClinicID:       clinicID,
		FHIRBaseURL:    "https://ehr.example/fhir",
		FHIRAuthHeader: fhirAuth,
		WebhookURL:     "https://ehr.example/hook",
		WebhookSecret:  feedSecret,
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.WebhookEndpointPut(ctx, beckon.WebhookEndpoint{
		ClinicID: clinicID,
		ID:       "wh_1",
		URL:      "https://clinic.example/events",
		Secret:   endpointSec,
		Enabled:  true,
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.InstallationSecret(ctx, "links", []byte(linksSeed)); err != nil {
		t.Fatal(err)
	}
}

// assertSecretsRead checks that the store gives every secret back as stored.
func assertSecretsRead(t *testing.T, st beckon.Store, clinicID string) {
	t.Helper()
	ctx := t.Context()
	cs, err := st.ChannelSettingsGet(ctx, clinicID)
	if err != nil {
		t.Fatalf("channel settings: %v", err)
	}
	fs, err := st.FeedSettingsGet(ctx, clinicID)
	if err != nil {
		t.Fatalf("feed settings: %v", err)
	}
	ep, err := st.WebhookEndpointGet(ctx, clinicID, "wh_1")
	if err != nil {
		t.Fatalf("webhook endpoint: %v", err)
	}
	eps, err := st.WebhookEndpointList(ctx, clinicID)
	if err != nil || len(eps) != 1 {
		t.Fatalf("webhook endpoints: %d, %v", len(eps), err)
	}
	seed, err := st.InstallationSecret(ctx, "links", []byte("another seed"))
	if err != nil {
		t.Fatalf("installation secret: %v", err)
	}
	got := []string{cs.TwilioAuthToken, cs.SendGridAPIKey, cs.SendGridWebhookKey, fs.FHIRAuthHeader,
		fs.WebhookSecret, ep.Secret, eps[0].Secret, string(seed)}
	want := []string{twilioToken, sendgridKey, sendgridHook, fhirAuth, feedSecret, endpointSec, endpointSec, linksSeed}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("secret %d read back as %q, want %q", i, got[i], want[i])
		}
	}
}

// assertSealedWith checks that every stored secret is sealed with the key
// and no plaintext secret is in the rows (nor, on SQLite, in the files).
func assertSealedWith(t *testing.T, db secretsDB, kid string) {
	t.Helper()
	raw := db.raw(t)
	if len(raw) != len(rawSecretColumns) {
		t.Fatalf("%d secret values stored, want %d", len(raw), len(rawSecretColumns))
	}
	for _, v := range raw {
		if !strings.HasPrefix(v, sealed.Prefix+kid+":") {
			t.Errorf("stored %.40q…, want it sealed with key %s", v, kid)
		}
	}
	dump := strings.Join(raw, "\n")
	if db.file != "" {
		for _, f := range []string{db.file, db.file + "-wal"} {
			b, err := os.ReadFile(f)
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Fatal(err)
			}
			dump += string(b)
		}
	}
	for _, s := range []string{twilioToken, sendgridKey, sendgridHook, fhirAuth, feedSecret, endpointSec, "PLAIN"} {
		if strings.Contains(dump, s) {
			t.Errorf("the database holds the plaintext %q", s)
		}
	}
}

// TestSecretsSealedAtRestAndRotated: secrets are sealed in the rows and the
// SQLite file, read back through the store, resealed by a rotation (the key
// id in the rows changes, a second rotation finds nothing to do), and a
// store without the key that sealed them refuses to open, naming the key.
func TestSecretsSealedAtRestAndRotated(t *testing.T) {
	t.Parallel()
	keyA, keyB := sealed.NewKey(), sealed.NewKey()
	forEachSecretsDB(t, func(t *testing.T, db secretsDB) {
		ringA := testKeyring(t, keyA)
		st := db.open(t, ringA)
		clinic := storetest.Clinic(t, st, storetest.ClinicOpts{ID: "cln_a"})
		putSecrets(t, st, clinic.ID)
		assertSecretsRead(t, st, clinic.ID)
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		assertSealedWith(t, db, ringA.CurrentID())

		ringB := testKeyring(t, keyB, keyA)
		st = db.open(t, ringB)
		assertSecretsRead(t, st, clinic.ID) // the old key still opens them
		counts, err := store.Reseal(t.Context(), st, store.ResealOptions{All: true, Batch: 1})
		if err != nil {
			t.Fatalf("rotate: %v", err)
		}
		if n := resealed(counts); n != len(rawSecretColumns) {
			t.Errorf("rotation resealed %d secrets, want %d: %+v", n, len(rawSecretColumns), counts)
		}
		assertSealedWith(t, db, ringB.CurrentID())
		assertSecretsRead(t, st, clinic.ID)
		counts, err = store.Reseal(t.Context(), st, store.ResealOptions{All: true})
		if err != nil || resealed(counts) != 0 {
			t.Errorf("a second rotation resealed %d secrets (%v), want none", resealed(counts), err)
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}

		// Only the new key now: enough. Only the old one: a clear refusal.
		assertSecretsRead(t, db.open(t, testKeyring(t, keyB)), clinic.ID)
		_, err = store.OpenWith(t.Context(), db.dsn, store.Options{Secrets: ringA})
		if !errors.Is(err, sealed.ErrUnknownKey) || !strings.Contains(err.Error(), ringB.CurrentID()) ||
			!strings.Contains(err.Error(), "BECKON_SECRET_KEY") {
			t.Errorf("open with the wrong key: %v; want ErrUnknownKey naming key %s and BECKON_SECRET_KEY", err, ringB.CurrentID())
		}
	})
}

// TestSecretsPlaintextSealedAtOpen: a database from before secrets were
// sealed (written without keys) is sealed when a store with keys opens it,
// and keeps working.
func TestSecretsPlaintextSealedAtOpen(t *testing.T) {
	t.Parallel()
	key := sealed.NewKey()
	forEachSecretsDB(t, func(t *testing.T, db secretsDB) {
		st := db.open(t, nil)
		clinic := storetest.Clinic(t, st, storetest.ClinicOpts{ID: "cln_a"})
		putSecrets(t, st, clinic.ID)
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		if raw := db.raw(t); !strings.Contains(strings.Join(raw, "\n"), twilioToken) {
			t.Fatalf("the store without keys did not keep plaintext: the test proves nothing")
		}

		ring := testKeyring(t, key)
		st = db.open(t, ring)
		assertSecretsRead(t, st, clinic.ID)
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		assertSealedWith(t, db, ring.CurrentID())

		// A process without keys reading a sealed secret: an error, not
		// the sealed text as a token.
		st = db.open(t, nil)
		if cs, err := st.ChannelSettingsGet(t.Context(), clinic.ID); err == nil || !strings.Contains(err.Error(), "BECKON_SECRET_KEY") {
			t.Errorf("read without keys = %.20q, %v; want an error naming BECKON_SECRET_KEY", cs.TwilioAuthToken, err)
		}
	})
}

// TestSecretsMovedBetweenRowsDoNotOpen: a sealed token copied into another
// clinic's row (someone with write access to the database) does not open
// there.
func TestSecretsMovedBetweenRowsDoNotOpen(t *testing.T) {
	t.Parallel()
	forEachSecretsDB(t, func(t *testing.T, db secretsDB) {
		st := db.open(t, storetest.Keyring(t))
		storetest.Clinic(t, st, storetest.ClinicOpts{ID: "cln_a"})
		storetest.Clinic(t, st, storetest.ClinicOpts{ID: "cln_b"})
		putSecrets(t, st, "cln_a")
		if _, err := st.ChannelSettingsPut(t.Context(), beckon.ChannelSettings{ClinicID: "cln_b", TwilioAuthToken: "b-token"}); err != nil {
			t.Fatal(err)
		}
		driver := map[string]string{beckon.DialectSQLite: "sqlite", beckon.DialectPostgres: "pgx"}[db.dialect]
		conn, err := sql.Open(driver, db.dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(t.Context(), `UPDATE channel_settings SET twilio_auth_token =
			(SELECT twilio_auth_token FROM channel_settings WHERE clinic_id = 'cln_a') WHERE clinic_id = 'cln_b'`); err != nil {
			t.Fatal(err)
		}
		cs, err := st.ChannelSettingsGet(t.Context(), "cln_b")
		if !errors.Is(err, sealed.ErrOpen) || strings.Contains(cs.TwilioAuthToken, twilioToken) {
			t.Errorf("clinic b read clinic a's token: %q, %v; want ErrOpen", cs.TwilioAuthToken, err)
		}
	})
}

func resealed(counts []store.ResealCount) int {
	n := 0
	for _, c := range counts {
		n += c.Resealed
	}
	return n
}
