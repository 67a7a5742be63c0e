package app

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/beckonhealth/beckon/sealed"
)

func secretsConfig(t *testing.T, env map[string]string, role string) (Config, error) {
	t.Helper()
	c, err := ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		return c, err
	}
	c = c.WithDefaults()
	return c, c.Validate(role)
}

// TestSecretKeySettings: PostgreSQL without a key is refused for every
// command that opens the store, with how to make one; a key of the wrong
// form is refused without being echoed; SQLite needs nothing.
func TestSecretKeySettings(t *testing.T) {
	t.Parallel()
	pg := "postgres://beckon@db.example:5432/beckon"
	for _, role := range []string{RoleServe, RoleAPI, RoleWorker, RoleScheduler, RoleMigrate, RoleRotate} {
		_, err := secretsConfig(t, map[string]string{"DATABASE_URL": pg, "REDIS_URL": "redis://r:6379"}, role)
		if !errors.Is(err, errNoSecretKey) || !strings.Contains(err.Error(), "keygen") {
			t.Errorf("%s on PostgreSQL without a key: %v, want the refusal saying how to make one", role, err)
		}
	}
	good := sealed.NewKey()
	for _, env := range []map[string]string{
		{"DATABASE_URL": pg, "BECKON_SECRET_KEY": good},
		{"DATABASE_URL": pg, "BECKON_SECRET_KEY_FILE": "/run/secrets/beckon"},
		{"DATABASE_URL": pg, "BECKON_SECRET_KEY": good, "BECKON_SECRET_KEYS_OLD": sealed.NewKey() + ", " + sealed.NewKey()},
		{},
	} {
		if _, err := secretsConfig(t, env, RoleMigrate); err != nil {
			t.Errorf("%v: %v", env, err)
		}
	}
	const bad = "hunter2-not-a-key"
	for _, env := range []map[string]string{
		{"BECKON_SECRET_KEY": bad},
		{"BECKON_SECRET_KEY": good, "BECKON_SECRET_KEYS_OLD": good + "," + bad},
	} {
		_, err := secretsConfig(t, env, RoleMigrate)
		if err == nil || strings.Contains(err.Error(), bad) || strings.Contains(err.Error(), good) {
			t.Errorf("a bad key: %v; want an error that shows no key", err)
		}
	}
}

// TestSecretKeyFile: the embedded default creates the key file next to the
// database once (mode 0600), every later start and every concurrent one
// reads the same key, and an explicit key file must exist.
func TestSecretKeyFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "beckon.db")
	ring := func(env map[string]string) (*App, string, error) {
		t.Helper()
		env["BECKON_DATABASE_URL"] = db
		c, err := secretsConfig(t, env, RoleMigrate)
		if err != nil {
			t.Fatal(err)
		}
		var logs strings.Builder
		a := New(c, RoleMigrate)
		a.Logger = NewLogger(&logs, c)
		k, err := a.secretKeyring(t.Context())
		if err != nil {
			return a, logs.String(), err
		}
		return a, logs.String() + k.CurrentID(), nil
	}

	var wg sync.WaitGroup
	ids := make([]string, 4)
	for i := range ids {
		wg.Go(func() {
			_, out, err := ring(map[string]string{})
			if err != nil {
				t.Error(err)
			}
			ids[i] = out[len(out)-8:]
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("concurrent first starts made different keys: %v", ids)
		}
	}
	fi, err := os.Stat(db + ".key")
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v; want mode 0600", fi, err)
	}
	b, _ := os.ReadFile(db + ".key")
	_, out, err := ring(map[string]string{})
	if err != nil || strings.Contains(out, "generated") || !strings.HasSuffix(out, ids[0]) {
		t.Errorf("a later start: %v, logs %q; want the same key, nothing generated", err, out)
	}
	if strings.Contains(out, strings.TrimSpace(string(b))) {
		t.Error("the logs show the key")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 { // the key file; no store was opened
		t.Errorf("files left beside the database: %v", entries)
	}

	_, _, err = ring(map[string]string{"BECKON_SECRET_KEY_FILE": filepath.Join(dir, "missing.key")})
	if err == nil || !strings.Contains(err.Error(), "BECKON_SECRET_KEY_FILE") {
		t.Errorf("a missing explicit key file: %v", err)
	}
}
