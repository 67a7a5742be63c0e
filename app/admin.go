package app

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"strings"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/api"
)

// ClinicArgs are what `beckon clinic create` is given.
type ClinicArgs struct {
	Name     string // required
	TimeZone string // an IANA zone
	Phone    string // E.164, shown in messages
}

// KeyArgs are what `beckon key create` is given.
type KeyArgs struct {
	Clinic string      // required
	Role   beckon.Role // beckon.RoleAdmin or beckon.RoleEHR
	Name   string      // a label
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
	if args.Role != beckon.RoleAdmin && args.Role != beckon.RoleEHR {
		return fmt.Errorf("key create: -role must be admin or ehr")
	}
	if _, err := a.store.ClinicGet(ctx, args.Clinic); err != nil {
		return fmt.Errorf("key create: clinic %s: %w", args.Clinic, err)
	}
	secret, err := a.NewKey(ctx, args.Clinic, args.Role, args.Name)
	if err != nil {
		return err
	}
	fmt.Fprintln(a.Stdout, secret)
	return nil
}

// NewKey creates an API key and returns its secret; only the hash is stored.
func (a *App) NewKey(ctx context.Context, clinicID string, role beckon.Role, name string) (string, error) {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	secret := "bk_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
	err := a.store.APIKeyCreate(ctx, beckon.APIKey{
		ID:        beckon.NewID("key_"),
		ClinicID:  clinicID,
		Name:      name,
		Role:      role,
		Hash:      api.HashKey(secret),
		CreatedAt: a.Clock.Now(),
	})
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
