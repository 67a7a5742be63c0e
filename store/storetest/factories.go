package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
)

// ClinicOpts sets what a test cares about; zero fields get defaults.
type ClinicOpts struct {
	ID         string // default: a new id
	Name       string // default: "Test Clinic"
	TimeZone   string // default: America/New_York
	Phone      string
	QuietHours *beckon.QuietHours // default: beckon.DefaultQuietHours
}

// Clinic creates a clinic and returns it as stored.
func Clinic(t testing.TB, q beckon.Querier, o ClinicOpts) beckon.Clinic {
	t.Helper()
	c := beckon.Clinic{
		ID:         or(o.ID, beckon.NewID("cln_")),
		Name:       or(o.Name, "Test Clinic"),
		TimeZone:   or(o.TimeZone, "America/New_York"),
		Phone:      o.Phone,
		QuietHours: beckon.DefaultQuietHours,
		CreatedAt:  now(),
	}
	c.UpdatedAt = c.CreatedAt
	if o.QuietHours != nil {
		c.QuietHours = *o.QuietHours
	}
	if err := q.ClinicCreate(context.Background(), c); err != nil {
		t.Fatalf("storetest: create clinic: %v", err)
	}
	stored, err := q.ClinicGet(context.Background(), c.ID)
	if err != nil {
		t.Fatalf("storetest: get clinic: %v", err)
	}
	return stored
}

// PatientOpts sets what a test cares about; zero fields get defaults.
type PatientOpts struct {
	ID               string // default: a new id
	FirstName        string // default: "Pat"
	LastName         string // default: "Test"
	Phone            string // default: +15555550100
	Email            string // default: pat@example.com
	Language         string // default: en
	TimeZone         string // default: empty (the clinic's)
	PreferredChannel beckon.Channel
	SMSConsent       string // default: beckon.ConsentUnknown
	EmailConsent     string // default: beckon.ConsentUnknown
}

// Patient creates (upserts) a patient of the clinic.
func Patient(t testing.TB, q beckon.Querier, clinicID string, o PatientOpts) beckon.Patient {
	t.Helper()
	p := beckon.Patient{
		ClinicID:         clinicID,
		ID:               or(o.ID, beckon.NewID("pat_")),
		FirstName:        or(o.FirstName, "Pat"),
		LastName:         or(o.LastName, "Test"),
		Phone:            or(o.Phone, "+15555550100"),
		Email:            or(o.Email, "pat@example.com"),
		Language:         or(o.Language, "en"),
		TimeZone:         o.TimeZone,
		PreferredChannel: o.PreferredChannel,
		SMSConsent:       or(o.SMSConsent, beckon.ConsentUnknown),
		EmailConsent:     or(o.EmailConsent, beckon.ConsentUnknown),
		CreatedAt:        now(),
	}
	p.UpdatedAt = p.CreatedAt
	if err := q.PatientUpsert(context.Background(), p); err != nil {
		t.Fatalf("storetest: upsert patient: %v", err)
	}
	return p
}

// AppointmentOpts sets what a test cares about; zero fields get defaults.
type AppointmentOpts struct {
	ID           string        // default: a new id
	PatientID    string        // default: a new patient
	Start        time.Time     // default: two days from now
	Duration     time.Duration // default: 30 minutes
	Type         string        // default: "checkup"
	Provider     string
	ProviderName string
	Location     string
	LocationName string
	Notes        string
	Status       beckon.AppointmentStatus // default: beckon.StatusBooked
	Confirmation string                   // default: beckon.Unconfirmed
	Version      int64                    // default: 1
}

// Appointment creates an appointment of the clinic (and its patient if
// PatientID is empty).
func Appointment(t testing.TB, q beckon.Querier, clinicID string, o AppointmentOpts) beckon.Appointment {
	t.Helper()
	if o.PatientID == "" {
		o.PatientID = Patient(t, q, clinicID, PatientOpts{}).ID
	}
	a := beckon.Appointment{
		ClinicID:     clinicID,
		ID:           or(o.ID, beckon.NewID("apt_")),
		PatientID:    o.PatientID,
		Start:        orTime(o.Start, now().Add(48*time.Hour)),
		Duration:     orDuration(o.Duration, 30*time.Minute),
		Type:         or(o.Type, "checkup"),
		Provider:     o.Provider,
		ProviderName: o.ProviderName,
		Location:     o.Location,
		LocationName: o.LocationName,
		Notes:        o.Notes,
		Status:       or(o.Status, beckon.StatusBooked),
		Confirmation: or(o.Confirmation, beckon.Unconfirmed),
		Version:      o.Version,
		CreatedAt:    now(),
	}
	if a.Version == 0 {
		a.Version = 1
	}
	a.UpdatedAt = a.CreatedAt
	if err := q.AppointmentPut(context.Background(), a, 0); err != nil {
		t.Fatalf("storetest: put appointment: %v", err)
	}
	return a
}

