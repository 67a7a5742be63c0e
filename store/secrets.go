package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/sealed"
)

// secretColumn is a column that holds a secret, sealed (package sealed) on
// every write and opened on every read, for its place: table, column and the
// row's primary key.
type secretColumn struct {
	table, column string
	key           []string // the primary key's columns
}

// The columns that hold secrets. The API never returns them.
var (
	secretTwilioAuthToken  = secretColumn{"channel_settings", "twilio_auth_token", []string{"clinic_id"}}
	secretSendGridAPIKey   = secretColumn{"channel_settings", "sendgrid_api_key", []string{"clinic_id"}}
	secretSendGridHookKey  = secretColumn{"channel_settings", "sendgrid_webhook_key", []string{"clinic_id"}}
	secretFHIRAuthHeader   = secretColumn{"feed_settings", "fhir_auth_header", []string{"clinic_id"}}
	secretFeedHookSecret   = secretColumn{"feed_settings", "webhook_secret", []string{"clinic_id"}}
	secretEndpointSecret   = secretColumn{"webhook_endpoints", "secret", []string{"clinic_id", "id"}}
	secretInstallationSeed = secretColumn{"installation_secrets", "value", []string{"name"}}

	secretColumns = []secretColumn{
		secretTwilioAuthToken, secretSendGridAPIKey, secretSendGridHookKey,
		secretFHIRAuthHeader, secretFeedHookSecret, secretEndpointSecret, secretInstallationSeed,
	}
)

// place is what a value of the column in the row with this primary key is
// sealed for: a sealed value copied to another row or column does not open.
func (c secretColumn) place(key ...string) string {
	return c.table + "." + c.column + ":" + strings.Join(key, "/")
}

// seal is v sealed for its place, or v itself when the store has no keys.
func (q *queries) seal(c secretColumn, v string, key ...string) string {
	if q.keys == nil {
		return v
	}
	return q.keys.Seal(c.place(key...), v)
}

// open replaces *v, read from the column, by its plaintext. A value that is
// not sealed (written before secrets were sealed) stays as it is.
func (q *queries) open(c secretColumn, v *string, key ...string) error {
	if !sealed.IsSealed(*v) {
		return nil
	}
	if q.keys == nil {
		id, _, _ := sealed.Parse(*v)
		return fmt.Errorf("%s.%s is sealed with key %s and this process has no secret key (BECKON_SECRET_KEY)", c.table, c.column, id)
	}
	p, err := q.keys.Open(c.place(key...), *v)
	if err != nil {
		return fmt.Errorf("%s.%s: %w", c.table, c.column, err)
	}
	*v = p
	return nil
}

// ResealOptions tune Reseal.
type ResealOptions struct {
	// All reseals the secrets sealed with an old key too (a rotation);
	// false reseals only plaintext ones (what Open does at start).
	All bool
	// Batch is how many rows are read, and resealed in one transaction, at
	// a time. Default 500.
	Batch int
}

// ResealCount is how many values of one column Reseal sealed again.
type ResealCount struct {
	Table, Column string
	Resealed      int
}

// Reseal seals again with the current key every stored secret that is not
// sealed with it: a rotation. It works in batches of short transactions and
// is idempotent: a second run finds nothing to do, and runs in several
// processes at once each reseal a row at most once, the others skipping it
// (each update is conditional on the value it read). st must be a store of
// OpenWith with Options.Secrets.
func Reseal(ctx context.Context, st beckon.Store, o ResealOptions) ([]ResealCount, error) {
	s, ok := st.(*sqlStore)
	if !ok || s.keys == nil {
		return nil, errors.New("store: reseal: the store was opened without secret keys")
	}
	return s.reseal(ctx, o)
}

func (q *queries) reseal(ctx context.Context, o ResealOptions) ([]ResealCount, error) {
	batch := cmp.Or(o.Batch, 500)
	var out []ResealCount
	for _, c := range secretColumns {
		n, err := q.resealColumn(ctx, c, o.All, batch)
		if err != nil {
			return out, err
		}
		out = append(out, ResealCount{Table: c.table, Column: c.column, Resealed: n})
	}
	return out, nil
}

// resealColumn walks the column's rows in primary key order, a batch at a
// time, and reseals those that need it.
func (q *queries) resealColumn(ctx context.Context, c secretColumn, all bool, batch int) (int, error) {
	keys := strings.Join(c.key, ", ")
	op := "secrets.reseal " + c.table + "." + c.column
	total := 0
	var after []any // the last primary key seen
	for {
		var w where
		w.add(c.column + " <> ''")
		w.add(c.column+" NOT LIKE ?", sealed.Prefix+q.keys.CurrentID()+":%")
		if !all {
			w.add(c.column+" NOT LIKE ?", sealed.Prefix+"%")
		}
		if after != nil {
			w.add("("+keys+") > ("+strings.Repeat("?, ", len(after)-1)+"?)", after...)
		}
		rows, err := list(ctx, q, op, func(r scanner) ([]string, error) {
			vals := make([]string, len(c.key)+1)
			ptrs := make([]any, len(vals))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			return vals, r.Scan(ptrs...)
		}, `SELECT `+keys+`, `+c.column+` FROM `+c.table+w.String()+` ORDER BY `+keys+limitClause(batch), w.args...)
		if err != nil {
			return total, err
		}
		if len(rows) == 0 {
			return total, nil
		}
		err = q.atomic(ctx, func(q *queries) error {
			for _, r := range rows {
				key, stored := r[:len(c.key)], r[len(c.key)]
				plain := stored
				if err := q.open(c, &plain, key...); err != nil {
					return err
				}
				var u where
				for i, k := range c.key {
					u.add(k+" = ?", key[i])
				}
				u.add(c.column+" = ?", stored)
				n, err := q.exec(ctx, op, `UPDATE `+c.table+` SET `+c.column+` = `+u.arg(q.seal(c, plain, key...))+u.String(), u.args...)
				if err != nil {
					return err
				}
				total += int(n)
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		last := rows[len(rows)-1][:len(c.key)]
		after = make([]any, len(last))
		for i, k := range last {
			after[i] = k
		}
	}
}

// checkSecretKeys fails when a stored secret is sealed with a key the store
// does not hold: a wrong or missing BECKON_SECRET_KEY is said at start, not
// found later on a send.
func (q *queries) checkSecretKeys(ctx context.Context) error {
	ids := q.keys.IDs()
	for _, c := range secretColumns {
		var w where
		w.add(c.column+" LIKE ?", sealed.Prefix+"%")
		for _, id := range ids {
			w.add(c.column+" NOT LIKE ?", sealed.Prefix+id+":%")
		}
		var v string
		err := q.db.QueryRowContext(ctx, `SELECT `+c.column+` FROM `+c.table+w.String()+` LIMIT 1`, w.args...).Scan(&v)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return translate("secrets.check", err)
		}
		id, _, _ := sealed.Parse(v)
		return fmt.Errorf("store: %s.%s holds secrets sealed with key %s, which this process does not have (its keys: %s): "+
			"set BECKON_SECRET_KEY to the key the database was sealed with, or add that key to BECKON_SECRET_KEYS_OLD: %w",
			c.table, c.column, id, strings.Join(ids, ", "), sealed.ErrUnknownKey)
	}
	return nil
}
