package beckon

import (
	"context"
	"time"
)

// LinkUse is the record that a patient's email link (confirm, cancel,
// unsubscribe) was used: written in the same transaction as its effect, so
// a link is used at most once.
type LinkUse struct {
	ID       string // the link's id (links.Link.ID)
	ClinicID string
	Action   string // "confirm", "cancel" or "unsubscribe"
	UsedAt   time.Time
}

// LinkStore keeps what email links need: the installation's secrets and the
// links already used.
type LinkStore interface {
	// InstallationSecret returns the secret stored under name, storing fresh
	// first when there is none, so that every process of an installation
	// reads the same secret (the first writer's).
	InstallationSecret(ctx context.Context, name string, fresh []byte) ([]byte, error)
	// LinkUseRecord records a link's use; first is false (and nothing is
	// written) when the link was used already.
	LinkUseRecord(ctx context.Context, u LinkUse) (first bool, err error)
	// LinkUsed reports whether the clinic's link id was used.
	LinkUsed(ctx context.Context, clinicID, id string) (bool, error)
}