// CampaignOpts sets what a test cares about; zero fields get defaults.
type CampaignOpts struct {
	ID       string // default: a new id
	Name     string // default: "Reminders"
	Inactive bool
	Match    beckon.Match
	Steps    []beckon.Step // default: one SMS reminder 24 hours before
	Revision int64         // default: 1
}

// Campaign creates a campaign of the clinic.
func Campaign(t testing.TB, q beckon.Querier, clinicID string, o CampaignOpts) beckon.Campaign {
	t.Helper()
	c := beckon.Campaign{
		ClinicID:  clinicID,
		ID:        or(o.ID, beckon.NewID("cmp_")),
		Name:      or(o.Name, "Reminders"),
		Active:    !o.Inactive,
		Match:     o.Match,
		Steps:     o.Steps,
		Revision:  o.Revision,
		CreatedAt: now(),
	}
	if c.Steps == nil {
		c.Steps = []beckon.Step{{
			ID:       "remind-24h",
			Timing:   beckon.Timing{Kind: beckon.TimingOffset, Offset: -24 * time.Hour},
			Channel:  beckon.ChannelSMS,
			Template: "reminder",
		}}
	}
	if c.Revision == 0 {
		c.Revision = 1
	}
	c.UpdatedAt = c.CreatedAt
	if err := q.CampaignPut(context.Background(), c, 0); err != nil {
		t.Fatalf("storetest: put campaign: %v", err)
	}
	return c
}

// SendOpts sets what a test cares about; zero fields get defaults.
type SendOpts struct {
	ID                 string         // default: a new id
	AppointmentID      string         // default: "apt_test"
	AppointmentVersion int64          // default: 1
	PatientID          string         // default: "pat_test"
	CampaignID         string         // default: "cmp_test"
	CampaignRevision   int64          // default: 1
	StepID             string         // default: "remind-24h"
	Channel            beckon.Channel // default: beckon.ChannelSMS
	Template           string
	DueAt              time.Time // default: one hour from now
	BeforeStart        bool
	OnlyIfUnconfirmed  bool
	Status             beckon.SendStatus // default: beckon.SendPlanned
	Reason             string
	Attempts           int
	ClaimToken         string
	ClaimedAt          time.Time
	EnqueuedAt         time.Time
}

// Send inserts a send of the clinic and returns it as stored. The appointment,
// patient and campaign it names need not exist.
func Send(t testing.TB, q beckon.Querier, clinicID string, o SendOpts) beckon.Send {
	t.Helper()
	s := beckon.Send{
		ID:                 or(o.ID, beckon.NewID("snd_")),
		ClinicID:           clinicID,
		AppointmentID:      or(o.AppointmentID, "apt_test"),
		AppointmentVersion: o.AppointmentVersion,
		PatientID:          or(o.PatientID, "pat_test"),
		CampaignID:         or(o.CampaignID, "cmp_test"),
		CampaignRevision:   o.CampaignRevision,
		StepID:             or(o.StepID, "remind-24h"),
		Channel:            or(o.Channel, beckon.ChannelSMS),
		Template:           o.Template,
		DueAt:              orTime(o.DueAt, now().Add(time.Hour)),
		BeforeStart:        o.BeforeStart,
		OnlyIfUnconfirmed:  o.OnlyIfUnconfirmed,
		Status:             or(o.Status, beckon.SendPlanned),
		Reason:             o.Reason,
		Attempts:           o.Attempts,
		ClaimToken:         o.ClaimToken,
		ClaimedAt:          o.ClaimedAt,
		EnqueuedAt:         o.EnqueuedAt,
		CreatedAt:          now(),
	}
	if s.AppointmentVersion == 0 {
		s.AppointmentVersion = 1
	}
	if s.CampaignRevision == 0 {
		s.CampaignRevision = 1
	}
	s.UpdatedAt = s.CreatedAt
	ctx := context.Background()
	if err := q.SendInsert(ctx, []beckon.Send{s}); err != nil {
		t.Fatalf("storetest: insert send: %v", err)
	}
	got, err := q.SendGet(ctx, s.ClinicID, s.ID)
	if err != nil {
		t.Fatalf("storetest: get send: %v", err)
	}
	return got
}

// now is the current time as the store keeps it: UTC, whole milliseconds.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

func or[T ~string](s, def T) T {
	if s == "" {
		return def
	}
	return s
}

func orTime(t, def time.Time) time.Time {
	if t.IsZero() {
		return def
	}
	return t
}

func orDuration(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}
