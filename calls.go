package beckon

import (
	"context"
	"time"
)

// CallQuerier records provider calls as they start and what providers say
// of them, so that a crash leaves no send in doubt that need not be: a claim
// without a call was never handed to the provider and is simply sent; only a
// claim whose call started is ambiguous, and it is settled by a sighting (a
// status or event naming the send), by asking the provider, or by the
// clinic's choice.
type CallQuerier interface {
	// SendCallStartMany records that each call starts now, for the calls
	// whose send is still claimed with the call's token, renewing those
	// claims, in one transaction. It returns the ids of the sends whose claim
	// was lost: no call is recorded for them and they must not be sent.
	SendCallStartMany(ctx context.Context, calls []SendCall, now time.Time) (lost []string, err error)
	// SendCallGet returns the latest call of the clinic's send.
	SendCallGet(ctx context.Context, clinicID, sendID string) (SendCall, error)
	// SendCallTakeOver hands the call started under oldToken to newToken,
	// the claim that took over the abandoned one, and returns it (a call
	// SendClaim already handed to newToken counts); found is false when no
	// call was started under oldToken (the claim never reached the
	// provider).
	SendCallTakeOver(ctx context.Context, clinicID, sendID, oldToken, newToken string) (c SendCall, found bool, err error)
	// SendClaimRenew sets ClaimedAt = now on those of the sends still
	// claimed with the given tokens: a live worker keeps its claims fresh, so
	// a claim that goes stale is a dead worker's.
	SendClaimRenew(ctx context.Context, claims []ClaimRef, now time.Time) error
	// SendSightingRecord keeps a provider's word that it has the send's
	// message; the first word of a send is kept. A claim left waiting for
	// that word (its ClaimedAt ahead of the sighting's At) is made stale, so
	// that the next stale-claim pass settles the send from it.
	SendSightingRecord(ctx context.Context, s SendSighting) error
	// SendSightingGet returns what a provider said of the clinic's send.
	SendSightingGet(ctx context.Context, clinicID, sendID string) (SendSighting, error)
	// SendReopen hands the clinic's send ended unknown back to be settled:
	// it is claimed again, under a token derived from its last one (its call
	// follows), with a ClaimedAt so old that the next stale-claim pass hands
	// it to a worker. It reports false when the send is not unknown.
	SendReopen(ctx context.Context, clinicID, sendID string, now time.Time) (bool, error)
	// SendCallPrune deletes up to limit calls and sightings: those started
	// before settledBefore whose send is settled (neither claimed nor
	// unknown), and all started before expireBefore.
	SendCallPrune(ctx context.Context, settledBefore, expireBefore time.Time, limit int) (int, error)
}

// SendCall is what a delivery handed to a provider, under which claim, and
// when the call started.
type SendCall struct {
	SendID     string
	ClinicID   string
	ClaimToken string
	Channel    Channel
	To         string
	Subject    string
	Body       string
	HTML       string
	StartedAt  time.Time
}

// SendSighting is a provider's word that it has a send's message: a status
// callback or event naming the send, with the provider's message id.
type SendSighting struct {
	SendID     string
	ClinicID   string
	Provider   string
	ProviderID string
	Status     string // the message status the word implies
	At         time.Time
}

// ClaimRef names a claim: a send and the token it is claimed with.
type ClaimRef struct {
	ID    string
	Token string
}
