package worker

import (
	"context"
	"time"

	"github.com/beckonhealth/beckon"
)

// DeliveryStore is the part of the store a Deliverer uses: claims and their
// renewal, the records of a provider call (before and after it), what a
// send re-checks just before the call (appointment, patient, campaign,
// clinic, the send itself, undeliverable addresses), and one transaction
// for a provider's refusal. beckon.Store implements it.
type DeliveryStore interface {
	beckon.DispatchQuerier
	SendClaim(ctx context.Context, p beckon.SendClaimParams) (beckon.Send, bool, error)
	SendFinish(ctx context.Context, p beckon.SendFinishParams) error
	SendRelease(ctx context.Context, p beckon.SendReleaseParams) error
	SendCallStartMany(ctx context.Context, calls []beckon.SendCall, now time.Time) (lost []string, err error)
	SendCallGet(ctx context.Context, clinicID, sendID string) (beckon.SendCall, error)
	SendCallTakeOver(ctx context.Context, clinicID, sendID, oldToken, newToken string) (c beckon.SendCall, found bool, err error)
	SendClaimRenew(ctx context.Context, claims []beckon.ClaimRef, now time.Time) error
	SendSightingGet(ctx context.Context, clinicID, sendID string) (beckon.SendSighting, error)

	AppointmentGet(ctx context.Context, clinicID, id string) (beckon.Appointment, error)
	AppointmentGetMany(ctx context.Context, clinicID string, ids []string) (map[string]beckon.Appointment, error)
	PatientGet(ctx context.Context, clinicID, id string) (beckon.Patient, error)
	PatientGetMany(ctx context.Context, clinicID string, ids []string) (map[string]beckon.Patient, error)
	CampaignGet(ctx context.Context, clinicID, id string) (beckon.Campaign, error)
	ClinicGet(ctx context.Context, id string) (beckon.Clinic, error)
	AddressUndeliverableGet(ctx context.Context, clinicID string, channel beckon.Channel, address string) (beckon.UndeliverableAddress, error)
	// A message send's content, and the patients who share its number.
	SendMessageGet(ctx context.Context, clinicID, sendID string) (beckon.MessageSendParams, error)
	PatientListByPhone(ctx context.Context, clinicID, phone string, limit int) ([]string, error)

	// InTx records a refusal (the send, the message, the opt-out) at once.
	InTx(ctx context.Context, fn func(q beckon.Querier) error) error
}
