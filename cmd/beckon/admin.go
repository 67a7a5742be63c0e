package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/beckonhealth/beckon/store"
)

// adminArgs are the flags of the admin commands.
type adminArgs struct {
	name     string
	timeZone string
	phone    string
	clinic   string
	keyRole  string
}

func (a *adminArgs) bindFlags(fs *flag.FlagSet, role string) {
	switch role {
	case "admin-clinic":
		fs.StringVar(&a.name, "name", "", "clinic name (required)")
		fs.StringVar(&a.timeZone, "time-zone", "America/New_York", "clinic IANA time zone")
		fs.StringVar(&a.phone, "phone", "", "clinic phone in E.164, shown in messages")
	case "admin-key":
		fs.StringVar(&a.clinic, "clinic", "", "clinic id (required)")
		fs.StringVar(&a.keyRole, "role", store.RoleAdmin, "admin or ehr")
		fs.StringVar(&a.name, "name", "", "a label for the key")
	}
}

func (m *Main) createClinic(ctx context.Context) error {
	if m.admin.name == "" {
		return fmt.Errorf("clinic create: -name is required")
	}
	if _, err := time.LoadLocation(m.admin.timeZone); err != nil || m.admin.timeZone == "Local" {
		return fmt.Errorf("clinic create: -time-zone %q is not an IANA zone", m.admin.timeZone)
	}
	now := m.Clock.Now()
	c := store.Clinic{
		ID:         store.NewID("cln_"),
		Name:       m.admin.name,
		TimeZone:   m.admin.timeZone,
		Phone:      m.admin.phone,
		QuietHours: store.DefaultQuietHours,
		CreatedAt:  now,
		UpdatedAt:  now,
	}
	if err := m.store.ClinicCreate(ctx, c); err != nil {
		return err
	}
	fmt.Fprintln(m.Stdout, c.ID)
	return nil
}

func (m *Main) createKey(ctx context.Context) error {
	if m.admin.clinic == "" {
		return fmt.Errorf("key create: -clinic is required")
	}
	if m.admin.keyRole != store.RoleAdmin && m.admin.keyRole != store.RoleEHR {
		return fmt.Errorf("key create: -role must be admin or ehr")
	}
	if _, err := m.store.ClinicGet(ctx, m.admin.clinic); err != nil {
		return fmt.Errorf("key create: clinic %s: %w", m.admin.clinic, err)
	}
	secret, err := m.newKey(ctx, m.admin.clinic, m.admin.keyRole, m.admin.name)
	if err != nil {
		return err
	}
	fmt.Fprintln(m.Stdout, secret)
	return nil
}
