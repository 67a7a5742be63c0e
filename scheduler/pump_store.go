package scheduler

import (
	"context"
	"time"

	"github.com/beckonhealth/beckon"
)

// PumpStore is the part of the store the pump uses: due and stale sends to
// hand to asynq, the held sends and provider calls of the orphan pass, the
// status inbox, inbound messages not yet interpreted, and pending write-backs. beckon.Store implements it.
type PumpStore interface {
	beckon.StatusInboxQuerier
	SendListDue(ctx context.Context, p beckon.SendListDueParams) ([]beckon.Send, error)
	SendListStaleClaims(ctx context.Context, claimedBefore time.Time, limit int) ([]beckon.Send, error)
	SendMarkEnqueued(ctx context.Context, ids []string, at time.Time) error
	SendListHeldBefore(ctx context.Context, ids []string, before time.Time) ([]beckon.Send, error)
	SendCallPrune(ctx context.Context, settledBefore, expireBefore time.Time, limit int) (int, error)
	InboundSMSListPending(ctx context.Context, queuedBefore time.Time, limit int) ([]beckon.InboundSMS, error)
	InboundSMSMarkQueued(ctx context.Context, ids []string, at time.Time) error
	WritebackListPending(ctx context.Context, updatedBefore time.Time, limit int) ([]beckon.Writeback, error)
}
