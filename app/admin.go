package app

import (
	"cmp"
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/apikeys"
)

// ClinicArgs are what `beckon clinic create` is given.
type ClinicArgs struct {
	Name     string // required
	TimeZone string // an IANA zone
	Phone    string // E.164, shown in messages
}

// KeyArgs are what the `beckon key` commands are given.
type KeyArgs struct {
	Clinic string      // required
	Role   beckon.Role // create: beckon.RoleAdmin or beckon.RoleEHR
	Name   string      // create: a label
	ID     string      // revoke, rotate: the key (key_…)
	// Expires (create, rotate): when the key stops working, an RFC 3339
	// time or a duration from now ("720h", "90d"); empty: never (rotate:
	// the old key's expiry).
	Expires string
}

// CreateClinic creates a clinic and prints its id.
func (a *App) CreateClinic(ctx context.Context, args ClinicArgs) error {
	if args.Name == "" {
		return fmt.Errorf("clinic create: -name is required")
	}
	if _, err := time.LoadLocation(args.TimeZone); err != nil || args.TimeZone == "Local" {
		return fmt.Errorf("clinic create: -time-zone %q is not an IANA zone", args.TimeZone)
	}
	c, err := a.createClinic(ctx, args)
	if err != nil {
		return err
	}
	fmt.Fprintln(a.Stdout, c.ID)
	return nil
}

func (a *App) createClinic(ctx context.Context, args ClinicArgs) (beckon.Clinic, error) {
	now := a.Clock.Now()
	c := beckon.Clinic{
		ID:         beckon.NewID("cln_"),
		Name:       args.Name,
		TimeZone:   args.TimeZone,
		Phone:      args.Phone,
		QuietHours: beckon.DefaultQuietHours,
		CreatedAt:  now,
		UpdatedAt:  now,
	}
	return c, a.store.ClinicCreate(ctx, c)
}

// CreateKey creates an API key for a clinic and prints its secret.
func (a *App) CreateKey(ctx context.Context, args KeyArgs) error {
	if args.Clinic == "" {
		return fmt.Errorf("key create: -clinic is required")
	}
	now := a.Clock.Now()
	expires, err := parseExpiry(args.Expires, now)
	if err != nil {
		return fmt.Errorf("key create: %w", err)
	}
	p := apikeys.Params{ClinicID: args.Clinic, Role: args.Role, Name: args.Name, ExpiresAt: expires}
	if err := p.Check(now); err != nil {
		return fmt.Errorf("key create: -%s", strings.ReplaceAll(err.Error(), "expires_at", "expires"))
	}
	_, secret, err := apikeys.Create(ctx, a.store, p, now)
	if err != nil {
		return fmt.Errorf("key create: clinic %s: %w", args.Clinic, err)
	}
	fmt.Fprintln(a.Stdout, secret)
	return nil
}

// ListKeys prints the clinic's keys, one a line: id, prefix, role, created,
// expires, last used, revoked (times in UTC, "-" when not set), name.
func (a *App) ListKeys(ctx context.Context, args KeyArgs) error {
	if args.Clinic == "" {
		return fmt.Errorf("key list: -clinic is required")
	}
	if _, err := a.store.ClinicGet(ctx, args.Clinic); err != nil {
		return fmt.Errorf("key list: clinic %s: %w", args.Clinic, err)
	}
	ks, err := a.store.APIKeyList(ctx, args.Clinic)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(a.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPREFIX\tROLE\tCREATED\tEXPIRES\tLAST USED\tREVOKED\tNAME")
	for _, k := range ks {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, cmp.Or(k.Prefix, "-"), k.Role,
			cliTime(k.CreatedAt), cliTime(k.ExpiresAt), cliTime(k.LastUsedAt), cliTime(k.RevokedAt), cmp.Or(k.Name, "-"))
	}
	return tw.Flush()
}

// RevokeKey revokes a clinic's key.
func (a *App) RevokeKey(ctx context.Context, args KeyArgs) error {
	if args.Clinic == "" || args.ID == "" {
		return fmt.Errorf("key revoke: -clinic and -id are required")
	}
	k, err := apikeys.Revoke(ctx, a.store, args.Clinic, args.ID, "cli", a.Clock.Now())
	if err != nil {
		return fmt.Errorf("key revoke: %s: %w", args.ID, err)
	}
	fmt.Fprintf(a.Stdout, "revoked %s at %s\n", k.ID, cliTime(k.RevokedAt))
	return nil
}

// RotateKey replaces a clinic's key by a new one, revoking it, and prints
// the new secret.
func (a *App) RotateKey(ctx context.Context, args KeyArgs) error {
	if args.Clinic == "" || args.ID == "" {
		return fmt.Errorf("key rotate: -clinic and -id are required")
	}
	now := a.Clock.Now()
	expires, err := parseExpiry(args.Expires, now)
	if err != nil {
		return fmt.Errorf("key rotate: %w", err)
	}
	_, secret, _, err := apikeys.Rotate(ctx, a.store, args.Clinic, args.ID, "cli", expires, now)
	if err != nil {
		return fmt.Errorf("key rotate: %s: %w", args.ID, err)
	}
	fmt.Fprintln(a.Stdout, secret)
	return nil
}

// parseExpiry reads -expires: empty (zero), an RFC 3339 time, or a
// duration from now (Go's, or whole days as "90d").
func parseExpiry(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n > 0 {
			return now.AddDate(0, 0, n), nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return time.Time{}, fmt.Errorf("-expires %q: give an RFC 3339 time or a duration such as 720h or 90d", s)
	}
	return now.Add(d), nil
}

// cliTime is t in RFC 3339 UTC, "-" for the zero time.
func cliTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// NewKey creates an API key and returns its secret; only its hash and
// prefix are stored.
func (a *App) NewKey(ctx context.Context, clinicID string, role beckon.Role, name string) (string, error) {
	_, secret, err := apikeys.Create(ctx, a.store, apikeys.Params{ClinicID: clinicID, Role: role, Name: name, Actor: "system"}, a.Clock.Now())
	return secret, err
}

// bootstrapDemo creates a demo clinic and an admin key on an empty database.
func (a *App) bootstrapDemo(ctx context.Context) error {
	cs, err := a.store.ClinicList(ctx)
	if err != nil {
		return err
	}
	if len(cs) > 0 {
		if a.Role == RoleServe {
			fmt.Fprintf(a.Stdout, "Using the existing database (%d clinic(s)); create a key with: beckon key create -clinic %s\n", len(cs), cs[0].ID)
		}
		return nil
	}
	c, err := a.createClinic(ctx, ClinicArgs{Name: "Demo Clinic", TimeZone: a.Config.DemoTimeZone})
	if err != nil {
		return err
	}
	key, err := a.NewKey(ctx, c.ID, beckon.RoleAdmin, "demo admin")
	if err != nil {
		return err
	}
	a.DemoKey, a.DemoClinicID = key, c.ID
	fmt.Fprintf(a.Stdout, "Created the demo clinic %s (%s).\nAdmin API key (shown once, keep it): %s\n", c.ID, c.TimeZone, key)
	return nil
}
