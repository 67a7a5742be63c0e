package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/beckonhealth/beckon/sealed"
	"github.com/beckonhealth/beckon/store"
)

// errNoSecretKey is what a PostgreSQL installation without a key is told.
var errNoSecretKey = errors.New("PostgreSQL needs BECKON_SECRET_KEY (or BECKON_SECRET_KEY_FILE): " +
	"the key that seals the provider tokens, FHIR authorization and webhook secrets Beckon keeps in the database. " +
	"Generate one with `beckon secrets keygen` (or `openssl rand -base64 32`), give every process the same one, " +
	"and keep it apart from the database backups")

// validateSecretKeys checks the keys' form (never echoing them) and that a
// PostgreSQL installation has one.
func (c Config) validateSecretKeys() error {
	var errs []error
	if c.SecretKey != "" {
		if _, err := sealed.ParseKey(c.SecretKey); err != nil {
			errs = append(errs, fmt.Errorf("BECKON_SECRET_KEY: %w", err))
		}
	}
	for i, k := range splitKeys(c.SecretKeysOld) {
		if _, err := sealed.ParseKey(k); err != nil {
			errs = append(errs, fmt.Errorf("BECKON_SECRET_KEYS_OLD, key %d: %w", i+1, err))
		}
	}
	if c.SecretKey == "" && c.SecretKeyFile == "" && isPostgresURL(c.DatabaseURL) {
		errs = append(errs, errNoSecretKey)
	}
	return errors.Join(errs...)
}

func isPostgresURL(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

func splitKeys(list string) []string {
	var out []string
	for k := range strings.SplitSeq(list, ",") {
		if k = strings.TrimSpace(k); k != "" {
			out = append(out, k)
		}
	}
	return out
}

// secretKeyring builds the keyring the store seals with: BECKON_SECRET_KEY,
// else the key file (on SQLite, created with a new key on first start; an
// in-memory database gets a key for the process), plus the old keys. It
// logs where the key came from and its id, never the key.
func (a *App) secretKeyring(ctx context.Context) (*sealed.Keyring, error) {
	c := a.Config
	text, source := c.SecretKey, "BECKON_SECRET_KEY"
	if text == "" {
		file := c.SecretKeyFile
		dbFile := store.SQLiteFile(c.DatabaseURL)
		switch {
		case file != "":
			b, err := os.ReadFile(file)
			if err != nil {
				return nil, fmt.Errorf("BECKON_SECRET_KEY_FILE: %w", err)
			}
			text, source = string(b), "file"
		case dbFile != "":
			file = dbFile + ".key"
			var created bool
			var err error
			text, created, err = loadOrCreateKeyFile(file)
			if err != nil {
				return nil, err
			}
			source = "file"
			if created {
				a.Logger.LogAttrs(ctx, slog.LevelWarn, "generated the secret key that seals the secrets in the database: keep this file with the database (a backup needs both); without it they cannot be read",
					slog.String("key_file", file))
			}
		case isPostgresURL(c.DatabaseURL):
			return nil, errNoSecretKey
		default:
			text, source = sealed.NewKey(), "generated for this in-memory database"
		}
		if file != "" {
			source += " " + file
		}
	}
	cur, err := sealed.ParseKey(text)
	if err != nil {
		return nil, fmt.Errorf("secret key (%s): %w", source, err)
	}
	var old [][]byte
	for _, k := range splitKeys(c.SecretKeysOld) {
		b, err := sealed.ParseKey(k)
		if err != nil {
			return nil, fmt.Errorf("BECKON_SECRET_KEYS_OLD: %w", err)
		}
		old = append(old, b)
	}
	ring, err := sealed.NewKeyring(cur, old...)
	if err != nil {
		return nil, err
	}
	a.Logger.LogAttrs(ctx, slog.LevelInfo, "secret key", slog.String("key_id", ring.CurrentID()),
		slog.String("from", source), slog.Int("old_keys", len(ring.IDs())-1))
	return ring, nil
}

// loadOrCreateKeyFile reads the key file, or creates it (mode 0600) with a
// new key when there is none. The file appears whole (written aside, then
// linked into place), so processes starting together agree on the one key
// linked first.
func loadOrCreateKeyFile(path string) (key string, created bool, err error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return string(b), false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", false, fmt.Errorf("secret key file: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".new-*")
	if err != nil {
		return "", false, fmt.Errorf("secret key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	key = sealed.NewKey()
	_, err = tmp.WriteString(key + "\n")
	if err = errors.Join(err, tmp.Chmod(0o600), tmp.Sync(), tmp.Close()); err != nil {
		return "", false, fmt.Errorf("secret key file: %w", err)
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		b, err := os.ReadFile(path)
		return string(b), false, err
	} else if err != nil {
		return "", false, fmt.Errorf("secret key file: %w", err)
	}
	return key, true, nil
}

// RotateArgs are what `beckon secrets rotate` is given.
type RotateArgs struct {
	Batch int // rows per transaction; default 500
}

// RotateSecrets seals every stored secret again with BECKON_SECRET_KEY
// (those in plaintext and those sealed with an old key) and prints how many
// of each column it resealed. Idempotent: a second run reseals nothing.
func (a *App) RotateSecrets(ctx context.Context, args RotateArgs) error {
	if args.Batch < 0 {
		return fmt.Errorf("secrets rotate: -batch must be positive")
	}
	counts, err := store.Reseal(ctx, a.store, store.ResealOptions{All: true, Batch: args.Batch})
	total := 0
	for _, c := range counts {
		total += c.Resealed
		fmt.Fprintf(a.Stdout, "%s.%s: %d resealed\n", c.Table, c.Column, c.Resealed)
	}
	if err != nil {
		return fmt.Errorf("secrets rotate: %w", err)
	}
	a.Logger.LogAttrs(ctx, slog.LevelInfo, "secrets rotated", slog.Int("resealed", total))
	fmt.Fprintf(a.Stdout, "every stored secret is sealed with the current key (%d resealed); the old keys can be removed from BECKON_SECRET_KEYS_OLD\n", total)
	return nil
}
